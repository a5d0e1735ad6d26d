import { internals } from './host.ts';
import { named } from './util.ts';

/**
 * A body seen as a stream: one chunk, then done. Enough for `for await (const chunk of res.body)`,
 * `getReader().read()` and handing `res.body` to a new Response; no piping, no tee.
 */

type Owner = { bodyUsed: boolean };

export class ReadableStream {
  #owner: Owner;
  #locked = false;

  constructor(owner: Owner) {
    this.#owner = owner;
  }

  get locked(): boolean {
    return this.#locked;
  }

  /** Hands the whole body over (to a new Request/Response); the owner counts as read. */
  take(): unknown {
    if (this.#locked) throw new TypeError('ReadableStream is locked');
    return internals.takeBody(this.#owner);
  }

  async cancel(): Promise<void> {
    if (!this.#owner.bodyUsed) internals.takeBody(this.#owner);
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
        return bytes.length ? { done: false, value: bytes } : { done: true, value: undefined };
      },
      releaseLock: release,
      cancel: async () => {
        done = true;
        if (!this.#owner.bodyUsed) internals.takeBody(this.#owner, true);
      },
    };
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    const reader = this.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value!;
      }
    } finally {
      reader.releaseLock();
    }
  }
}

named(ReadableStream, 'ReadableStream');

export const bodyStream = (owner: Owner) => new ReadableStream(owner);
