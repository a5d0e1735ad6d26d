import { TextDecoder, TextEncoder } from '../encoding.ts';
import { bindHost } from '../host.ts';

(globalThis as any).__faas_define((host: any, shared: any) => (bindHost(host, shared), { TextEncoder, TextDecoder }));
