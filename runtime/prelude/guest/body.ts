import { sortAndCombine, type HeaderList } from './headers.ts';
import { call } from './host.ts';
import { loaded, need } from './lazy.ts';
import { copyBytes, exactBuffer, isBufferSource } from './util.ts';

/**
 * A body is kept whole, in the form it arrived in: a string stays a string until someone asks for
 * bytes, so `new Response("hi")` → `text()` never crosses to the host, and a string response body
 * leaves the guest as the string itself. There is no streaming; `body` offers a minimal one-chunk
 * ReadableStream look-alike (stream.ts) for code that reads or forwards it.
 *
 * Request and Response each keep all their state in one array behind one private field: QuickJS
 * builds an array literal several times faster than an object literal or a set of private fields,
 * and construction is the hot path of every request. The first slots, the body and headers, are
 * laid out the same in both, so the helpers here serve either.
 */
export type BodySource = string | Uint8Array | null;

/** The body source; whether it was read; the `body` stream once created. */
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

/** Reads the whole source and marks the body used; `reader` is the body's own stream reading it. */
export function consume(s: State, reader?: boolean): BodySource {
  if (s[USED]) throw new TypeError('Body has already been used');
  if (!reader && s[STREAM] && loaded.stream.isLocked(s[STREAM])) throw new TypeError('Body is locked by a reader');
  const src = s[SRC];
  if (src !== null) s[USED] = true;
  return src;
}

export function cloneSource(s: State): BodySource {
  if (s[USED]) throw new TypeError('Body has already been used');
  const src = s[SRC];
  return src !== null && typeof src === 'object' ? new Uint8Array(src) : src;
}

export const takeBody = (b: object, reader?: boolean): BodySource => consume(stateOf(b), reader);
export const bodyUsed = (b: object): boolean => stateOf(b)[USED];

/** `.body`: the stream look-alike, made on first use. */
export function bodyStream(b: object): any {
  const s = stateOf(b);
  if (s[SRC] === null) return null;
  return (s[STREAM] ??= need('stream').bodyStream(b));
}
export const hasBody = (b: object): boolean => stateOf(b)[SRC] !== null;

/** The body mixin of Request and Response (their common prototype, as the Fetch spec's mixin). */
export class Body {
  /** The stream look-alike is a chunk: most handlers read bodies with text()/json(), never through `body`. */
  get body(): any {
    return bodyStream(this);
  }

  get bodyUsed(): boolean {
    return stateOf(this)[USED];
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return exactBuffer(toBytes(consume(stateOf(this))));
  }

  async bytes(): Promise<Uint8Array> {
    return toBytes(consume(stateOf(this)));
  }

  async text(): Promise<string> {
    return toText(consume(stateOf(this)));
  }

  async json(): Promise<any> {
    return JSONParse(toText(consume(stateOf(this))));
  }

  /** Blob and FormData are chunks: each makes its object from the consumed source and the header list. */
  async blob(): Promise<any> {
    const s = stateOf(this);
    return need('blob').fromBody(consume(s), currentList(s));
  }

  async formData(): Promise<any> {
    const s = stateOf(this);
    return need('form-data').fromBody(consume(s), currentList(s));
  }
}

const TEXT_PLAIN = 'text/plain;charset=UTF-8';
const FORM = 'application/x-www-form-urlencoded;charset=UTF-8';

export function toBytes(src: BodySource): Uint8Array {
  if (src === null) return new Uint8Array(0);
  if (typeof src === 'string') return src === '' ? new Uint8Array(0) : new Uint8Array(call('utf8Encode', src));
  return src;
}

export function toText(src: BodySource): string {
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
  // the stream and URLSearchParams chunks answer for their own objects (by private brand), if loaded
  const taken = loaded.stream?.takeStream(init);
  if (taken !== undefined) return [taken, null];
  const form: string | undefined = loaded.url?.serializeParams(init);
  if (form !== undefined) return [form, FORM];
  return [String(init), TEXT_PLAIN];
}

export { TEXT_PLAIN };
