import { inspect, placeholder } from '../inspect.ts';

export default () => ({ inspect, placeholder });
