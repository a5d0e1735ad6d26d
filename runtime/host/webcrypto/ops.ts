import { createHash, createHmac, KeyObject, timingSafeEqual, webcrypto } from 'node:crypto';
import { cryptoError, toCryptoError } from './errors.ts';
import type { HostKey, KeyDescriptor, KeyTable } from './keys.ts';
import { CRYPTO_LIMITS } from './limits.ts';

/**
 * crypto.subtle on the host: Node's WebCrypto does the work (and the spec's argument checks and
 * error names); this module rebuilds each request from what the guest serialised, keeps its keys in
 * the instance's KeyTable, and holds every job to CRYPTO_LIMITS before it starts.
 *
 * A request arrives as JSON the guest serialised plus one buffer of the algorithm's BufferSource
 * members: a member that was bytes is `{"$b": [offset, length]}` into that buffer, a CryptoKey is
 * `{"$k": id}`, a non-finite number is `{"$n": "NaN"}`, and any other object is `{"$x": 1}`. Only
 * the members some WebCrypto algorithm dictionary has are read, one level deep (two for `hash`):
 * nothing walks a structure the guest chose.
 */

/**
 * Node's SubtleCrypto, typed for what this module hands it: requests rebuilt from guest JSON, whose
 * checking (Web IDL conversion, the spec's errors) is Node's job.
 */
interface Subtle {
  generateKey(alg: unknown, extractable: boolean, usages: unknown): Promise<HostKey | webcrypto.CryptoKeyPair>;
  importKey(format: unknown, keyData: unknown, alg: unknown, extractable: boolean, usages: unknown): Promise<HostKey>;
  exportKey(format: unknown, key: HostKey): Promise<ArrayBuffer | webcrypto.JsonWebKey>;
  encrypt(alg: unknown, key: HostKey, data: Uint8Array): Promise<ArrayBuffer>;
  decrypt(alg: unknown, key: HostKey, data: Uint8Array): Promise<ArrayBuffer>;
  sign(alg: unknown, key: HostKey, data: Uint8Array): Promise<ArrayBuffer>;
  verify(alg: unknown, key: HostKey, signature: Uint8Array, data: Uint8Array): Promise<boolean>;
  deriveBits(alg: unknown, key: HostKey, length: unknown): Promise<ArrayBuffer>;
  deriveKey(alg: unknown, key: HostKey, derived: unknown, extractable: boolean, usages: unknown): Promise<HostKey>;
  wrapKey(format: unknown, key: HostKey, wrappingKey: HostKey, alg: unknown): Promise<ArrayBuffer>;
  unwrapKey(format: unknown, wrapped: Uint8Array, unwrappingKey: HostKey, alg: unknown, unwrappedAlg: unknown, extractable: boolean, usages: unknown): Promise<HostKey>;
}
const subtle = webcrypto.subtle as unknown as Subtle;

/** Algorithms a function may name (upper case). Node's other ones (Ed448, X448) are experimental and warn on the host. */
const ALGORITHMS = new Set([
  'RSASSA-PKCS1-V1_5', 'RSA-PSS', 'RSA-OAEP', 'ECDSA', 'ECDH', 'ED25519', 'X25519',
  'AES-CTR', 'AES-CBC', 'AES-GCM', 'AES-KW', 'HMAC', 'HKDF', 'PBKDF2', 'SHA-1', 'SHA-256', 'SHA-384', 'SHA-512',
]);

/** Every member of every WebCrypto algorithm dictionary. */
const MEMBERS = [
  'name', 'hash', 'length', 'namedCurve', 'public', 'iv', 'counter', 'additionalData', 'tagLength',
  'salt', 'info', 'iterations', 'label', 'saltLength', 'modulusLength', 'publicExponent',
] as const;

type Json = unknown;
type Algorithm = string | Record<string, unknown>;

interface Ctx {
  keys: KeyTable;
  params: Uint8Array | null | undefined;
}

