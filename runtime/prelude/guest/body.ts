import { sortAndCombine, type HeaderList } from './headers.ts';
import { call } from './host.ts';
import { loaded, need } from './lazy.ts';
import { typedArrayKind } from './safe.ts';
import { copyBytes, exactBuffer, isBufferSource } from './util.ts';

/**
 * A body is kept in the form it arrived in: a string stays a string until someone asks for bytes, so
 * `new Response("hi")` → `text()` never crosses to the host, and a string response body leaves the
 * guest as the string itself. A body the host streams (a request body still arriving, a fetch
 * response) is its host stream's id, a number, until the guest reads it: text() and the like read it
 * straight from the host, and a Response that passes it on untouched hands the host its own stream
 * back. Only `.body` (or a stream given to a constructor) makes a ReadableStream (the stream chunk);
 * from then on that stream is the source.
 *
 * Request and Response each keep all their state in one array behind one private field: QuickJS
 * builds an array literal several times faster than an object literal or a set of private fields,
 * and construction is the hot path of every request. The first slots, the body and headers, are
 * laid out the same in both, so the helpers here serve either.
 */
/** A string or bytes kept whole, a host stream's id, a ReadableStream, or null. */
export type BodySource = string | Uint8Array | number | object | null;

/** The body source; whether it was read; the `body` stream once made (then also the source). */
export const SRC = 0;
export const USED = 1;
export const STREAM = 2;
/**
 * The Headers object, created on first touch of `.headers`; until then the list it would hold (an
 * incoming request's may still be the host's JSON text of `[name, value]` pairs); whether that
 * Headers object is immutable.
 */
export const HEADERS = 3;
export const HLIST = 4;
export const IMMUTABLE = 5;

export type State = any[];

/** `[name, value]` pairs from the host (or their JSON text) as a header list. */
export function pairsToList(pairs: string | unknown[][]): HeaderList {
  if (typeof pairs === 'string') pairs = JSONParse(pairs) as unknown[][];
  const list: HeaderList = [];
  for (let i = 0, j = 0; i < pairs.length; i++, j += 2) {
    const p = pairs[i]!;
    list[j] = callWith(StringPrototypeToLowerCase, String(p[0]));
    list[j + 1] = String(p[1]);
  }
  return list;
}

function listOf(s: State): HeaderList {
  const l = s[HLIST];
  return typeof l === 'string' ? (s[HLIST] = pairsToList(l)) : l;
}

/** `.headers`: the Headers object, made (and the headers chunk loaded) on first use. */
export function headersOf(s: State): any {
  return (s[HEADERS] ??= need('headers').fromList(listOf(s), s[IMMUTABLE]));
}

/** The current headers, sorted and combined, without making a Headers object (do not modify). */
export function currentList(s: State): HeaderList {
  const h = s[HEADERS];
  return h ? loaded.headers.sortedListOf(h) : sortAndCombine(listOf(s));
}

/** Each class registers how to find its state, so `stateOf` works on either without `instanceof`. */
const brands: ((x: object) => State | undefined)[] = [];

export function addBrand(read: (x: object) => State | undefined): void {
  brands[brands.length] = read;
}

export function stateOf(x: unknown): State {
  if (typeof x === 'object' && x !== null) {
    for (let i = 0; i < brands.length; i++) {
      const s = brands[i]!(x);
      if (s !== undefined) return s;
    }
  }
  throw new TypeError('Illegal invocation: not a Request or Response');
}

/** A source held whole (null, a string, bytes), as opposed to a host stream or a ReadableStream. */
export const isWhole = (src: BodySource): src is string | Uint8Array | null =>
  src === null || typeof src === 'string' || (typeof src === 'object' && typedArrayKind(src) === 'Uint8Array');

const isStreamObject = (src: BodySource): boolean => typeof src === 'object' && src !== null && typedArrayKind(src) === undefined;

/** Takes the source for reading it all (or handing it on) and marks the body used; throws if it cannot be read. */
export function consume(s: State): BodySource {
  const src = s[SRC];
  if (isStreamObject(src)) {
    const st = loaded.stream;
    if (s[USED] || st.isDisturbed(src)) throw new TypeError('Body has already been used');
    if (st.isLocked(src)) throw new TypeError('Body is locked by a reader');
    s[USED] = true;
    return src;
  }
  if (s[USED]) throw new TypeError('Body has already been used');
  if (src !== null) s[USED] = true;
  return src;
}

/** All of a source that is not held whole: a host stream or a ReadableStream, read to its end. */
export function readWhole(src: BodySource): Promise<Uint8Array> {
  return typeof src === 'number' ? readHost(src) : need('stream').readAll(src);
}

/**
 * All of a host stream, read here in the core (text() of a streamed request body needs no stream
 * chunk): `whole` asks the host for everything left in one piece, under its buffering cap.
 */
