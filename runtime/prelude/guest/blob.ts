import { call, internals } from './host.ts';
import { contentTypeOf, extractMime, serializeMime } from './mime.ts';
import { dataDescriptor, hardenRegExp, listFrom, regexReplace, regexTest } from './safe.ts';
import { copyBytes, isBufferSource, named, subBytes } from './util.ts';

/**
 * Blob and File (the File API). A Blob's bytes are one Uint8Array that nobody else holds and nobody
 * writes: `slice()` is a view on the same bytes, a File made from a Blob (FormData's append) shares
 * them, and a File parsed out of a multipart body is a view on that body. Every way out (`bytes()`,
 * `arrayBuffer()`, `stream()`, a body made from the Blob) hands out a copy.
 */

/** Lets this module build a Blob or File from bytes it already owns, skipping argument conversion. */
const TRUSTED = {};
const EMPTY = new Uint8Array(0);

const lengthOf = (u8: Uint8Array) => callWith(TypedArrayPrototypeGetLength, u8);
/** Strings cross Web IDL as USVStrings: lone surrogates become U+FFFD. */
const usv = (v: unknown) => callWith(StringPrototypeToWellFormed, String(v));

const NOT_PRINTABLE = hardenRegExp(/[^\x20-\x7e]/);
const LINE_BREAKS = hardenRegExp(/\r\n|\r/g);

/** A Blob type: lower-cased, or empty if any character is outside U+0020–U+007E. */
export const blobType = (t: string) => (regexTest(NOT_PRINTABLE, t) ? '' : callWith(StringPrototypeToLowerCase, t));

const encode = (s: string) => (s === '' ? EMPTY : new Uint8Array(call('utf8Encode', s)));

/** Web IDL's sequence<BlobPart>, converted in order: a Blob's bytes, a copy of a buffer's, or a USVString. */
function convertParts(parts: unknown, what: string): (Uint8Array | string)[] {
  if ((typeof parts !== 'object' && typeof parts !== 'function') || parts === null) {
    throw new TypeError("Failed to construct '" + what + "': The provided value cannot be converted to a sequence.");
  }
  const list = listFrom(parts);
  if (list === undefined) throw new TypeError("Failed to construct '" + what + "': The object must have a callable @@iterator property.");
  const out: (Uint8Array | string)[] = [];
  for (let i = 0; i < list.length; i++) {
    const p = list[i];
    const own = blobState(p);
    out[i] = own !== undefined ? own[0] : isBufferSource(p) ? copyBytes(p) : usv(p);
  }
  return out;
}

/** BlobPropertyBag, members in Web IDL order: `[type, native line endings]`. */
function readBag(options: any, what: string): [string, boolean] {
  if (options == null) return ['', false];
  if (typeof options !== 'object' && typeof options !== 'function') throw new TypeError("Failed to construct '" + what + "': The provided value is not of type 'BlobPropertyBag'.");
  const endings = options.endings;
  let native = false;
  if (endings !== undefined) {
    const e = String(endings);
    if (e === 'native') native = true;
    else if (e !== 'transparent') throw new TypeError("Failed to construct '" + what + "': The provided value '" + e + "' is not a valid enum value of type EndingType.");
  }
  const type = options.type;
  return [type === undefined ? '' : blobType(String(type)), native];
}

/** The bytes of converted parts: adjacent strings encoded in one host call, everything copied into one array. */
function joinParts(parts: (Uint8Array | string)[], native: boolean): Uint8Array {
  const chunks: Uint8Array[] = [];
  let text = '';
  let total = 0;
  for (let i = 0; i <= parts.length; i++) {
    const p = i < parts.length ? parts[i]! : EMPTY;
    if (typeof p === 'string') {
      // "native" line endings are LF: the platform the guest runs on is POSIX
      text += native ? regexReplace(LINE_BREAKS, p, '\n') : p;
      continue;
    }
    if (text !== '') {
      const b = encode(text);
      chunks[chunks.length] = b;
      total += lengthOf(b);
      text = '';
    }
    if (lengthOf(p)) {
      chunks[chunks.length] = p;
      total += lengthOf(p);
    }
  }
  // one part: a Blob's bytes are shared as they are, a copy or an encoding is already ours
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  for (let i = 0, at = 0; i < chunks.length; i++) {
    callWith(TypedArrayPrototypeSet, out, chunks[i]!, at);
    at += lengthOf(chunks[i]!);
  }
  return out;
}

