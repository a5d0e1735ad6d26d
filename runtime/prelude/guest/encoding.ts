import { call } from './host.ts';
import { isUint8Array } from './safe.ts';
import { named, subBytes, viewBytes } from './util.ts';

/**
 * TextEncoder (UTF-8) and TextDecoder for UTF-8, UTF-16LE/BE and windows-1252: the host does the
 * byte work, the guest keeps the stream state and drops the BOM.
 */

const lengthOf = (u8: Uint8Array) => callWith(TypedArrayPrototypeGetLength, u8);

export class TextEncoder {
  get encoding(): string {
    return 'utf-8';
  }

  encode(input: unknown = ''): Uint8Array {
    const s = String(input);
    return s ? new Uint8Array(call('utf8Encode', s)) : new Uint8Array(0);
  }

  /** Writes whole characters only, in the guest: no host round trip, and `read` counts UTF-16 units. */
  encodeInto(source: unknown, dest: Uint8Array): { read: number; written: number } {
    if (!isUint8Array(dest)) throw new TypeError('encodeInto: destination must be a Uint8Array');
    const s = String(source);
    const room = lengthOf(dest);
    let read = 0;
    let written = 0;
    while (read < s.length) {
      let c = callWith(StringPrototypeCodePointAt, s, read)!;
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      const n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      if (written + n > room) break;
      if (n === 1) dest[written] = c;
      else {
        dest[written] = (0xf0 << (4 - n)) | (c >> (6 * (n - 1)));
        for (let k = 1; k < n; k++) dest[written + k] = 0x80 | ((c >> (6 * (n - 1 - k))) & 0x3f);
      }
      written += n;
      read += c > 0xffff ? 2 : 1;
    }
    return { read, written };
  }
}

/** The WHATWG Encoding Standard's labels of the encodings decoded here. */
const LABELS: Record<string, string> = {
  __proto__: null,
  'unicode-1-1-utf-8': 'utf-8', unicode11utf8: 'utf-8', unicode20utf8: 'utf-8', 'utf-8': 'utf-8', utf8: 'utf-8', 'x-unicode20utf8': 'utf-8',
  unicodefffe: 'utf-16be', 'utf-16be': 'utf-16be',
  csunicode: 'utf-16le', 'iso-10646-ucs-2': 'utf-16le', 'ucs-2': 'utf-16le', unicode: 'utf-16le', unicodefeff: 'utf-16le', 'utf-16': 'utf-16le', 'utf-16le': 'utf-16le',
  'ansi_x3.4-1968': 'windows-1252', ascii: 'windows-1252', cp1252: 'windows-1252', cp819: 'windows-1252', csisolatin1: 'windows-1252',
  ibm819: 'windows-1252', 'iso-8859-1': 'windows-1252', 'iso-ir-100': 'windows-1252', 'iso8859-1': 'windows-1252', iso88591: 'windows-1252',
  'iso_8859-1': 'windows-1252', 'iso_8859-1:1987': 'windows-1252', l1: 'windows-1252', latin1: 'windows-1252', 'us-ascii': 'windows-1252',
  'windows-1252': 'windows-1252', 'x-cp1252': 'windows-1252',
} as any;

const isAsciiSpace = (c: number) => c === 9 || c === 10 || c === 12 || c === 13 || c === 32;

/** get an encoding: the label without leading and trailing ASCII whitespace, ASCII case-insensitively. */
function encodingOf(label: string): string | undefined {
  let start = 0;
  let end = label.length;
  while (start < end && isAsciiSpace(callWith(StringPrototypeCharCodeAt, label, start))) start++;
  while (end > start && isAsciiSpace(callWith(StringPrototypeCharCodeAt, label, end - 1))) end--;
  return LABELS[callWith(StringPrototypeToLowerCase, callWith(StringPrototypeSlice, label, start, end))];
}

/**
 * How many bytes at the end of `b` (of length `n`) begin a UTF-8 sequence that more bytes could
 * still complete, kept back while streaming. A prefix that is already invalid (a bad lead byte, or a
 * second byte outside the range its lead allows) is not kept: it decodes to U+FFFD at once.
 */
