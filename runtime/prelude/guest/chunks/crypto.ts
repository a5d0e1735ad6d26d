import { Crypto, SubtleCrypto, crypto } from '../crypto.ts';
import { bindHost, type Internals } from '../host.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { crypto, Crypto, SubtleCrypto });
