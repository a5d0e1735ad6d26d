import { FaasError, fromWire, toWire, type WireError } from '../../contract/errors.ts';
import { MAX_CHUNK, type ByteSource } from '../body-stream.ts';

/**
 * Body streams across the thread boundary, the same on both sides: a side *exports* a ByteSource it
 * holds (the gateway a request body, a worker a response body) and the other side *imports* it as a
 * ByteSource that asks for chunks. Credit-based: the importer asks for at most WINDOW chunks ahead of
 * its reader (one `pull` message per chunk it is ready to hold), the exporter reads its source once
 * per `pull`, so a stream never has more than WINDOW chunks of MAX_CHUNK in flight between threads,
 * and a reader that stops stops the source. Chunks travel in the transfer list.
 */
export type StreamMessage =
  /** Credit for one more chunk of the sender's import `stream` (an export of the receiver). */
  | { t: 'pull'; stream: number }
  /** The importer gives up: cancel the export. */
  | { t: 'cancel'; stream: number; reason: string }
  /** One chunk of the receiver's import, or null at its end. */
  | { t: 'chunk'; stream: number; chunk: Uint8Array | null }
  /** The receiver's import failed. */
  | { t: 'fail'; stream: number; error: WireError };

/** Chunks an importer asks for ahead of its reader. */
const WINDOW = 2;

interface Export {
  source: ByteSource;
  /** Pulls not served yet. */
  credit: number;
  busy: boolean;
}

type Post = (msg: StreamMessage, transfer?: ArrayBuffer[]) => void;

export class StreamPort {
  private readonly exported = new Map<number, Export>();
  private readonly imported = new Map<number, RemoteSource>();
  private nextId = 1;
  private closedWith: FaasError | undefined;

  constructor(private readonly post: Post) {}

  /** Serves `source` to the other side; returns the id it asks for it by. */
  export(source: ByteSource): number {
    const id = this.nextId++;
    if (this.closedWith) {
      source.cancel(this.closedWith.message);
      return id;
    }
    this.exported.set(id, { source, credit: 0, busy: false });
    return id;
  }

  /** The other side's export `id`, as a ByteSource here. */
  import(id: number): ByteSource {
    const remote = new RemoteSource(id, this.post, () => this.imported.delete(id));
    if (this.closedWith) remote.fail(this.closedWith);
    else this.imported.set(id, remote);
    return remote;
  }

  /** Handles a stream message; false for any other message. Never throws for a malformed one. */
  handle(msg: { t: string } & Record<string, unknown>): boolean {
    switch (msg.t) {
      case 'pull': {
        const e = this.exported.get(msg.stream as number);
        if (e) {
          e.credit++;
          this.serve(msg.stream as number, e);
        }
        return true;
      }
      case 'cancel': {
        const e = this.exported.get(msg.stream as number);
        if (e) {
          this.exported.delete(msg.stream as number);
          e.source.cancel(typeof msg.reason === 'string' ? msg.reason : 'cancelled');
        }
        return true;
      }
      case 'chunk': {
        const chunk = msg.chunk;
        const bytes = chunk === null ? null : chunk instanceof Uint8Array ? chunk : chunk instanceof ArrayBuffer ? new Uint8Array(chunk) : undefined;
        const remote = this.imported.get(msg.stream as number);
        if (!remote) return true;
        if (bytes === undefined || (bytes && bytes.byteLength > MAX_CHUNK)) remote.fail(new FaasError('internal_error', 'malformed body chunk from another thread'));
        else remote.deliver(bytes);
        return true;
      }
      case 'fail':
        this.imported.get(msg.stream as number)?.fail(fromWire(msg.error as WireError));
        return true;
    }
    return false;
  }

  /** The other side is gone: every import fails with `err`, every export is cancelled. */
  close(err: FaasError): void {
    this.closedWith = err;
    for (const r of this.imported.values()) r.fail(err);
    this.imported.clear();
    for (const e of this.exported.values()) e.source.cancel(err.message);
    this.exported.clear();
  }

  private serve(id: number, e: Export): void {
    if (e.busy || e.credit === 0) return;
    e.busy = true;
    e.credit--;
    e.source.read().then(
      (chunk) => {
        e.busy = false;
        if (this.exported.get(id) !== e) return;
        if (chunk === null) {
          this.exported.delete(id);
          this.post({ t: 'chunk', stream: id, chunk: null });
          return;
        }
        // transferred when the chunk is its whole buffer, else copied into one that is
        const own = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : chunk.slice();
        this.post({ t: 'chunk', stream: id, chunk: own }, [own.buffer as ArrayBuffer]);
        this.serve(id, e);
      },
      (err) => {
        e.busy = false;
        if (this.exported.get(id) !== e) return;
        this.exported.delete(id);
        this.post({ t: 'fail', stream: id, error: toWire(err) });
      },
    );
  }
}

class RemoteSource implements ByteSource {
  private readonly buffered: (Uint8Array | null)[] = [];
  private outstanding = 0;
  private ended = false;
  private failure: unknown;
  private waiter: { resolve: (c: Uint8Array | null) => void; reject: (e: unknown) => void } | undefined;

  constructor(
    private readonly id: number,
    private readonly post: Post,
    private readonly forget: () => void,
  ) {}

  read(): Promise<Uint8Array | null> {
    if (this.buffered.length > 0) {
      const chunk = this.buffered.shift()!;
      if (chunk === null) this.end();
      else this.refill();
      return Promise.resolve(chunk);
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.refill();
    });
  }

  cancel(reason = 'cancelled'): void {
    if (this.ended) return;
    this.end();
    this.buffered.length = 0;
    this.post({ t: 'cancel', stream: this.id, reason });
  }

  deliver(chunk: Uint8Array | null): void {
    if (this.ended) return;
    this.outstanding = Math.max(0, this.outstanding - 1);
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      if (chunk === null) this.end();
      else this.refill();
      w.resolve(chunk);
    } else this.buffered.push(chunk);
  }

  fail(err: unknown): void {
    if (this.ended) return;
    this.failure = err;
    this.end();
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }

  private end(): void {
    this.ended = true;
    this.forget();
  }

  private refill(): void {
    while (!this.ended && this.outstanding + this.buffered.length < WINDOW) {
      this.outstanding++;
      this.post({ t: 'pull', stream: this.id });
    }
  }
}
