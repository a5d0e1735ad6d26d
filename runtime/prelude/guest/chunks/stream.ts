import { bindHost, type Internals } from '../host.ts';
import { ReadableStream, bodyStream, isLocked, takeStream } from '../stream.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { ReadableStream, bodyStream, isLocked, takeStream });
