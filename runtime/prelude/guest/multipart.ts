import { call } from './host.ts';
import { hardenRegExp, regexReplace, regexTest } from './safe.ts';
import { subBytes } from './util.ts';

/**
 * multipart/form-data, both ways. Parsing is a host operation (`multipartParse`,
 * runtime/host/multipart.ts: native byte search, linear, and 15-20 times faster than the same parser
 * run as guest bytecode on hostile bodies); the guest turns its answer into entries, a file being a
 * view on the body it already holds. Encoding is the HTML spec's, here.
 */

/** An entry: the value is a string, or `[bytes, filename, type]` for a file. */
export type Part = [string, string | [Uint8Array, string, string]];

/** The largest body `multipartParse` takes (MAX_MULTIPART, runtime/host/op-table.ts). */
const MAX_BODY = 32 * 1024 * 1024;

const lengthOf = (u8: Uint8Array) => callWith(TypedArrayPrototypeGetLength, u8);
const indexOf = (s: string, c: string) => callWith(StringPrototypeIndexOf, s, c);

/**
 * Parses a multipart/form-data body into entries, a file's value being `file(bytes, filename, type)`
 * (TypeError for anything malformed, a missing final boundary included). The host answers
 * `[name, value, …]`, a value being a short field's text, `[start, end]` for a longer field's bytes,
 * or `[filename, type, start, end]` for a file's.
 */
export function parseMultipart(u8: Uint8Array, boundary: string, file: (bytes: Uint8Array, name: string, type: string) => unknown): [string, unknown][] {
  if (boundary.length < 1 || boundary.length > 70) throw new TypeError('Failed to parse body as FormData: the boundary must have 1 to 70 characters');
  if (lengthOf(u8) > MAX_BODY) throw new TypeError('Failed to parse body as FormData: a multipart body is parsed up to 32 MiB');
  const flat: any[] = call('multipartParse', u8, boundary);
  const entries: [string, unknown][] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const v = flat[i + 1];
    entries[i >> 1] = [
      flat[i],
      typeof v === 'string' ? v : v.length === 2 ? call('utf8Decode', subBytes(u8, v[0], v[1]), false, false) : file(subBytes(u8, v[2], v[3]), v[0], v[1]),
    ];
  }
  return entries;
}

const LINE_BREAKS = hardenRegExp(/\r\n|\r|\n/g);
const DASHES = hardenRegExp(/-/g);
const TO_ESCAPE = hardenRegExp(/[\n\r"]/g);
const ESCAPES: Record<string, string> = { __proto__: null, '\n': '%0A', '\r': '%0D', '"': '%22' } as any;
const escapeOne = (c: string) => ESCAPES[c]!;

/** CR, LF and CR LF all as CR LF: the HTML spec's newline normalization of names and string values. */
const crlf = (s: string) => (indexOf(s, '\n') >= 0 || indexOf(s, '\r') >= 0 ? regexReplace(LINE_BREAKS, s, '\r\n') : s);
const quote = (s: string) => '"' + regexReplace(TO_ESCAPE, s, escapeOne) + '"';

const NON_ASCII = hardenRegExp(/[^\x00-\x7f]/);
const TWO_BYTES = hardenRegExp(/[\u0080-\u07ff]+/g);
const THREE_BYTES = hardenRegExp(/[\u0800-\ud7ff\ue000-\uffff]+/g);
const SURROGATES = hardenRegExp(/[\ud800-\udfff]+/g);
/** How many characters of `s` match `re`, counted natively. */
const count = (re: RegExp, s: string) => s.length - regexReplace(re, s, '').length;

/**
 * The UTF-8 length of a well-formed string (every name and value is a USVString): one byte per
 * ASCII character, two up to U+07FF, three up to U+FFFF, four per surrogate pair (two units).
 */
function utf8Length(s: string): number {
  if (!regexTest(NON_ASCII, s)) return s.length;
  return s.length + count(TWO_BYTES, s) + 2 * count(THREE_BYTES, s) + count(SURROGATES, s);
}

/**
 * The multipart/form-data encoding of entries (a file as `[bytes, name, type]`), with a boundary of
 * host randomness (a body that includes uploaded data must not be able to guess it). Without files
 * the body is text, left as a string (encoded by the host as it leaves the guest, if ever). With
 * files, all the text is encoded in one host call and laid between the files' bytes by its UTF-8
 * lengths, worked out in the guest: no call and no copy per entry.
 */
export function serializeMultipart(entries: Part[]): [string | Uint8Array, string] {
  const boundary = '----formdata-faas-' + regexReplace(DASHES, call('randomUUID'), '');
  const pieces: string[] = [];
  const files: Uint8Array[] = [];
  /** The UTF-8 length of the text before each file. */
  const stretches: number[] = [];
  let stretch = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const v = e[1];
    let text = '--' + boundary + '\r\nContent-Disposition: form-data; name=' + quote(crlf(e[0]));
    if (typeof v === 'string') text += '\r\n\r\n' + crlf(v) + '\r\n';
    else text += '; filename=' + quote(v[1]) + '\r\nContent-Type: ' + (v[2] || 'application/octet-stream') + '\r\n\r\n';
    pieces[pieces.length] = text;
    if (typeof v === 'string') {
      stretch += utf8Length(text);
      continue;
    }
    stretches[files.length] = stretch + utf8Length(text);
    files[files.length] = v[0];
    pieces[pieces.length] = '\r\n';
    stretch = 2;
  }
  pieces[pieces.length] = '--' + boundary + '--\r\n';
  const type = 'multipart/form-data; boundary=' + boundary;
  const joined = callWith(ArrayPrototypeJoin, pieces, '');
  if (files.length === 0) return [joined, type];
  const text = new Uint8Array(call('utf8Encode', joined));
  let total = lengthOf(text);
  for (let i = 0; i < files.length; i++) total += lengthOf(files[i]!);
  const out = new Uint8Array(total);
  let from = 0;
  let at = 0;
  for (let i = 0; i < files.length; i++) {
    const n = stretches[i]!;
    callWith(TypedArrayPrototypeSet, out, subBytes(text, from, from + n), at);
    from += n;
    at += n;
    callWith(TypedArrayPrototypeSet, out, files[i]!, at);
    at += lengthOf(files[i]!);
  }
  callWith(TypedArrayPrototypeSet, out, subBytes(text, from, lengthOf(text)), at);
  return [out, type];
}
