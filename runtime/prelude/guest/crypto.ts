import { call, internals } from './host.ts';
import { typedArrayKind } from './safe.ts';
import { isBufferSource, named, viewBytes } from './util.ts';

/**
 * Web Crypto, host-backed. Random values and digests are computed by node:crypto (synchronous host
 * operations, so what most functions use stays small); every operation on keys is in the `subtle`
 * chunk (guest/subtle.ts), loaded on the first call of one.
 */

const HASHES = ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'];
const INTEGER_ARRAYS = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array'];
const ILLEGAL = {};

const domError = (message: string, name: string) => new internals.DOMException(message, name);
const byteLength = (u8: Uint8Array) => callWith(TypedArrayPrototypeGetLength, u8);
/**
 * The operations on keys (guest/subtle.ts): each takes the number of arguments it was given first,
 * and is async there (its errors reject), so the methods below only forward.
 */
const ops = (): any => internals.need('subtle').operations;

function hashName(alg: unknown): string {
  const name = (typeof alg === 'object' && alg !== null) || typeof alg === 'function' ? (alg as { name?: unknown }).name : alg;
  if (name === undefined) throw new TypeError('Algorithm: name is required');
  if (typeof name === 'symbol') throw new TypeError('Cannot convert a Symbol value to a string');
  const upper = callWith(StringPrototypeToUpperCase, String(name));
  if (!callWith(ArrayPrototypeIncludes, HASHES, upper)) throw domError('Unrecognized hash algorithm: ' + String(name), 'NotSupportedError');
  return upper;
}

export class SubtleCrypto {
  constructor(key?: unknown) {
    if (key !== ILLEGAL) throw new TypeError('Illegal constructor');
  }

  async digest(alg: unknown, data: unknown): Promise<ArrayBuffer> {
    if (arguments.length < 2) throw new TypeError("Failed to execute 'digest' on 'SubtleCrypto': 2 arguments required, but only " + arguments.length + ' present.');
    if (!isBufferSource(data)) throw new TypeError('data is not of type BufferSource');
    return await call('digest', hashName(alg), viewBytes(data));
  }

  generateKey(algorithm: unknown, extractable: unknown, keyUsages: unknown): Promise<any> {
    return ops().generateKey(arguments.length, algorithm, extractable, keyUsages);
  }
  importKey(format: unknown, keyData: unknown, algorithm: unknown, extractable: unknown, keyUsages: unknown): Promise<any> {
    return ops().importKey(arguments.length, format, keyData, algorithm, extractable, keyUsages);
  }
  exportKey(format: unknown, key: unknown): Promise<any> {
    return ops().exportKey(arguments.length, format, key);
  }
  encrypt(algorithm: unknown, key: unknown, data: unknown): Promise<ArrayBuffer> {
    return ops().encrypt(arguments.length, algorithm, key, data);
  }
  decrypt(algorithm: unknown, key: unknown, data: unknown): Promise<ArrayBuffer> {
    return ops().decrypt(arguments.length, algorithm, key, data);
  }
  sign(algorithm: unknown, key: unknown, data: unknown): Promise<ArrayBuffer> {
    return ops().sign(arguments.length, algorithm, key, data);
  }
  verify(algorithm: unknown, key: unknown, signature: unknown, data: unknown): Promise<boolean> {
    return ops().verify(arguments.length, algorithm, key, signature, data);
  }
  deriveBits(algorithm: unknown, baseKey: unknown, length: unknown): Promise<ArrayBuffer> {
    return ops().deriveBits(arguments.length, algorithm, baseKey, length);
  }
  deriveKey(algorithm: unknown, baseKey: unknown, derivedKeyType: unknown, extractable: unknown, keyUsages: unknown): Promise<any> {
    return ops().deriveKey(arguments.length, algorithm, baseKey, derivedKeyType, extractable, keyUsages);
  }
  wrapKey(format: unknown, key: unknown, wrappingKey: unknown, wrapAlgorithm: unknown): Promise<ArrayBuffer> {
    return ops().wrapKey(arguments.length, format, key, wrappingKey, wrapAlgorithm);
  }
  // prettier-ignore
  unwrapKey(format: unknown, wrappedKey: unknown, unwrappingKey: unknown, unwrapAlgorithm: unknown, unwrappedKeyAlgorithm: unknown, extractable: unknown, keyUsages: unknown): Promise<any> {
    return ops().unwrapKey(arguments.length, format, wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm, extractable, keyUsages);
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

named(SubtleCrypto, 'SubtleCrypto');
named(Crypto, 'Crypto');
