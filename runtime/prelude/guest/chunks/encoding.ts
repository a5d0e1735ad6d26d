import { TextDecoder, TextEncoder } from '../encoding.ts';
import { bindHost, type Internals } from '../host.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { TextEncoder, TextDecoder });
