import { Navigator, navigator } from '../navigator.ts';

export default () => ({ Navigator, navigator });
