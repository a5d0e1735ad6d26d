import { call, internals } from './host.ts';
import { isInstance, listFrom } from './safe.ts';
import { isBufferSource, named, viewBytes } from './util.ts';

/**
 * crypto.subtle's operations on keys (all but digest), a chunk of its own: functions that only
 * digest, or ask for random values or UUIDs, never load it. Node's WebCrypto does the work on the
 * host (runtime/host/webcrypto/), with the spec's parameter checks. Keys live on the host: a
 * CryptoKey here holds an id into its function instance's key table and what the spec lets anybody
 * see (type, extractable, algorithm, usages), never key material; exportKey and wrapKey are the
 * only ways bytes of a key come back.
 *
 * This side converts arguments the way Web IDL does (TypeError for a wrong type) and serialises the
 * algorithm: its known members only, BufferSource members as ranges of one buffer, keys as ids.
 * Each operation takes the number of arguments its caller (SubtleCrypto, guest/crypto.ts) was given.
 */

/** Every member of every WebCrypto algorithm dictionary (the host reads no others). */
const MEMBERS = ['name', 'hash', 'length', 'namedCurve', 'public', 'iv', 'counter', 'additionalData', 'tagLength', 'salt', 'info', 'iterations', 'label', 'saltLength', 'modulusLength', 'publicExponent'];
const NUMERIC = ['length', 'tagLength', 'iterations', 'saltLength', 'modulusLength'];
const JWK_STRINGS = ['kty', 'use', 'alg', 'crv', 'x', 'y', 'd', 'n', 'e', 'p', 'q', 'dp', 'dq', 'qi', 'k'];
const ILLEGAL = {};

const domError = (message: string, name: string) => new internals.DOMException(message, name);
const byteLength = (u8: Uint8Array) => callWith(TypedArrayPrototypeGetLength, u8);
const isObject = (x: unknown): x is object => (typeof x === 'object' && x !== null) || typeof x === 'function';
/** An own property of a descriptor the host sent (parsed JSON): never one planted on Object.prototype. */
const hasOwn = (o: object, key: string): boolean => callWith(ObjectPrototypeHasOwnProperty, o, key);

/** Web IDL's DOMString conversion (a Symbol is a TypeError). */
function str(x: unknown): string {
  if (typeof x === 'symbol') throw new TypeError('Cannot convert a Symbol value to a string');
  return String(x);
}

/** The id of a CryptoKey on the host, or undefined for anything else. */
let keyId: (k: unknown) => number | undefined;

/** Frees the host's key once its CryptoKey is collected (at once on QuickJS-NG, at the next GC cycle elsewhere). */
const collected = new FinalizationRegistry((id: number) => {
  try {
    call('cryptoFreeKey', id);
  } catch {
    // the instance is going away: its whole table goes with it
  }
});

interface KeyDescriptor {
  id: number;
  type: string;
  extractable: boolean;
  algorithm: any;
  usages: string[];
}

export class CryptoKey {
  #id: number;
  #type: string;
  #extractable: boolean;
  #algorithm: any;
  #usages: string[];

  constructor(key: unknown, d: KeyDescriptor) {
    if (key !== ILLEGAL) throw new TypeError('Illegal constructor');
    this.#id = d.id;
    this.#type = d.type;
    this.#extractable = d.extractable;
    const alg = d.algorithm;
    if (hasOwn(alg, 'publicExponent')) {
      const e = alg.publicExponent;
      const n: number = e.length;
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) bytes[i] = e[i];
      alg.publicExponent = bytes;
    }
    this.#algorithm = alg;
    this.#usages = d.usages;
    callWith(FinalizationRegistryPrototypeRegister, collected, this, d.id);
  }

  get type(): string {
    return this.#type;
  }
  get extractable(): boolean {
    return this.#extractable;
  }
  /** The same object every time ([SameObject] in the spec). */
  get algorithm(): object {
    return this.#algorithm;
  }
  get usages(): string[] {
    return this.#usages;
  }

  static {
    keyId = (k) => (typeof k === 'object' && k !== null && #id in k ? k.#id : undefined);
  }
}

function makeKey(d: any): any {
  if (hasOwn(d, 'privateKey')) return { publicKey: new CryptoKey(ILLEGAL, d.publicKey), privateKey: new CryptoKey(ILLEGAL, d.privateKey) };
  return new CryptoKey(ILLEGAL, d);
}

/** A request's BufferSource members, gathered into one buffer for the host. */
interface Pack {
  parts: Uint8Array[];
  size: number;
}

function bytesRef(p: Pack, src: unknown): object {
  const u8 = viewBytes(src);
  const n = byteLength(u8);
  const ref = { __proto__: null, $b: [p.size, n] };
  p.parts[p.parts.length] = u8;
  p.size += n;
  return ref;
}

