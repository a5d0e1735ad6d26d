import { internals } from './host.ts';
import { named } from './util.ts';

/**
 * A body seen as a stream: one chunk, then done. Enough for `for await (const chunk of res.body)`,
 * `getReader().read()` and handing `res.body` to a new Response; no piping, no tee.
 */

type Owner = object;

/** Hands a stream's whole body over (to a new Request/Response; the owner counts as read), or undefined for anything else. */
export let takeStream: (x: unknown) => unknown;
export let isLocked: (stream: ReadableStream) => boolean;
let getReader: (this: ReadableStream) => { read(): Promise<{ done: boolean; value: Uint8Array | undefined }>; releaseLock(): void };

export class ReadableStream {
  #owner: Owner;
  #locked = false;

  constructor(owner: Owner) {
    this.#owner = owner;
  }

  get locked(): boolean {
    return this.#locked;
  }

  async cancel(): Promise<void> {
    if (!internals.bodyUsed(this.#owner)) internals.takeBody(this.#owner);
  }

  getReader() {
    if (this.#locked) throw new TypeError('ReadableStream is locked');
    this.#locked = true;
    let done = false;
    const release = () => {
      this.#locked = false;
    };
    return {
      read: async (): Promise<{ done: boolean; value: Uint8Array | undefined }> => {
        if (done) return { done: true, value: undefined };
        done = true;
        const bytes = internals.toBytes(internals.takeBody(this.#owner, true));
        return callWith(TypedArrayPrototypeGetLength, bytes) ? { done: false, value: bytes } : { done: true, value: undefined };
      },
      releaseLock: release,
      cancel: async () => {
        done = true;
        if (!internals.bodyUsed(this.#owner)) internals.takeBody(this.#owner, true);
      },
    };
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    const reader = callWith(getReader, this);
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) return;
        yield r.value!;
      }
    } finally {
      reader.releaseLock();
    }
  }

  static {
    getReader = ReadableStream.prototype.getReader;
    isLocked = (stream) => stream.#locked;
    takeStream = (x) => {
      if (typeof x !== 'object' || x === null || !(#owner in x)) return undefined;
      if (x.#locked) throw new TypeError('ReadableStream is locked');
      return internals.takeBody(x.#owner);
    };
  }
}

named(ReadableStream, 'ReadableStream');

export const bodyStream = (owner: Owner) => new ReadableStream(owner);
