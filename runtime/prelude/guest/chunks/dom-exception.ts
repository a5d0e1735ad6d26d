import { DOMException } from '../dom-exception.ts';

(globalThis as any).__faas_define(() => ({ DOMException }));
