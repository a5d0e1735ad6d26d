import { inspect, placeholder } from '../inspect.ts';

(globalThis as any).__faas_define(() => ({ inspect, placeholder }));