function incompleteTail(b: Uint8Array, n: number): number {
  for (let k = 1; k <= MathMin(3, n); k++) {
    const x = b[n - k]!;
    if ((x & 0xc0) === 0x80) continue;
    const need = x >= 0xc2 && x <= 0xdf ? 2 : x >= 0xe0 && x <= 0xef ? 3 : x >= 0xf0 && x <= 0xf4 ? 4 : 1;
    if (need <= k) return 0;
    if (k > 1) {
      const y = b[n - k + 1]!;
      const lo = x === 0xe0 ? 0xa0 : x === 0xf0 ? 0x90 : 0x80;
      const hi = x === 0xed ? 0x9f : x === 0xf4 ? 0x8f : 0xbf;
      if (y < lo || y > hi) return 0;
    }
    return k;
  }
  return 0;
}

/**
 * How many bytes at the end of `n` bytes of UTF-16 to keep back while streaming: an odd byte, and a
 * lead surrogate whose trail may come with the next chunk.
 */
function utf16Tail(b: Uint8Array, n: number, be: boolean): number {
  const odd = n & 1;
  const m = n - odd;
  if (m < 2) return odd;
  const unit = be ? (b[m - 2]! << 8) | b[m - 1]! : (b[m - 1]! << 8) | b[m - 2]!;
  return unit >= 0xd800 && unit <= 0xdbff ? odd + 2 : odd;
}

export class TextDecoder {
  #encoding: string;
  #fatal: boolean;
  #ignoreBOM: boolean;
  #pending: Uint8Array | null = null;
  #bomSeen = false;
  #doNotFlush = false;

  constructor(label: unknown = 'utf-8', options: { fatal?: boolean; ignoreBOM?: boolean } = {}) {
    const encoding = encodingOf(String(label));
    if (encoding === undefined) throw new RangeError('The "' + String(label) + '" encoding is not supported');
    this.#encoding = encoding;
    this.#fatal = !!options?.fatal;
    this.#ignoreBOM = !!options?.ignoreBOM;
  }

  get encoding(): string {
    return this.#encoding;
  }
  get fatal(): boolean {
    return this.#fatal;
  }
  get ignoreBOM(): boolean {
    return this.#ignoreBOM;
  }

  decode(input?: unknown, options?: { stream?: boolean }): string {
    let bytes = input === undefined || input === null ? new Uint8Array(0) : viewBytes(input, 'decode: input');
    // a call after a flushing one starts a new stream (the Encoding Standard's "do not flush")
    if (!this.#doNotFlush) {
      this.#pending = null;
      this.#bomSeen = false;
    }
    const stream = !!options?.stream;
    this.#doNotFlush = stream;
    let n = lengthOf(bytes);
    const pending = this.#pending;
    if (pending) {
      const kept = lengthOf(pending);
      const joined = new Uint8Array(kept + n);
      callWith(TypedArrayPrototypeSet, joined, pending);
      callWith(TypedArrayPrototypeSet, joined, bytes, kept);
      bytes = joined;
      n += kept;
      this.#pending = null;
    }
    const encoding = this.#encoding;
    // the host decodes (UTF-8 and UTF-16 by Node, windows-1252 by its index); a BOM is handled here
    if (encoding === 'windows-1252') return n ? call('textDecode', encoding, subBytes(bytes, 0, n), false) : '';
    const left = !stream ? 0 : encoding === 'utf-8' ? incompleteTail(bytes, n) : utf16Tail(bytes, n, encoding === 'utf-16be');
    const body = subBytes(bytes, 0, n - left);
    let text: string = n - left === 0 ? '' : encoding === 'utf-8' ? call('utf8Decode', body, this.#fatal, true) : call('textDecode', encoding, body, this.#fatal);
    if (left) this.#pending = new Uint8Array(subBytes(bytes, n - left, n));
    // a BOM is dropped once, at the start of a stream, and only before any text
    if (!this.#ignoreBOM && !this.#bomSeen && text.length) {
      this.#bomSeen = true;
      if (callWith(StringPrototypeCharCodeAt, text, 0) === 0xfeff) text = callWith(StringPrototypeSlice, text, 1);
    }
    return text;
  }
}

named(TextEncoder, 'TextEncoder');
named(TextDecoder, 'TextDecoder');
