import { call, internals } from './host.ts';
import { dataDescriptor, hardenRegExp, listFrom, regexReplace, typedArrayKind } from './safe.ts';
import { exactBuffer, named, viewBytes } from './util.ts';

/**
 * Web Crypto, host-backed: random bytes, digests and HMAC are computed by node:crypto; the guest
 * does the WebCrypto argument rules (algorithm names, usages, error types). A key's bytes never
 * meet a getter or method user code could have replaced (a non-extractable key stays unreadable).
 */

const HASHES = ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'];
/** HMAC's default key length is the hash's block size. */
const BLOCK_BITS: Record<string, number> = { __proto__: null, 'SHA-1': 512, 'SHA-256': 512, 'SHA-384': 1024, 'SHA-512': 1024 } as any;
const INTEGER_ARRAYS = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array'];
const ILLEGAL = {};
const DASH = hardenRegExp(/-/g);
const UNDERSCORE = hardenRegExp(/_/g);

const domError = (message: string, name: string) => new internals.DOMException(message, name);
const byteLength = (u8: Uint8Array) => callWith(TypedArrayPrototypeGetLength, u8);

function algorithmName(alg: unknown): string {
  const name = typeof alg === 'string' ? alg : (alg as any)?.name;
  if (typeof name !== 'string') throw new TypeError('Algorithm: name is required');
  return callWith(StringPrototypeToUpperCase, name);
}

function hashName(alg: unknown): string {
  const name = algorithmName(alg);
  if (!callWith(ArrayPrototypeIncludes, HASHES, name)) throw domError('Unrecognized hash algorithm: ' + name, 'NotSupportedError');
  return name;
}

/** A CryptoKey's bytes, hash and usages, or undefined for anything else. */
let keyParts: (key: unknown) => { bytes: Uint8Array; hash: string; usages: string[]; extractable: boolean } | undefined;

export class CryptoKey {
  #bytes: Uint8Array;
  #extractable: boolean;
  #algorithm: { name: string; hash: { name: string }; length: number };
  #usages: string[];

  constructor(key: unknown, bytes: Uint8Array, hash: string, extractable: boolean, usages: string[]) {
    if (key !== ILLEGAL) throw new TypeError('Illegal constructor');
    this.#bytes = bytes;
    this.#extractable = extractable;
    this.#algorithm = { name: 'HMAC', hash: { name: hash }, length: byteLength(bytes) * 8 };
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
    const u = this.#usages;
    const out: string[] = [];
    for (let i = 0; i < u.length; i++) out[i] = u[i]!;
    return out;
  }

  static {
    keyParts = (k) =>
      typeof k === 'object' && k !== null && #bytes in k
        ? { bytes: k.#bytes, hash: k.#algorithm.hash.name, usages: k.#usages, extractable: k.#extractable }
        : undefined;
  }
}

function hmacKey(alg: any, bytes: Uint8Array, extractable: unknown, usages: unknown): CryptoKey {
  if (algorithmName(alg) !== 'HMAC') throw domError('Unsupported algorithm: ' + algorithmName(alg), 'NotSupportedError');
  const hash = hashName(alg.hash);
  const given = listFrom(usages);
  if (!given) throw new TypeError('usages must be a sequence');
  const list: string[] = [];
  for (let i = 0; i < given.length; i++) {
    const u = String(given[i]);
    if (u !== 'sign' && u !== 'verify') throw domError('Unsupported key usage for an HMAC key: ' + u, 'SyntaxError');
    if (!callWith(ArrayPrototypeIncludes, list, u)) list[list.length] = u;
  }
  if (!list.length) throw domError('Usages cannot be empty when creating a key.', 'SyntaxError');
  if (!byteLength(bytes)) throw domError('HMAC key data must not be empty', 'DataError');
  return new CryptoKey(ILLEGAL, bytes, hash, !!extractable, list);
}

function usableKey(key: unknown, alg: unknown, usage: string): { bytes: Uint8Array; hash: string } {
  const parts = keyParts(key);
  if (!parts) throw new TypeError('key must be a CryptoKey');
  if (algorithmName(alg) !== 'HMAC') throw domError('Unsupported algorithm: ' + algorithmName(alg), 'NotSupportedError');
  if (!callWith(ArrayPrototypeIncludes, parts.usages, usage)) throw domError('Key usages do not permit this operation (' + usage + ')', 'InvalidAccessError');
  return parts;
}

/** The bytes of a JWK's base64url `k`. */
function base64url(s: string): Uint8Array {
  const binary: string = call('base64Decode', regexReplace(UNDERSCORE, regexReplace(DASH, s, '+'), '/'));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = callWith(StringPrototypeCharCodeAt, binary, i);
  return out;
}

export class SubtleCrypto {
  constructor(key?: unknown) {
    if (key !== ILLEGAL) throw new TypeError('Illegal constructor');
  }

