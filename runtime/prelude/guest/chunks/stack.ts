import { wrap } from '../call-sites.ts';

(globalThis as any).__faas_define(() => ({ wrap }));