function packed(p: Pack): Uint8Array | undefined {
  if (!p.parts.length) return undefined;
  const out = new Uint8Array(p.size);
  let at = 0;
  for (let i = 0; i < p.parts.length; i++) {
    callWith(TypedArrayPrototypeSet, out, p.parts[i]!, at);
    at += byteLength(p.parts[i]!);
  }
  return out;
}

/** One member's value as the host reads it (see runtime/host/webcrypto/ops.ts). */
function member(v: unknown, p: Pack): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return NumberIsFinite(v) ? v : { __proto__: null, $n: str(v) };
    case 'undefined':
      return undefined;
  }
  if (v === null) return null;
  if (isBufferSource(v)) return bytesRef(p, v);
  const id = keyId(v);
  return id !== undefined ? { __proto__: null, $k: id } : { __proto__: null, $x: 1 };
}

function algorithm(alg: unknown, p: Pack): unknown {
  if (!isObject(alg)) return str(alg);
  const out = ObjectCreate(null);
  for (let i = 0; i < MEMBERS.length; i++) {
    const m = MEMBERS[i]!;
    let v = (alg as any)[m];
    if (v === undefined) continue;
    // a number member is converted here as Web IDL does (valueOf is user code, run in the guest)
    if (isObject(v) && callWith(ArrayPrototypeIncludes, NUMERIC, m)) v = +(v as any);
    out[m] = m === 'hash' && isObject(v) ? { __proto__: null, name: member((v as any).name, p) } : member(v, p);
  }
  return out;
}

/** Web IDL's sequence<KeyUsage>: the strings (Node checks they are usages). */
function usageList(x: unknown): string[] {
  const list = isObject(x) ? listFrom(x) : undefined;
  if (!list) throw new TypeError('keyUsages must be a sequence');
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) out[i] = str(list[i]);
  return out;
}

/** Web IDL's JsonWebKey dictionary: its members, converted. */
function jwkDictionary(x: unknown): object {
  const out = ObjectCreate(null);
  if (x === undefined || x === null) return out;
  if (!isObject(x)) throw new TypeError('keyData must be a JsonWebKey dictionary');
  const o = x as any;
  for (let i = 0; i < JWK_STRINGS.length; i++) {
    const v = o[JWK_STRINGS[i]!];
    if (v !== undefined) out[JWK_STRINGS[i]!] = str(v);
  }
  if (o.key_ops !== undefined) out.key_ops = usageList(o.key_ops);
  if (o.ext !== undefined) out.ext = !!o.ext;
  // other primes are not supported: keep the member so the host refuses the key rather than ignoring it
  if (o.oth !== undefined) out.oth = [];
  return out;
}

function keyArg(k: unknown, what: string): number {
  const id = keyId(k);
  if (id === undefined) throw new TypeError(what + ' is not of type CryptoKey');
  return id;
}

function dataArg(d: unknown, what: string): Uint8Array {
  if (!isBufferSource(d)) throw new TypeError(what + ' is not of type BufferSource');
  return viewBytes(d);
}

function need(given: number, n: number, method: string): void {
  if (given < n) throw new TypeError("Failed to execute '" + method + "' on 'SubtleCrypto': " + n + ' arguments required, but only ' + given + ' present.');
}

function newPack(): Pack {
  return { __proto__: null, parts: [], size: 0 } as any;
}

/** A host operation; a usage error comes back as a plain SyntaxError, which WebCrypto throws as a DOMException. */
async function run(op: string, req: object, p: Pack, a?: unknown, b?: unknown): Promise<any> {
  try {
    return await call(op, JSONStringify(req), packed(p), a, b);
  } catch (e: any) {
    if (typeof e === 'object' && e !== null && e.name === 'SyntaxError' && !isInstance(e, internals.DOMException)) throw domError(e.message, 'SyntaxError');
    throw e;
  }
}

async function generateKey(given: number, alg: unknown, extractable: unknown, keyUsages: unknown): Promise<any> {
  need(given, 3, 'generateKey');
  const usages = usageList(keyUsages);
  const p = newPack();
  return makeKey(await run('cryptoGenerateKey', { __proto__: null, algorithm: algorithm(alg, p), extractable: !!extractable, usages }, p));
}

async function importKey(given: number, format: unknown, keyData: unknown, alg: unknown, extractable: unknown, keyUsages: unknown): Promise<CryptoKey> {
  need(given, 5, 'importKey');
  const f = str(format);
  let bytes: Uint8Array | undefined;
  let jwk: object | undefined;
  if (f === 'jwk') {
    if (isBufferSource(keyData)) throw new TypeError('keyData must be a JsonWebKey dictionary for format "jwk"');
    jwk = jwkDictionary(keyData);
  } else {
    bytes = dataArg(keyData, 'keyData');
  }
  const usages = usageList(keyUsages);
  const p = newPack();
  const req = { __proto__: null, format: f, jwk, algorithm: algorithm(alg, p), extractable: !!extractable, usages };
  return makeKey(await run('cryptoImportKey', req, p, bytes));
}

