import { bindHost, type Internals } from '../host.ts';
import { ReadableStream, bodyStream } from '../stream.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { ReadableStream, bodyStream });