  async digest(alg: unknown, data: unknown): Promise<ArrayBuffer> {
    return await call('digest', hashName(alg), viewBytes(data, 'data'));
  }

  async importKey(format: string, keyData: unknown, alg: any, extractable: boolean, usages: string[]): Promise<CryptoKey> {
    let bytes: Uint8Array;
    if (format === 'raw') bytes = new Uint8Array(viewBytes(keyData, 'keyData'));
    else if (format === 'jwk' && (keyData as any)?.kty === 'oct') bytes = base64url(String((keyData as any).k));
    else throw domError('Unsupported key format: ' + String(format), 'NotSupportedError');
    return hmacKey(alg, bytes, extractable, usages);
  }

  async exportKey(format: string, key: CryptoKey): Promise<ArrayBuffer> {
    const parts = keyParts(key);
    if (!parts) throw new TypeError('key must be a CryptoKey');
    if (!parts.extractable) throw domError('key is not extractable', 'InvalidAccessError');
    if (format !== 'raw') throw domError('Unsupported key format: ' + String(format), 'NotSupportedError');
    return exactBuffer(new Uint8Array(parts.bytes));
  }

  async generateKey(alg: any, extractable: boolean, usages: string[]): Promise<CryptoKey> {
    const bits = alg?.length ?? BLOCK_BITS[hashName(alg?.hash)];
    return hmacKey(alg, new Uint8Array(call('randomFill', MathCeil(bits / 8))), extractable, usages);
  }

  async sign(alg: unknown, key: CryptoKey, data: unknown): Promise<ArrayBuffer> {
    const k = usableKey(key, alg, 'sign');
    return await call('hmacSign', k.hash, k.bytes, viewBytes(data, 'data'));
  }

  async verify(alg: unknown, key: CryptoKey, signature: unknown, data: unknown): Promise<boolean> {
    const k = usableKey(key, alg, 'verify');
    return await call('hmacVerify', k.hash, k.bytes, viewBytes(signature, 'signature'), viewBytes(data, 'data'));
  }

  /** A Workers extension; constant time in the lengths' common prefix. */
  timingSafeEqual(a: unknown, b: unknown): boolean {
    const x = viewBytes(a);
    const y = viewBytes(b);
    const n = byteLength(x);
    if (n !== byteLength(y)) throw new TypeError('Input buffers must have the same byte length');
    let diff = 0;
    for (let i = 0; i < n; i++) diff |= x[i]! ^ y[i]!;
    return diff === 0;
  }
}

const UNSUPPORTED = ['encrypt', 'decrypt', 'deriveBits', 'deriveKey', 'wrapKey', 'unwrapKey'];
for (let i = 0; i < UNSUPPORTED.length; i++) {
  const op = UNSUPPORTED[i]!;
  ObjectDefineProperty(
    SubtleCrypto.prototype,
    op,
    dataDescriptor(async () => {
      throw domError('crypto.subtle.' + op + ' is not supported', 'NotSupportedError');
    }),
  );
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
    const kind = typedArrayKind(array);
    if (kind === undefined || !callWith(ArrayPrototypeIncludes, INTEGER_ARRAYS, kind)) {
      throw domError('The provided ArrayBufferView is not an integer array type', 'TypeMismatchError');
    }
    const size = callWith(TypedArrayPrototypeGetByteLength, array);
    if (size > 65536) {
      throw domError('The ArrayBufferView\'s byte length (' + size + ') exceeds the number of bytes of entropy available via this API (65536)', 'QuotaExceededError');
    }
    if (size) callWith(TypedArrayPrototypeSet, viewBytes(array), new Uint8Array(call('randomFill', size)));
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
