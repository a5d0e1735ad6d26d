import { bindHost } from '../host.ts';
import { namespace } from '../kv.ts';

(globalThis as any).__faas_define((host: any, shared: any) => (bindHost(host, shared), { namespace }));