/** Web IDL's [Clamp] long long, made relative to `size` as slice() says. */
function relativeIndex(v: unknown, size: number, fallback: number): number {
  if (v === undefined) return fallback;
  // ToNumber, as Web IDL converts: a BigInt or a Symbol is a TypeError (Number() would take a BigInt)
  let x = +(v as number);
  if (NumberIsNaN(x)) x = 0;
  x = MathMin(MathMax(x, -9007199254740991), 9007199254740991);
  const floor = MathFloor(x);
  const frac = x - floor;
  x = frac > 0.5 || (frac === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
  return x < 0 ? MathMax(size + x, 0) : MathMin(x, size);
}

/**
 * A stream of the bytes (a copy). With the one-chunk stream look-alike of stream.ts this is a body's
 * stream; once ReadableStream is real, this one line becomes a stream that enqueues the bytes.
 */
const streamOf = (bytes: Uint8Array): unknown => internals.bodyStream(new internals.Response(bytes));

/** The bytes and type of a Blob (or File), read through its private fields; undefined for anything else. */
export let blobState: (x: unknown) => [Uint8Array, string] | undefined;
export let makeBlob: (bytes: Uint8Array, type: string) => Blob;

export class Blob {
  #bytes: Uint8Array;
  #type: string;

  // `arguments`, not defaults: length stays 0 as Web IDL says
  constructor(blobParts?: unknown, options?: unknown);
  constructor() {
    const parts: unknown = arguments[0];
    const init: any = arguments[1];
    if (parts === TRUSTED) {
      this.#bytes = init[0];
      this.#type = init[1];
      return;
    }
    const list = parts === undefined ? [] : convertParts(parts, 'Blob');
    const bag = readBag(init, 'Blob');
    this.#bytes = joinParts(list, bag[1]);
    this.#type = bag[0];
  }

  get size(): number {
    return lengthOf(this.#bytes);
  }

  get type(): string {
    return this.#type;
  }

  slice(start?: unknown, end?: unknown, contentType?: unknown): Blob {
    const bytes = this.#bytes;
    const size = lengthOf(bytes);
    const from = relativeIndex(start, size, 0);
    const to = relativeIndex(end, size, size);
    const type = contentType === undefined ? '' : blobType(String(contentType));
    return new Blob(TRUSTED, [to > from ? subBytes(bytes, from, to) : EMPTY, type]);
  }

  async text(): Promise<string> {
    const bytes = this.#bytes;
    return lengthOf(bytes) ? call('utf8Decode', bytes, false, false) : '';
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return callWith(TypedArrayPrototypeGetBuffer, new Uint8Array(this.#bytes));
  }

  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(this.#bytes);
  }

  stream(): unknown {
    return streamOf(this.#bytes);
  }

  static {
    blobState = (x) => (typeof x === 'object' && x !== null && #bytes in x ? [x.#bytes, x.#type] : undefined);
    makeBlob = (bytes, type) => new Blob(TRUSTED, [bytes, type]);
  }
}

/** The name and lastModified of a File, read through its private fields; undefined for anything else. */
export let fileFields: (x: unknown) => [string, number] | undefined;
/** A File over bytes this module may share (a Blob's, a view on a parsed body). */
export let makeFile: (bytes: Uint8Array, type: string, name: string, lastModified: number) => File;

export class File extends Blob {
  #name: string;
  #lastModified: number;

  constructor(fileBits: unknown, fileName: unknown, options?: unknown);
  constructor() {
    const bits: unknown = arguments[0];
    const init: any = arguments[2];
    if (bits === TRUSTED) {
      super(TRUSTED, arguments[1]);
      this.#name = init[0];
      this.#lastModified = init[1];
      return;
    }
    if (arguments.length < 2) throw new TypeError("Failed to construct 'File': 2 arguments required, but only " + arguments.length + ' present.');
    const list = convertParts(bits, 'File');
    const name = usv(arguments[1]);
    const bag = readBag(init, 'File');
    // FilePropertyBag's own member comes after the inherited ones; `long long`: NaN and infinities are 0
    const lm = init == null ? undefined : init.lastModified;
    let lastModified = DateNow();
    if (lm !== undefined) {
      const x = +(lm as number);
      lastModified = NumberIsFinite(x) ? MathTrunc(x) : 0;
    }
    super(TRUSTED, [joinParts(list, bag[1]), bag[0]]);
    this.#name = name;
    this.#lastModified = lastModified;
  }

  get name(): string {
    return this.#name;
  }

  get lastModified(): number {
    return this.#lastModified;
  }

  static {
    fileFields = (x) => (typeof x === 'object' && x !== null && #name in x ? [x.#name, x.#lastModified] : undefined);
    makeFile = (bytes, type, name, lastModified) => new File(TRUSTED, [bytes, type], [name, lastModified]);
  }
}

named(Blob, 'Blob');
named(File, 'File');
// Web IDL: File takes two required arguments, slice() none
ObjectDefineProperty(File, 'length', dataDescriptor(2, false));
ObjectDefineProperty(Blob.prototype.slice, 'length', dataDescriptor(0, false));

/** A body made from a Blob: a copy of its bytes (a body's bytes may be handed out), and its type if any. */
export function extractBlob(x: unknown): [Uint8Array, string | null] | undefined {
  const state = blobState(x);
  if (state === undefined) return undefined;
  return [new Uint8Array(state[0]), state[1] === '' ? null : state[1]];
}

/** `body.blob()`: the bytes, typed by the body's Content-Type (parsed and serialized, as Fetch says). */
export function bodyBlob(src: unknown, headers: string[]): Blob {
  const mime = extractMime(contentTypeOf(headers));
  const bytes = internals.toBytes(src);
  return makeBlob(lengthOf(bytes) ? bytes : EMPTY, mime === null ? '' : blobType(serializeMime(mime)));
}
