import { call } from './host.ts';
import { isUint8Array } from './safe.ts';
import { named, subBytes, viewBytes } from './util.ts';

/** UTF-8 only, as on Workers; the host does the byte work, the guest keeps the stream state. */

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

const LABELS = ['utf-8', 'utf8', 'unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'x-unicode20utf8'];

/** Bytes of an incomplete UTF-8 sequence at the end of `b` (of length `n`), kept back while streaming. */
function incompleteTail(b: Uint8Array, n: number): number {
  for (let k = 1; k <= MathMin(3, n); k++) {
    const x = b[n - k]!;
    if ((x & 0xc0) !== 0x80) {
      const need = x >= 0xf0 ? 4 : x >= 0xe0 ? 3 : x >= 0xc0 ? 2 : 1;
      return need > k ? k : 0;
    }
  }
  return 0;
}

export class TextDecoder {
  #fatal: boolean;
  #ignoreBOM: boolean;
  #pending: Uint8Array | null = null;
  #started = false;

  constructor(label: unknown = 'utf-8', options: { fatal?: boolean; ignoreBOM?: boolean } = {}) {
    const l = callWith(StringPrototypeToLowerCase, callWith(StringPrototypeTrim, String(label)));
    if (!callWith(ArrayPrototypeIncludes, LABELS, l)) throw new RangeError('The "' + String(label) + '" encoding is not supported');
    this.#fatal = !!options?.fatal;
    this.#ignoreBOM = !!options?.ignoreBOM;
  }

  get encoding(): string {
    return 'utf-8';
  }
  get fatal(): boolean {
    return this.#fatal;
  }
  get ignoreBOM(): boolean {
    return this.#ignoreBOM;
  }

  decode(input?: unknown, options?: { stream?: boolean }): string {
    let bytes = input === undefined || input === null ? new Uint8Array(0) : viewBytes(input, 'decode: input');
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
    const stream = !!options?.stream;
    if (stream) {
      const tail = incompleteTail(bytes, n);
      if (tail) {
        this.#pending = new Uint8Array(subBytes(bytes, n - tail, n));
        n -= tail;
        bytes = subBytes(bytes, 0, n);
      }
    }
    // a BOM is only a BOM at the very start of the stream
    const ignoreBOM = this.#ignoreBOM || this.#started;
    this.#started = stream && (this.#started || n > 0);
    if (!n) return '';
    return call('utf8Decode', bytes, this.#fatal, ignoreBOM);
  }
}

named(TextEncoder, 'TextEncoder');
named(TextDecoder, 'TextDecoder');
