import { bindHost } from '../host.ts';
import { ReadableStream, bodyStream } from '../stream.ts';

(globalThis as any).__faas_define((host: any, shared: any) => (bindHost(host, shared), { ReadableStream, bodyStream }));
