import { atob, btoa } from '../base64.ts';
import { bindHost } from '../host.ts';

(globalThis as any).__faas_define((host: any, shared: any) => (bindHost(host, shared), { atob, btoa }));
