import { call, internals } from './host.ts';
import { exactBuffer, named, viewBytes } from './util.ts';

/**
 * Web Crypto, host-backed: random bytes, digests and HMAC are computed by node:crypto; the guest
 * does the WebCrypto argument rules (algorithm names, usages, error types).
 */

const HASHES = ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'];
/** HMAC's default key length is the hash's block size. */
const BLOCK_BITS: Record<string, number> = { 'SHA-1': 512, 'SHA-256': 512, 'SHA-384': 1024, 'SHA-512': 1024 };
const INTEGER_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array];
const ILLEGAL = {};

const domError = (message: string, name: string) => new internals.DOMException(message, name);

function algorithmName(alg: unknown): string {
  const name = typeof alg === 'string' ? alg : (alg as any)?.name;
  if (typeof name !== 'string') throw new TypeError('Algorithm: name is required');
  return name.toUpperCase();
}

function hashName(alg: unknown): string {
  const name = algorithmName(alg);
  if (!HASHES.includes(name)) throw domError(`Unrecognized hash algorithm: ${name}`, 'NotSupportedError');
  return name;
}

let keyBytes: (key: CryptoKey) => Uint8Array;

export class CryptoKey {
  #bytes: Uint8Array;
  #extractable: boolean;
  #algorithm: { name: string; hash: { name: string }; length: number };
  #usages: string[];

  constructor(key: unknown, bytes: Uint8Array, hash: string, extractable: boolean, usages: string[]) {
    if (key !== ILLEGAL) throw new TypeError('Illegal constructor');
    this.#bytes = bytes;
    this.#extractable = extractable;
    this.#algorithm = { name: 'HMAC', hash: { name: hash }, length: bytes.length * 8 };
    this.#usages = usages;
  }

  get type(): string {
    return 'secret';
  }
  get extractable(): boolean {
    return this.#extractable;
  }
  get algorithm(): object {
    return { ...this.#algorithm, hash: { ...this.#algorithm.hash } };
  }
  get usages(): string[] {
    return [...this.#usages];
  }

  static {
    keyBytes = (k) => k.#bytes;
  }
}

function hmacKey(alg: any, bytes: Uint8Array, extractable: unknown, usages: unknown): CryptoKey {
  if (algorithmName(alg) !== 'HMAC') throw domError(`Unsupported algorithm: ${algorithmName(alg)}`, 'NotSupportedError');
  const hash = hashName(alg.hash);
  const list = Array.from(usages as Iterable<unknown>, String);
  const bad = list.find((u) => u !== 'sign' && u !== 'verify');
  if (bad) throw domError(`Unsupported key usage for an HMAC key: ${bad}`, 'SyntaxError');
  if (!list.length) throw domError('Usages cannot be empty when creating a key.', 'SyntaxError');
  if (!bytes.length) throw domError('HMAC key data must not be empty', 'DataError');
  return new CryptoKey(ILLEGAL, bytes, hash, !!extractable, [...new Set(list)]);
}

function usableKey(key: unknown, alg: unknown, usage: string): Uint8Array {
  if (!(key instanceof CryptoKey)) throw new TypeError('key must be a CryptoKey');
  if (algorithmName(alg) !== 'HMAC') throw domError(`Unsupported algorithm: ${algorithmName(alg)}`, 'NotSupportedError');
  if (!key.usages.includes(usage)) throw domError(`Key usages do not permit this operation (${usage})`, 'InvalidAccessError');
  return keyBytes(key);
}

const base64url = (s: string): string => (globalThis as any).atob(s.replace(/-/g, '+').replace(/_/g, '/'));

export class SubtleCrypto {
  constructor(key?: unknown) {
    if (key !== ILLEGAL) throw new TypeError('Illegal constructor');
  }

  async digest(alg: unknown, data: unknown): Promise<ArrayBuffer> {
    return call('digest', hashName(alg), viewBytes(data, 'data'));
  }

  async importKey(format: string, keyData: unknown, alg: any, extractable: boolean, usages: string[]): Promise<CryptoKey> {
    let bytes: Uint8Array;
    if (format === 'raw') bytes = viewBytes(keyData, 'keyData').slice();
    else if (format === 'jwk' && (keyData as any)?.kty === 'oct') bytes = Uint8Array.from(base64url(String((keyData as any).k)), (c: string) => c.charCodeAt(0));
    else throw domError(`Unsupported key format: ${format}`, 'NotSupportedError');
    return hmacKey(alg, bytes, extractable, usages);
  }

  async exportKey(format: string, key: CryptoKey): Promise<ArrayBuffer> {
    if (!(key instanceof CryptoKey)) throw new TypeError('key must be a CryptoKey');
    if (!key.extractable) throw domError('key is not extractable', 'InvalidAccessError');
    if (format !== 'raw') throw domError(`Unsupported key format: ${format}`, 'NotSupportedError');
    return exactBuffer(keyBytes(key).slice());
  }

  async generateKey(alg: any, extractable: boolean, usages: string[]): Promise<CryptoKey> {
    const bits = alg?.length ?? BLOCK_BITS[hashName(alg?.hash)];
    return hmacKey(alg, new Uint8Array(call('randomFill', Math.ceil(bits / 8))), extractable, usages);
  }

  async sign(alg: unknown, key: CryptoKey, data: unknown): Promise<ArrayBuffer> {
    const bytes = usableKey(key, alg, 'sign');
    return call('hmacSign', (key.algorithm as any).hash.name, bytes, viewBytes(data, 'data'));
  }

  async verify(alg: unknown, key: CryptoKey, signature: unknown, data: unknown): Promise<boolean> {
    const bytes = usableKey(key, alg, 'verify');
    return call('hmacVerify', (key.algorithm as any).hash.name, bytes, viewBytes(signature, 'signature'), viewBytes(data, 'data'));
  }

  /** A Workers extension; constant time in the lengths' common prefix. */
  timingSafeEqual(a: unknown, b: unknown): boolean {
    const x = viewBytes(a);
    const y = viewBytes(b);
    if (x.length !== y.length) throw new TypeError('Input buffers must have the same byte length');
    let diff = 0;
    for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
    return diff === 0;
  }
}

for (const op of ['encrypt', 'decrypt', 'deriveBits', 'deriveKey', 'wrapKey', 'unwrapKey']) {
  Object.defineProperty(SubtleCrypto.prototype, op, {
    value: async () => {
      throw domError(`crypto.subtle.${op} is not supported`, 'NotSupportedError');
    },
    writable: true,
    configurable: true,
  });
}

export class Crypto {
  #subtle = new SubtleCrypto(ILLEGAL);

  constructor(key?: unknown) {
    if (key !== ILLEGAL) throw new TypeError('Illegal constructor');
  }

  get subtle(): SubtleCrypto {
    return this.#subtle;
  }

  getRandomValues<T extends ArrayBufferView>(array: T): T {
    if (!INTEGER_ARRAYS.some((C) => array instanceof C)) {
      throw domError("The provided ArrayBufferView is not an integer array type", 'TypeMismatchError');
    }
    if (array.byteLength > 65536) {
      throw domError(`The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy available via this API (65536)`, 'QuotaExceededError');
    }
    if (array.byteLength) viewBytes(array).set(new Uint8Array(call('randomFill', array.byteLength)));
    return array;
  }

  randomUUID(): string {
    return call('randomUUID');
  }
}

export const crypto = new Crypto(ILLEGAL);

named(CryptoKey, 'CryptoKey');
named(SubtleCrypto, 'SubtleCrypto');
named(Crypto, 'Crypto');