function own(o: object, key: string): unknown {
  return Object.hasOwn(o, key) ? (o as Record<string, unknown>)[key] : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function paramBytes(ref: unknown, ctx: Ctx): Uint8Array {
  const buf = ctx.params;
  const [offset, length] = Array.isArray(ref) ? (ref as unknown[]) : [];
  if (!buf || !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || (offset as number) < 0 || (length as number) < 0 || (offset as number) + (length as number) > buf.byteLength) {
    throw new TypeError('malformed request: a byte range outside the parameters');
  }
  return buf.subarray(offset as number, (offset as number) + (length as number));
}

function decodeValue(v: unknown, ctx: Ctx, depth: number): unknown {
  if (!isObject(v)) return v;
  if (Object.hasOwn(v, '$b')) return paramBytes(v.$b, ctx);
  if (Object.hasOwn(v, '$k')) return ctx.keys.get(v.$k);
  if (Object.hasOwn(v, '$n')) return Number(String(v.$n));
  // `hash` is itself an algorithm identifier; anything else is an object of the wrong type
  return depth === 0 && !Array.isArray(v) && !Object.hasOwn(v, '$x') ? decodeAlgorithm(v, ctx, 1) : {};
}

/** Members Web IDL converts to numbers: converted here as Node would, so a limit sees what Node will use. */
const NUMERIC = new Set<string>(['length', 'tagLength', 'iterations', 'saltLength', 'modulusLength']);

/** Web IDL's ToNumber of a decoded value (a string "1e9" is 1e9); null stays null where a member may be null. */
function toNumber(v: unknown): unknown {
  return v === null ? null : Number(v);
}

function decodeAlgorithm(v: unknown, ctx: Ctx, depth = 0): Algorithm {
  if (!isObject(v) || Array.isArray(v)) return typeof v === 'string' ? v : String(v);
  const out: Record<string, unknown> = {};
  for (const m of depth === 0 ? MEMBERS : (['name'] as const)) {
    const x = own(v, m);
    if (x === undefined) continue;
    const value = m === 'hash' ? decodeValue(x, ctx, 0) : decodeValue(x, ctx, 1);
    out[m] = NUMERIC.has(m) ? toNumber(value) : value;
  }
  return out;
}

/** The upper-cased name of an algorithm identifier, refused unless allowed here. */
function checkedName(alg: unknown): string | undefined {
  const raw = typeof alg === 'string' ? alg : isObject(alg) ? alg.name : undefined;
  if (typeof raw !== 'string') return undefined; // Node refuses it with the spec's TypeError
  const name = raw.toUpperCase();
  if (!ALGORITHMS.has(name)) throw cryptoError('NotSupportedError', `Unrecognized algorithm name: ${raw}`);
  if (isObject(alg) && alg.hash !== undefined) checkedName(alg.hash);
  return name;
}

function algorithm(v: unknown, ctx: Ctx): { alg: Algorithm; name: string | undefined; member: (m: string) => unknown } {
  const alg = decodeAlgorithm(v, ctx);
  const name = checkedName(alg);
  return { alg, name, member: (m) => (typeof alg === 'object' ? alg[m] : undefined) };
}

function notSupported(message: string): Error {
  return cryptoError('NotSupportedError', message);
}

/** A finite number over `max` (anything else is Node's to refuse, with the spec's TypeError). */
function over(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > max;
}

function checkPbkdf2(iterations: unknown, bits: unknown): void {
  if (over(iterations, CRYPTO_LIMITS.pbkdf2Iterations)) {
    throw notSupported(`PBKDF2 with more than ${CRYPTO_LIMITS.pbkdf2Iterations} iterations is not supported (asked for ${iterations})`);
  }
  if (over(bits, CRYPTO_LIMITS.pbkdf2Bits)) {
    throw notSupported(`PBKDF2 output longer than ${CRYPTO_LIMITS.pbkdf2Bits} bits is not supported (asked for ${bits})`);
  }
}

/** Keys made from data the guest supplied (imported, unwrapped, derived): an RSA modulus is bounded like a generated one. */
function checkKeySize(key: HostKey): void {
  const bits = (key.algorithm as { modulusLength?: number }).modulusLength;
  if (typeof bits === 'number' && bits > CRYPTO_LIMITS.rsaImportBits) {
    throw cryptoError('DataError', `RSA keys longer than ${CRYPTO_LIMITS.rsaImportBits} bits are not supported (this one has ${bits})`);
  }
}

/** Node converts the sequence (a TypeError for a non-list, or for a value that is no KeyUsage). */
function usages(v: unknown): unknown {
  return v;
}

function bool(v: unknown): boolean {
  return v === true;
}

function request(json: Json): Record<string, unknown> {
  if (!isObject(json) || Array.isArray(json)) throw new TypeError('malformed request');
  return json;
}

/**
 * What identifies a key made from guest inputs (import, derive, unwrap are deterministic): the
 * request as it arrived, its parameter bytes and its data. Keys ids in the request are part of it.
 */
function inputsDigest(op: string, req: Record<string, unknown>, params: unknown, data?: unknown): string {
  const text = JSON.stringify(req);
  const p = params instanceof Uint8Array ? params : new Uint8Array(0);
  const d = data instanceof Uint8Array ? data : new Uint8Array(0);
  // the lengths first: no two different inputs run together into the same bytes
  return createHash('sha256').update(`${op}:${text.length}:${p.byteLength}:${d.byteLength}:`).update(text).update(p).update(d).digest('base64');
}

/** One job: failures become the spec's errors; nothing Node throws reaches the guest otherwise. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toCryptoError(err);
  }
}

/** The operations, by op-table name; each returns plain data for the guest. */
export const cryptoOps = {
  cryptoGenerateKey: (keys: KeyTable, [json, params]: unknown[]) =>
    guarded(async () => {
      const req = request(json);
      const { alg, name, member } = algorithm(req.algorithm, { keys, params: params as Uint8Array });
      const bits = member('modulusLength');
      if (name?.startsWith('RSA') && over(bits, CRYPTO_LIMITS.rsaGenerateBits)) {
        throw notSupported(`RSA keys longer than ${CRYPTO_LIMITS.rsaGenerateBits} bits cannot be generated here (asked for ${bits})`);
      }
      const length = member('length');
      if (name === 'HMAC' && over(length, CRYPTO_LIMITS.keyDataBytes * 8)) {
        throw notSupported(`HMAC keys longer than ${CRYPTO_LIMITS.keyDataBytes * 8} bits are not supported (asked for ${length})`);
      }
      // a key pair takes two entries
      keys.reserve(name === 'HMAC' || name?.startsWith('AES') ? 1 : 2);
      const made = await subtle.generateKey(alg, bool(req.extractable), usages(req.usages));
      if ('privateKey' in made && 'publicKey' in made) {
        const publicKey = keys.add(made.publicKey);
        try {
          return { publicKey, privateKey: keys.add(made.privateKey) };
        } catch (err) {
          keys.free(publicKey.id);
          throw err;
        }
      }
      return keys.add(made as HostKey);
    }),

  cryptoImportKey: (keys: KeyTable, [json, params, keyData]: unknown[]) =>
    guarded(async () => {
      const req = request(json);
      const { alg } = algorithm(req.algorithm, { keys, params: params as Uint8Array });
      const format = req.format;
      const data = format === 'jwk' ? (isObject(req.jwk) ? req.jwk : {}) : ((keyData as Uint8Array | null) ?? new Uint8Array(0));
      return keys.shared(inputsDigest('import', req, params, keyData), async () => {
        const key = await subtle.importKey(format, data, alg, bool(req.extractable), usages(req.usages));
        checkKeySize(key);
        return { key, knownBytes: format === 'jwk' ? JSON.stringify(data).length : (data as Uint8Array).byteLength };
      });
    }),

  cryptoExportKey: (keys: KeyTable, [json]: unknown[]) =>
    guarded(async () => {
      const req = request(json);
      const out = await subtle.exportKey(req.format, keys.get(req.key));
      return out instanceof ArrayBuffer ? out : (out as Json);
    }),

  cryptoEncrypt: (keys: KeyTable, [json, params, data]: unknown[]) => cipher('encrypt', keys, json, params, data),
  cryptoDecrypt: (keys: KeyTable, [json, params, data]: unknown[]) => cipher('decrypt', keys, json, params, data),
  cryptoSign: (keys: KeyTable, [json, params, data]: unknown[]) => cipher('sign', keys, json, params, data),

  cryptoVerify: (keys: KeyTable, [json, params, signature, data]: unknown[]) =>
    guarded(async () => {
      const req = request(json);
      const { alg } = algorithm(req.algorithm, { keys, params: params as Uint8Array });
      const key = keys.get(req.key);
      const mac = hmacNow(alg, key, 'verify', data as Uint8Array);
      if (mac) {
        const sig = signature as Uint8Array;
        return sig.byteLength === mac.byteLength && timingSafeEqual(mac, sig);
      }
      return subtle.verify(alg, key, signature as Uint8Array, data as Uint8Array);
    }),

  cryptoDeriveBits: (keys: KeyTable, [json, params]: unknown[]) =>
    guarded(async () => {
      const req = request(json);
      const { alg, name, member } = algorithm(req.algorithm, { keys, params: params as Uint8Array });
      const length = req.length === undefined ? undefined : toNumber(decodeValue(req.length, { keys, params: params as Uint8Array }, 1));
      if (name === 'PBKDF2') checkPbkdf2(member('iterations'), length);
      return subtle.deriveBits(alg, keys.get(req.key), length);
    }),

  cryptoDeriveKey: (keys: KeyTable, [json, params]: unknown[]) =>
    guarded(async () => {
      const req = request(json);
      const ctx = { keys, params: params as Uint8Array };
      const { alg, name, member } = algorithm(req.algorithm, ctx);
      const derived = algorithm(req.derivedKeyType, ctx);
      if (name === 'PBKDF2') checkPbkdf2(member('iterations'), derived.member('length'));
      const base = keys.get(req.key);
      return keys.shared(inputsDigest('derive', req, params), async () => ({
        key: await subtle.deriveKey(alg, base, derived.alg, bool(req.extractable), usages(req.usages)),
      }));
    }),

  cryptoWrapKey: (keys: KeyTable, [json, params]: unknown[]) =>
    guarded(async () => {
      const req = request(json);
      const { alg } = algorithm(req.algorithm, { keys, params: params as Uint8Array });
      return subtle.wrapKey(req.format, keys.get(req.key), keys.get(req.wrappingKey), alg);
    }),

  cryptoUnwrapKey: (keys: KeyTable, [json, params, wrapped]: unknown[]) =>
    guarded(async () => {
      const req = request(json);
      const ctx = { keys, params: params as Uint8Array };
      const { alg } = algorithm(req.algorithm, ctx);
      const unwrapped = algorithm(req.unwrappedKeyAlgorithm, ctx);
      const unwrapping = keys.get(req.unwrappingKey);
      return keys.shared(inputsDigest('unwrap', req, params, wrapped), async () => {
        const key = await subtle.unwrapKey(req.format, wrapped as Uint8Array, unwrapping, alg, unwrapped.alg, bool(req.extractable), usages(req.usages));
        checkKeySize(key);
        return { key, knownBytes: (wrapped as Uint8Array).byteLength };
      });
    }),
} satisfies Record<string, (keys: KeyTable, args: unknown[]) => Promise<unknown>>;

function cipher(op: 'encrypt' | 'decrypt' | 'sign', keys: KeyTable, json: unknown, params: unknown, data: unknown): Promise<ArrayBuffer> {
  return guarded(async () => {
    const req = request(json);
    const { alg } = algorithm(req.algorithm, { keys, params: params as Uint8Array });
    const key = keys.get(req.key);
    if (op === 'sign') {
      const mac = hmacNow(alg, key, 'sign', data as Uint8Array);
      if (mac) return mac.buffer.slice(mac.byteOffset, mac.byteOffset + mac.byteLength) as ArrayBuffer;
    }
    return subtle[op](alg, key, data as Uint8Array);
  });
}

/** Inputs up to this size are MACed on this thread (a few µs) rather than as a thread-pool job. */
const HMAC_NOW_BYTES = 64 * 1024;
const NODE_HASH: Record<string, string> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const secretOf = new WeakMap<HostKey, KeyObject>();

/**
 * An HMAC of a small input computed at once with node:crypto, the same bytes WebCrypto gives: Node's
 * WebCrypto sends every operation to the libuv thread pool, a hop that costs far more than the MAC of
 * a request-sized message (it was most of the api workload's CPU per request). Only when every check
 * WebCrypto would make passes (the algorithm named HMAC, a HMAC key allowed for this use): anything
 * else goes to WebCrypto, for its errors.
 */
function hmacNow(alg: unknown, key: HostKey, use: 'sign' | 'verify', data: Uint8Array): Buffer | undefined {
  const name = typeof alg === 'string' ? alg : isObject(alg) ? alg.name : undefined;
  if (typeof name !== 'string' || name.toUpperCase() !== 'HMAC' || data.byteLength > HMAC_NOW_BYTES) return undefined;
  const k = key as unknown as webcrypto.CryptoKey;
  const { hash: h, length } = k.algorithm as { hash?: { name?: string }; length?: number };
  const hash = h?.name;
  // a key length that is not whole bytes is left to WebCrypto's own rules
  if (typeof length !== 'number' || length % 8 !== 0) return undefined;
  if (k.algorithm.name !== 'HMAC' || k.type !== 'secret' || !k.usages.includes(use) || hash === undefined || !NODE_HASH[hash]) return undefined;
  let secret = secretOf.get(key);
  if (!secret) secretOf.set(key, (secret = KeyObject.from(k)));
  return createHmac(NODE_HASH[hash]!, secret).update(data).digest();
}

export type CryptoOpName = keyof typeof cryptoOps;

export function cryptoOp(name: string): ((keys: KeyTable, args: unknown[]) => Promise<unknown>) | undefined {
  return Object.hasOwn(cryptoOps, name) ? cryptoOps[name as CryptoOpName] : undefined;
}

export type { KeyDescriptor };
