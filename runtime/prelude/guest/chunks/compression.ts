import { CompressionStream, DecompressionStream } from '../compression.ts';
import { bindHost, type Internals } from '../host.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { CompressionStream, DecompressionStream });
