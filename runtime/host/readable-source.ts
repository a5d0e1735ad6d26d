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
export function readableSource(r: Readable, opts: ReadableSourceOptions): ByteSource {
  let done = false;
  let error: Error | undefined;
  let waiting: (() => void) | undefined;
  const wake = () => {
    const w = waiting;
    waiting = undefined;
    w?.();
  };
  const finish = (err?: Error) => {
    if (done) return;
    done = true;
    error = err;
    r.off('readable', wake);
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
  r.on('readable', wake);
  r.on('end', onEnd);
  r.on('error', onError);
  r.on('close', onClose);
  if (r.readableEnded) finish();

  const next = (): Uint8Array | null | undefined => {
    const available = r.readableLength;
    const chunk = (available > 0 ? r.read(Math.min(available, MAX_CHUNK)) : r.read()) as Buffer | null;
    if (chunk === null) return r.readableEnded ? null : undefined;
    opts.onChunk?.(chunk.byteLength);
    return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  };

  return {
    async read() {
      for (;;) {
        if (error) throw error;
        if (done && r.readableLength === 0) return null;
        let chunk: Uint8Array | null | undefined;
        try {
          chunk = next();
        } catch (err) {
          finish(err as Error);
          (opts.release ?? (() => r.destroy()))('refused');
          throw err;
        }
        if (chunk !== undefined) {
          if (chunk === null) finish();
          return chunk;
        }
        if (done) return null;
        await new Promise<void>((resolve) => (waiting = resolve));
      }
    },
    cancel(reason = 'cancelled') {
      if (done) return;
      finish();
      (opts.release ?? (() => r.destroy()))(reason);
    },
  };
}
