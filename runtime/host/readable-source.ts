import type { Readable } from 'node:stream';
import { MAX_CHUNK, type ByteSource } from '../body-stream.ts';

export interface ReadableSourceOptions {
  /** Checks each chunk before it is handed out (a size cap); an error thrown fails the stream. */
  onChunk?: (bytes: number) => void;
  /** The stream ended early or failed: the error the reader gets. */
  failure: (err: Error | undefined) => Error;
  /** Called once when the source is done for any reason (ended, failed, cancelled). */
  onDone?: () => void;
  /** Releases the underlying connection when the reader gives up (default: destroy the stream). */
  release?: (reason: string) => void;
}

/**
 * A ByteSource over a Node Readable (a request body from a client, a response from an upstream), in
 * paused mode: bytes are taken from its buffer only when the reader asks, so a reader that stops
 * leaves the data in the kernel's socket buffers and TCP flow control stops the sender.
 */
export function readableSource(r: Readable, opts: ReadableSourceOptions): ByteSource & { fail(err: Error): void } {
  let done = false;
  let error: Error | undefined;
  let waiting: (() => void) | undefined;
  // Chunks are taken one 'data' event at a time (paused again at once), as the socket delivered them:
  // no joining of buffered pieces, so nothing is copied here.
  const queue: Buffer[] = [];
  const wake = () => {
    const w = waiting;
    waiting = undefined;
    w?.();
  };
  const onData = (chunk: Buffer) => {
    r.pause();
    queue.push(chunk);
    wake();
  };
  const finish = (err?: Error) => {
    if (done) return;
    done = true;
    error = err;
    r.off('data', onData);
    r.off('end', onEnd);
    r.off('error', onError);
    r.off('close', onClose);
    opts.onDone?.();
    wake();
  };
  const onEnd = () => finish();
  const onError = (err: Error) => finish(opts.failure(err));
  const onClose = () => {
    if (!r.readableEnded) finish(opts.failure(undefined));
  };
  r.pause();
  r.on('data', onData);
  r.on('end', onEnd);
  r.on('error', onError);
  r.on('close', onClose);
  if (r.readableEnded) finish();
  const release = opts.release ?? (() => r.destroy());

  return {
    async read() {
      for (;;) {
        const chunk = queue.shift();
        if (chunk !== undefined) {
          if (chunk.byteLength > MAX_CHUNK) queue.unshift(chunk.subarray(MAX_CHUNK));
          const piece = chunk.byteLength > MAX_CHUNK ? chunk.subarray(0, MAX_CHUNK) : chunk;
          try {
            opts.onChunk?.(piece.byteLength);
          } catch (err) {
            queue.length = 0;
            finish(err as Error);
            release('refused');
            throw err;
          }
          return new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength);
        }
        if (error) throw error;
        if (done) return null;
        r.resume();
        await new Promise<void>((resolve) => (waiting = resolve));
      }
    },
    cancel(reason = 'cancelled') {
      queue.length = 0;
      if (done) return;
      finish();
      release(reason);
    },
    /** Fails the stream from outside (a timeout): the pending read and every later one reject with `err`. */
    fail(err: Error) {
      queue.length = 0;
      if (done) return;
      finish(err);
      release(err.message);
    },
  };
}