export async function readHost(id: number): Promise<Uint8Array> {
  const all: ArrayBuffer | null = await call('streamRead', id, true);
  return all === null ? new Uint8Array(0) : new Uint8Array(all);
}

export function cloneSource(s: State): BodySource {
  const src = s[SRC];
  if (s[USED] || (isStreamObject(src) && loaded.stream.isDisturbed(src))) throw new TypeError('Body has already been used');
  if (src === null || typeof src === 'string') return src;
  if (typedArrayKind(src) === 'Uint8Array') return new Uint8Array(src as Uint8Array);
  // a stream is teed: this body keeps one branch, the clone gets the other
  const pair = need('stream').teeSource(src);
  s[SRC] = s[STREAM] = pair[0];
  return pair[1];
}

export const takeBody = (b: object): BodySource => consume(stateOf(b));
export const bodyUsed = (b: object): boolean => {
  const s = stateOf(b);
  const src = s[SRC];
  return s[USED] || (isStreamObject(src) && loaded.stream.isDisturbed(src));
};

/** `.body`: a ReadableStream, made on first use; from then on it is the source. */
export function bodyStream(b: object): any {
  const s = stateOf(b);
  const src = s[SRC];
  if (src === null || isStreamObject(src)) return src;
  return (s[SRC] = s[STREAM] = need('stream').streamOf(src, s[USED]));
}
export const hasBody = (b: object): boolean => stateOf(b)[SRC] !== null;

/**
 * A body read whole, mapped (`withList`: the map also gets the header list, as it was before the
 * read). The body methods return this promise as it is: an async method returning a promise would
 * resolve its own with it, and that asks the promise for `then`, a method the guest can patch.
 */
async function readAs<T>(b: object, map: (src: string | Uint8Array | null, list: HeaderList) => T, withList?: boolean): Promise<T> {
  const s = stateOf(b);
  const list = withList ? currentList(s) : (undefined as unknown as HeaderList);
  const src = consume(s);
  return map(isWhole(src) ? src : await readWhole(src), list);
}
const asBuffer = (src: string | Uint8Array | null) => exactBuffer(toBytes(src));
const asJson = (src: string | Uint8Array | null) => JSONParse(toText(src));
const asBlob = (src: string | Uint8Array | null, list: HeaderList) => need('blob').fromBody(src, list);
const asFormData = (src: string | Uint8Array | null, list: HeaderList) => need('form-data').fromBody(src, list);

/** The body mixin of Request and Response (their common prototype, as the Fetch spec's mixin). */
export class Body {
  get body(): any {
    return bodyStream(this);
  }

  get bodyUsed(): boolean {
    return bodyUsed(this);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return readAs(this, asBuffer);
  }

  bytes(): Promise<Uint8Array> {
    return readAs(this, toBytes);
  }

  text(): Promise<string> {
    return readAs(this, toText);
  }

  json(): Promise<any> {
    return readAs(this, asJson);
  }

  /** Blob and FormData are chunks: each makes its object from the consumed source and the header list. */
  blob(): Promise<any> {
    return readAs(this, asBlob, true);
  }

  formData(): Promise<any> {
    return readAs(this, asFormData, true);
  }
}

const TEXT_PLAIN = 'text/plain;charset=UTF-8';
const FORM = 'application/x-www-form-urlencoded;charset=UTF-8';

export function toBytes(src: string | Uint8Array | null): Uint8Array {
  if (src === null) return new Uint8Array(0);
  if (typeof src === 'string') return src === '' ? new Uint8Array(0) : new Uint8Array(call('utf8Encode', src));
  return src;
}

export function toText(src: string | Uint8Array | null): string {
  if (src === null) return '';
  if (typeof src === 'string') return src;
  return callWith(TypedArrayPrototypeGetLength, src) === 0 ? '' : call('utf8Decode', src, false, false);
}

/** The Fetch spec's "extract a body": the source to keep and the Content-Type it implies. */
export function extractBody(init: unknown): [BodySource, string | null] {
  if (init == null) return [null, null];
  if (typeof init === 'string') return [init, TEXT_PLAIN];
  if (isBufferSource(init)) return [copyBytes(init), null];
  // Blob (File) and FormData: their chunks answer for their own objects (by private brand), if loaded
  const made = loaded.blob?.toBody(init) ?? loaded['form-data']?.toBody(init);
  if (made !== undefined) return made;
  // the stream and URLSearchParams chunks answer for their own objects (by brand), if loaded
  const st = loaded.stream;
  if (st && st.isReadableStream(init)) {
    if (st.isLocked(init) || st.isDisturbed(init)) throw new TypeError('Failed to construct body: the ReadableStream is locked or disturbed');
    return [init as object, null];
  }
  const form: string | undefined = loaded.url?.serializeParams(init);
  if (form !== undefined) return [form, FORM];
  return [String(init), TEXT_PLAIN];
}

export { TEXT_PLAIN };
