import { bindHost } from '../host.ts';
import { structuredClone } from '../structured-clone.ts';

(globalThis as any).__faas_define((host: any, shared: any) => (bindHost(host, shared), { structuredClone }));
