import { Crypto, CryptoKey, SubtleCrypto, crypto } from '../crypto.ts';
import { bindHost } from '../host.ts';

(globalThis as any).__faas_define((host: any, shared: any) => (bindHost(host, shared), { crypto, Crypto, CryptoKey, SubtleCrypto }));
