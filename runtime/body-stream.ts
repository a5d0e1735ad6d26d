import { FaasError } from '../contract/errors.ts';
import { ZlibStream, type ZlibFormat } from './host/compression.ts';

/**
 * Streamed bodies on the host. Everything that streams is a ByteSource: pull-based, one read at a
 * time, so nothing is read (from a socket, an upstream, a guest, another thread) before the reader
 * wants it, and what is held in between is at most a chunk or two. A request body arriving from the
 * client, a fetch response from an upstream, a guest's ReadableStream the host pulls from, the proxy
 * of any of these on another thread: all the same interface.
 */
export interface ByteSource {
  /** The next chunk (at most MAX_CHUNK bytes), or null at the end; rejects when the stream failed. */
  read(): Promise<Uint8Array | null>;
  /** The reader gives up: stop producing and release what is held (a socket, an upstream). Idempotent. */
  cancel(reason?: string): void;
}

/** The largest chunk any ByteSource hands out: bounds what one stream holds in flight. */
export const MAX_CHUNK = 64 * 1024;

export function isByteSource(x: unknown): x is ByteSource {
  return typeof x === 'object' && x !== null && typeof (x as ByteSource).read === 'function' && typeof (x as ByteSource).cancel === 'function';
}

/** Everything a source yields, joined (what `faas run` and the tests do with a streamed response). */
export async function readAllBytes(source: ByteSource, limit = Infinity): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = await source.read();
    if (chunk === null) break;
    total += chunk.byteLength;
    if (total > limit) {
      source.cancel('too large');
      throw new FaasError('function_error', `the response body exceeds ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

export interface HostStreamOptions {
  /**
   * Bytes a guest may read with `whole` set (it buffers the body: text(), arrayBuffer() of a fetch
   * response): the host gathers them and hands them over in one piece; past it the read fails.
   * Streamed reads are not counted: they pass through.
   */
  maxBuffered?: number;
  /** The length the body declared (Content-Length): a whole read of a larger body is refused at once. */
  declaredLength?: number;
  /** Called once when a whole read is refused for its size (the egress counters count it). */
  onOverflow?: () => void;
  /** What the refusal says, e.g. "fetch to https://x failed: response body". */
  what?: string;
}

interface HostEntry {
  kind: 'host';
  source: ByteSource;
  opts: HostStreamOptions;
  buffered: number;
  reading: boolean;
  /** Handed over as the response body: the guest reads it no more. */
  taken: boolean;
}
interface GuestEntry {
  kind: 'guest';
  taken: boolean;
}
type Entry = HostEntry | GuestEntry;

export const STREAM_LIMITS = {
  /** Body streams one invocation may hold (request body, fetch responses, the response it returns). */
  perInvocation: 128,
  /** Compression handles one invocation may hold open. */
  zlibPerInvocation: 16,
} as const;

/**
 * Ids are unique per thread: a sandbox serves several invocations at once and the guest keys the
 * streams it exposes by id.
 */
let nextId = 1;

/**
 * The streams and compression handles one invocation owns, by id. The guest reaches them only through
 * its own invocation's table (an id of another request is unknown here), and they are all released
 * when the invocation ends (`close`).
 */
export class InvocationStreams {
  private readonly entries = new Map<number, Entry>();
  private readonly zlib = new Map<number, ZlibStream>();
  private closed = false;

  /** Registers a host stream the guest may read (a request body, a fetch response); returns its id. */
  addHost(source: ByteSource, opts: HostStreamOptions = {}): number {
    if (this.closed) {
      source.cancel('the request ended');
      throw new TypeError('the request has ended');
    }
    this.checkRoom();
    const id = nextId++;
    this.entries.set(id, { kind: 'host', source, opts, buffered: 0, reading: false, taken: false });
    return id;
  }

  /** Registers a guest ReadableStream the host will pull from as a response body. */
  expose(): number {
    if (this.closed) throw new TypeError('the request has ended');
    this.checkRoom();
    const id = nextId++;
    this.entries.set(id, { kind: 'guest', taken: false });
    return id;
  }

  private checkRoom(): void {
    if (this.entries.size >= STREAM_LIMITS.perInvocation) {
      throw new RangeError(`too many body streams in one request (at most ${STREAM_LIMITS.perInvocation})`);
    }
  }

  /**
   * The guest's read of a host stream (op streamRead): the next chunk, or with `whole` (the guest
   * buffers it all: text(), arrayBuffer() …) everything left in one piece, read here under the
   * buffering cap (and never more than `guestMax`, what the guest could hold), then null.
   */
  async read(id: number, whole: boolean, guestMax: number): Promise<Uint8Array | null> {
    const e = this.entries.get(id);
    if (!e || e.kind !== 'host') throw new TypeError('unknown body stream (it belongs to another request, or was released)');
    if (e.taken) throw new TypeError('the body stream was handed on as a response body');
    if (e.reading) throw new TypeError('the body stream is already being read');
    const cap = Math.min(e.opts.maxBuffered ?? Infinity, guestMax);
    const { declaredLength } = e.opts;
    if (whole && declaredLength !== undefined && declaredLength > cap) {
      throw this.overflow(id, e, `${e.opts.what ?? 'body'} of ${declaredLength} bytes exceeds the cap of ${cap} bytes`);
    }
    e.reading = true;
    try {
      if (!whole) {
        const chunk = await e.source.read();
        if (chunk === null) this.entries.delete(id);
        return chunk;
      }
      const chunks: Uint8Array[] = [];
      let size = 0;
      for (let chunk = await e.source.read(); chunk !== null; chunk = await e.source.read()) {
        size += chunk.byteLength;
        if (size > cap) throw this.overflow(id, e, `${e.opts.what ?? 'body'} exceeds the cap of ${cap} bytes`);
        chunks.push(chunk);
      }
      this.entries.delete(id);
      return size === 0 ? null : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    } catch (err) {
      // the guest sees a TypeError with the reason (a body over its cap, a timeout, a cut connection)
      throw err instanceof TypeError || err instanceof RangeError ? err : new TypeError(err instanceof Error ? err.message : String(err));
    } finally {
      e.reading = false;
    }
  }

  private overflow(id: number, e: HostEntry, message: string): TypeError {
    e.source.cancel('too large');
    this.entries.delete(id);
    e.opts.onOverflow?.();
    return new TypeError(`${message} (read it as a stream to pass it on without holding it whole)`);
  }

  /** The guest cancelled its stream over a host stream. */
  cancel(id: number): void {
    const e = this.entries.get(id);
    if (!e || e.kind !== 'host' || e.taken) return;
    this.entries.delete(id);
    e.source.cancel('cancelled by the function');
  }

  /** The response body `id`: a host stream to pass on as it is, or a guest stream to pull; undefined if unknown. */
  take(id: number): { kind: 'host'; source: ByteSource } | { kind: 'guest' } | undefined {
    const e = this.entries.get(id);
    if (!e || e.taken || (e.kind === 'host' && e.reading)) return undefined;
    e.taken = true;
    return e.kind === 'host' ? { kind: 'host', source: e.source } : { kind: 'guest' };
  }

  zlibOpen(format: ZlibFormat, decompress: boolean): number {
    if (this.closed) throw new TypeError('the request has ended');
    if (this.zlib.size >= STREAM_LIMITS.zlibPerInvocation) {
      throw new RangeError(`too many compression streams open in one request (at most ${STREAM_LIMITS.zlibPerInvocation})`);
    }
    const z = new ZlibStream(format, decompress);
    const id = nextId++;
    this.zlib.set(id, z);
    return id;
  }

  zlibPush(id: number, input: Uint8Array | null, final: boolean): void {
    this.zlibOf(id).push(input, final);
  }

  /** The next output (at most MAX_CHUNK bytes), false when the handle needs input, true once it is finished (and closed). */
  zlibPull(id: number): Uint8Array | boolean {
    const z = this.zlibOf(id);
    let out: Uint8Array | boolean;
    try {
      out = z.pull();
    } catch (err) {
      this.zlibClose(id);
      throw err;
    }
    if (out === true) this.zlibClose(id);
    return out;
  }

  zlibClose(id: number): void {
    this.zlib.get(id)?.close();
    this.zlib.delete(id);
  }

  private zlibOf(id: number): ZlibStream {
    const z = this.zlib.get(id);
    if (!z) throw new TypeError('the compression stream is closed');
    return z;
  }

  /**
   * The invocation ended: every host stream is cancelled (the request body's socket and the upstreams
   * are released), every compression handle closed. Returns the guest streams still exposed, for the
   * guest to cancel.
   */
  close(reason: string): number[] {
    this.closed = true;
    const guest: number[] = [];
    for (const [id, e] of this.entries) {
      if (e.kind === 'host') e.source.cancel(reason);
      else guest.push(id);
    }
    this.entries.clear();
    for (const z of this.zlib.values()) z.close();
    this.zlib.clear();
    return guest;
  }
}

/**
 * A source whose end (done, failed, cancelled or aborted) is known as a promise that never rejects:
 * what keeps a streamed response's invocation open.
 */
export function trackEnd(inner: ByteSource): { source: ByteSource; ended: Promise<void>; abort(err: unknown): void } {
  let ended = false;
  let failure: unknown;
  let resolveEnded!: () => void;
  const endedPromise = new Promise<void>((r) => (resolveEnded = r));
  let pending: ((err: unknown) => void) | undefined;
  const end = (err?: unknown) => {
    if (ended) return;
    ended = true;
    failure = err;
    resolveEnded();
  };
  const source: ByteSource = {
    read() {
      if (ended) return failure === undefined ? Promise.resolve(null) : Promise.reject(failure);
      return new Promise<Uint8Array | null>((resolve, reject) => {
        pending = reject;
        inner.read().then(
          (chunk) => {
            pending = undefined;
            if (chunk === null) end();
            if (failure !== undefined) reject(failure);
            else resolve(chunk);
          },
          (err) => {
            pending = undefined;
            end(err);
            reject(failure);
          },
        );
      });
    },
    cancel(reason) {
      if (ended) return;
      end();
      inner.cancel(reason);
    },
  };
  return {
    source,
    ended: endedPromise,
    abort(err) {
      if (ended) return;
      end(err);
      pending?.(err);
      pending = undefined;
      inner.cancel(err instanceof Error ? err.message : String(err));
    },
  };
}
