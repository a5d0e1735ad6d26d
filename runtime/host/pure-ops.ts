import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { parseMultipart } from './multipart.ts';
import type { HOST_OPS, OpArgs } from './op-table.ts';

/**
 * Host operations that need no invocation context: what the guest prelude delegates because Node does
 * it exactly and cheaply (WHATWG URL, UTF-8, hashing, randomness), or much faster than guest bytecode
 * would (multipart/form-data parsing, multipart.ts). Arguments arrive as plain data from the guest and
 * are validated here; results go back as plain data (ArrayBuffers for bytes).
 */

type Bytes = ArrayBuffer | ArrayBufferView;

const MAX_RANDOM_BYTES = 65536;
const HASHES: Record<string, string> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const URL_SETTERS = new Set(['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash']);
const BASE64 = /^[A-Za-z0-9+/]*$/;

function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

function bytes(data: unknown, what: string): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(`${what} must be bytes`);
}

/** An ArrayBuffer holding exactly these bytes (Node Buffers may be views into a shared pool). */
function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function nodeHash(alg: unknown): string {
  const h = HASHES[String(alg).toUpperCase()];
  if (!h) throw named('NotSupportedError', `Unrecognized hash algorithm: ${String(alg)}`);
  return h;
}

export interface UrlParts {
  href: string;
  origin: string;
  protocol: string;
  username: string;
  password: string;
  host: string;
  hostname: string;
  port: string;
  pathname: string;
  search: string;
  hash: string;
}

function urlParts(u: URL): UrlParts {
  const { href, origin, protocol, username, password, host, hostname, port, pathname, search, hash } = u;
  return { href, origin, protocol, username, password, host, hostname, port, pathname, search, hash };
}

/** Its output owns an ArrayBuffer of exactly its length (a small Buffer is a view into a shared pool). */
const encoder = new TextEncoder();
const decoders = new Map<string, TextDecoder>();

function decoder(fatal: boolean, ignoreBOM: boolean): TextDecoder {
  const key = `${fatal}:${ignoreBOM}`;
  let d = decoders.get(key);
  if (!d) decoders.set(key, (d = new TextDecoder('utf-8', { fatal, ignoreBOM })));
  return d;
}

/** The HTML spec's forgiving-base64 decode, which Buffer.from(…, 'base64') is too lenient to be. */
function forgivingBase64(input: string): string {
  let s = input.replace(/[\t\n\f\r ]/g, '');
  if (s.length % 4 === 0) s = s.replace(/==?$/, '');
  if (s.length % 4 === 1 || !BASE64.test(s)) {
    throw named('InvalidCharacterError', 'The string to be decoded is not correctly encoded.');
  }
  return Buffer.from(s, 'base64').toString('latin1');
}

type PureOpName = { [N in keyof typeof HOST_OPS]: (typeof HOST_OPS)[N]['kind'] extends 'pure' ? N : never }[keyof typeof HOST_OPS];

/** The implementations of the `pure` operations of op-table.ts, with the arguments it declares. */
export const pureOps: { [N in PureOpName]: (...args: OpArgs<N>) => unknown } = {
  now: () => performance.now(),

  randomFill(n: unknown): ArrayBuffer {
    const count = Number(n);
    if (!Number.isInteger(count) || count < 0) throw new TypeError('randomFill: byte count must be a non-negative integer');
    if (count > MAX_RANDOM_BYTES) {
      throw named(
        'QuotaExceededError',
        `The ArrayBufferView's byte length (${count}) exceeds the number of bytes of entropy available via this API (${MAX_RANDOM_BYTES})`,
      );
    }
    return toArrayBuffer(randomBytes(count));
  },

  randomUUID: () => randomUUID(),

  digest: (alg: unknown, data: Bytes) => toArrayBuffer(createHash(nodeHash(alg)).update(bytes(data, 'data')).digest()),

  hmacSign: (hash: unknown, key: Bytes, data: Bytes) =>
    toArrayBuffer(createHmac(nodeHash(hash), bytes(key, 'key')).update(bytes(data, 'data')).digest()),

  hmacVerify(hash: unknown, key: Bytes, signature: Bytes, data: Bytes): boolean {
    const expected = createHmac(nodeHash(hash), bytes(key, 'key')).update(bytes(data, 'data')).digest();
    const given = bytes(signature, 'signature');
    return given.byteLength === expected.byteLength && timingSafeEqual(given, expected);
  },

  urlParse(input: unknown, base?: unknown): UrlParts | null {
    // (typed by the table, still checked: tests and tools call these directly too)
    try {
      return urlParts(base === undefined || base === null ? new URL(String(input)) : new URL(String(input), String(base)));
    } catch {
      return null;
    }
  },

  /** Setters never throw in WHATWG URL except href, which throws TypeError for an invalid URL. */
  urlSet(href: unknown, prop: unknown, value: unknown): UrlParts {
    const p = String(prop);
    if (!URL_SETTERS.has(p)) throw new TypeError(`urlSet: unknown URL component ${p}`);
    const u = new URL(String(href));
    (u as unknown as Record<string, string>)[p] = String(value);
    return urlParts(u);
  },

  utf8Encode: (s: unknown) => encoder.encode(String(s)).buffer as ArrayBuffer,

  utf8Decode(data: Bytes, fatal?: unknown, ignoreBOM?: unknown): string {
    const input = bytes(data, 'data');
    try {
      return decoder(!!fatal, !!ignoreBOM).decode(input);
    } catch {
      throw new TypeError('The encoded data was not valid utf-8');
    }
  },

  base64Encode(binary: unknown): string {
    const s = String(binary);
    if (/[^\u0000-\u00ff]/.test(s)) throw named('InvalidCharacterError', 'Invalid character: the string contains characters outside of the Latin1 range.');
    return Buffer.from(s, 'latin1').toString('base64');
  },

  base64Decode: (s: unknown) => forgivingBase64(String(s)),

  formDecode: (s: unknown) => [...new URLSearchParams(String(s))],

  multipartParse: (body: Bytes, boundary: unknown) => parseMultipart(bytes(body, 'body'), String(boundary)),
};
