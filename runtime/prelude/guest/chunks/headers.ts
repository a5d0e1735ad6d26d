import { Headers, fromList, sortedListOf } from '../headers-class.ts';

(globalThis as any).__faas_define(() => ({ Headers, fromList, sortedListOf }));