async function exportKey(given: number, format: unknown, key: unknown): Promise<any> {
  need(given, 2, 'exportKey');
  const f = str(format);
  return await run('cryptoExportKey', { __proto__: null, format: f, key: keyArg(key, 'key') }, newPack());
}

async function encrypt(given: number, alg: unknown, key: unknown, data: unknown): Promise<ArrayBuffer> {
  need(given, 3, 'encrypt');
  return await keyed('cryptoEncrypt', alg, key, dataArg(data, 'data'));
}

async function decrypt(given: number, alg: unknown, key: unknown, data: unknown): Promise<ArrayBuffer> {
  need(given, 3, 'decrypt');
  return await keyed('cryptoDecrypt', alg, key, dataArg(data, 'data'));
}

async function sign(given: number, alg: unknown, key: unknown, data: unknown): Promise<ArrayBuffer> {
  need(given, 3, 'sign');
  return await keyed('cryptoSign', alg, key, dataArg(data, 'data'));
}

async function verify(given: number, alg: unknown, key: unknown, signature: unknown, data: unknown): Promise<boolean> {
  need(given, 4, 'verify');
  return await keyed('cryptoVerify', alg, key, dataArg(signature, 'signature'), dataArg(data, 'data'));
}

async function deriveBits(given: number, alg: unknown, baseKey: unknown, length?: unknown): Promise<ArrayBuffer> {
  need(given, 2, 'deriveBits');
  const id = keyArg(baseKey, 'baseKey');
  const p = newPack();
  const bits = length === undefined ? null : member(length, p);
  return await run('cryptoDeriveBits', { __proto__: null, algorithm: algorithm(alg, p), key: id, length: bits }, p);
}

async function deriveKey(given: number, alg: unknown, baseKey: unknown, derivedKeyType: unknown, extractable: unknown, keyUsages: unknown): Promise<CryptoKey> {
  need(given, 5, 'deriveKey');
  const id = keyArg(baseKey, 'baseKey');
  const usages = usageList(keyUsages);
  const p = newPack();
  const req = { __proto__: null, algorithm: algorithm(alg, p), key: id, derivedKeyType: algorithm(derivedKeyType, p), extractable: !!extractable, usages };
  return makeKey(await run('cryptoDeriveKey', req, p));
}

async function wrapKey(given: number, format: unknown, key: unknown, wrappingKey: unknown, wrapAlgorithm: unknown): Promise<ArrayBuffer> {
  need(given, 4, 'wrapKey');
  const f = str(format);
  const req = { __proto__: null, format: f, key: keyArg(key, 'key'), wrappingKey: keyArg(wrappingKey, 'wrappingKey'), algorithm: undefined as unknown };
  const p = newPack();
  req.algorithm = algorithm(wrapAlgorithm, p);
  return await run('cryptoWrapKey', req, p);
}

async function unwrapKey(given: number, 
  format: unknown,
  wrappedKey: unknown,
  unwrappingKey: unknown,
  unwrapAlgorithm: unknown,
  unwrappedKeyAlgorithm: unknown,
  extractable: unknown,
  keyUsages: unknown,
): Promise<CryptoKey> {
  need(given, 7, 'unwrapKey');
  const f = str(format);
  const wrapped = dataArg(wrappedKey, 'wrappedKey');
  const id = keyArg(unwrappingKey, 'unwrappingKey');
  const usages = usageList(keyUsages);
  const p = newPack();
  const req = {
    __proto__: null,
    format: f,
    unwrappingKey: id,
    algorithm: algorithm(unwrapAlgorithm, p),
    unwrappedKeyAlgorithm: algorithm(unwrappedKeyAlgorithm, p),
    extractable: !!extractable,
    usages,
  };
  return makeKey(await run('cryptoUnwrapKey', req, p, wrapped));
}

/** encrypt, decrypt, sign, verify: a key, an algorithm, then the data. */
function keyed(op: string, alg: unknown, key: unknown, a: Uint8Array, b?: Uint8Array): Promise<any> {
  const id = keyArg(key, 'key');
  const p = newPack();
  return run(op, { __proto__: null, algorithm: algorithm(alg, p), key: id }, p, a, b);
}

export const operations = { generateKey, importKey, exportKey, encrypt, decrypt, sign, verify, deriveBits, deriveKey, wrapKey, unwrapKey };

named(CryptoKey, 'CryptoKey');
