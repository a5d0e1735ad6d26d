import { call } from './host.ts';
import { loaded, need } from './lazy.ts';
import { copyBytes, exactBuffer, isBufferSource } from './util.ts';

/**
 * A body is kept whole, in the form it arrived in: a string stays a string until someone asks for
 * bytes, so `new Response("hi")` → `text()` never crosses to the host. There is no streaming; `body`
 * offers a minimal one-chunk ReadableStream look-alike (stream.ts) for code that reads or forwards it.
 */
export type BodySource = string | Uint8Array | null;

/** Reads the whole source and marks the body used; `reader` is the body's own stream reading it. */
export let takeBody: (b: Body, reader?: boolean) => BodySource;
export let cloneBody: (b: Body) => BodySource;
/** Whether there is a body, without creating the `body` stream. */
export let hasBody: (b: Body) => boolean;

const TEXT_PLAIN = 'text/plain;charset=UTF-8';
const FORM = 'application/x-www-form-urlencoded;charset=UTF-8';

export class Body {
  #src: BodySource;
  #used = false;
  #stream: any = null;

  constructor(src: BodySource) {
    this.#src = src;
  }

  /** The stream look-alike is a chunk: most handlers read bodies with text()/json(), never through `body`. */
  get body(): any {
    if (this.#src === null) return null;
    return (this.#stream ??= need('stream').bodyStream(this));
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return exactBuffer(toBytes(this.#consume()));
  }

  async bytes(): Promise<Uint8Array> {
    return toBytes(this.#consume());
  }

  async text(): Promise<string> {
    return toText(this.#consume());
  }

  async json(): Promise<any> {
    return JSON.parse(toText(this.#consume()));
  }

  #consume(reader = false): BodySource {
    if (this.#used) throw new TypeError('Body has already been used');
    if (!reader && this.#stream?.locked) throw new TypeError('Body is locked by a reader');
    if (this.#src !== null) this.#used = true;
    return this.#src;
  }

  static {
    takeBody = (b, reader) => b.#consume(reader);
    hasBody = (b) => b.#src !== null;
    cloneBody = (b) => {
      if (b.#used) throw new TypeError('Body has already been used');
      return b.#src instanceof Uint8Array ? b.#src.slice() : b.#src;
    };
  }
}

export function toBytes(src: BodySource): Uint8Array {
  if (src === null) return new Uint8Array(0);
  if (typeof src === 'string') return src === '' ? new Uint8Array(0) : new Uint8Array(call('utf8Encode', src));
  return src;
}

export function toText(src: BodySource): string {
  if (src === null) return '';
  if (typeof src === 'string') return src;
  return src.length === 0 ? '' : call('utf8Decode', src, false, false);
}

/** The Fetch spec's "extract a body": the source to keep and the Content-Type it implies. */
export function extractBody(init: unknown): [BodySource, string | null] {
  if (init == null) return [null, null];
  if (typeof init === 'string') return [init, TEXT_PLAIN];
  if (isBufferSource(init)) return [copyBytes(init), null];
  const Stream = loaded.stream?.ReadableStream;
  if (Stream && init instanceof Stream) return [(init as any).take(), null];
  const USP = loaded.url?.URLSearchParams;
  if (USP && init instanceof USP) return [String(init), FORM];
  return [String(init), TEXT_PLAIN];
}
