import { CryptoKey, operations } from '../subtle.ts';
import { bindHost, type Internals } from '../host.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { CryptoKey, operations });
