import { bindHost } from '../host.ts';
import { requestParts } from '../request-init.ts';

(globalThis as any).__faas_define((host: any, shared: any) => (bindHost(host, shared), { requestParts }));
