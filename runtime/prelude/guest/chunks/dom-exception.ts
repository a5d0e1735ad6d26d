import { DOMException } from '../dom-exception.ts';

export default () => ({ DOMException });
