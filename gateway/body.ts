import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaasError } from '../contract/errors.ts';
import { readableSource, type ByteSource } from '../runtime/index.ts';

/**
 * Bytes of request bodies being received right now, over every connection: what slow clients can
 * make the gateway hold at once (each body alone is capped, but not how many arrive together).
 */
export class BodyBudget {
  used = 0;
  constructor(readonly limit: number) {}
}

export interface BodyLimits {
  /** Bytes at most. */
  limit: number;
  /** The whole body must have arrived this many ms after reading starts. */
  timeoutMs: number;
  /**
   * The response, to send `100 Continue` to a client that waits for one (`Expect: 100-continue`):
   * only once the body is wanted and its declared length fits (see the server's `checkContinue`).
   */
  outgoing?: ServerResponse;
  /** Shared with every other body being received; over it, this one is refused with `overloaded`. */
  budget?: BodyBudget;
}

/**
 * Reads a request body, refusing it as soon as it is known to exceed `limit`: from Content-Length
 * before reading anything, or while streaming, so at most `limit` bytes are ever held; and refusing it
 * with `request_timeout` when it has not all arrived within `timeoutMs`, so a client trickling a body
 * cannot hold a connection (and its buffer) for long. On refusal the rest is left unread; the response
 * closes the connection.
 */
export function readBody(incoming: IncomingMessage, { limit, timeoutMs, outgoing, budget }: BodyLimits): Promise<Uint8Array> {
  const declared = Number(incoming.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  if (incoming.readableEnded) return Promise.resolve(new Uint8Array(0));
  const expect = incoming.headers.expect;
  if (expect && outgoing && expect.toLowerCase() === '100-continue' && !outgoing.headersSent) outgoing.writeContinue();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      clearTimeout(timer);
      // Handed over or refused: either way no longer being received.
      if (budget) budget.used -= size;
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const refuse = (err: FaasError) => {
      cleanup();
      incoming.pause();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      if (size + chunk.byteLength > limit) return refuse(tooLarge(limit));
      if (budget) {
        if (budget.used + chunk.byteLength > budget.limit) {
          return refuse(
            new FaasError('overloaded', `too many request bodies are being received at once (${budget.limit} bytes)`, { retryAfterSeconds: 1, unreadBody: true }),
          );
        }
        budget.used += chunk.byteLength;
      }
      size += chunk.byteLength;
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      const body = Buffer.concat(chunks, size);
      resolve(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new FaasError('bad_request', `request body could not be read: ${err.message}`));
    };
    const onClose = () => {
      if (incoming.readableEnded) return;
      cleanup();
      reject(new FaasError('bad_request', 'request body was cut off: the client closed the connection'));
    };
    const timer = setTimeout(
      () => refuse(new FaasError('request_timeout', `request body did not arrive within ${timeoutMs} ms (${size} bytes received)`, { timeoutMs, unreadBody: true })),
      timeoutMs,
    );
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

function tooLarge(limit: number): FaasError {
  return new FaasError('payload_too_large', `request body exceeds the ${limit}-byte limit`, { limit, unreadBody: true });
}

/**
 * Bodies that declare at most this many bytes are read whole before the function runs (the fast path:
 * handed over in one piece at dispatch); longer ones, and bodies of unknown length, stream.
 */
export const STREAM_THRESHOLD = 64 * 1024;

export interface StreamedBody {
  source: ByteSource;
  /** Why the body failed (too large, too slow, cut off), once it did. */
  failure(): FaasError | undefined;
  /** Whether all of it was read (else the rest is left unread and the connection must close). */
  complete(): boolean;
}

/**
 * A request body streamed to the function as it reads it: nothing is taken from the socket before the
 * guest asks (TCP flow control holds the client back meanwhile), the cap is enforced on the bytes as
 * they arrive, and the body timeout runs from the start as for a buffered body. A failure errors the
 * guest's stream; the route answers with its code if the function fails after it.
 */
export function streamBody(incoming: IncomingMessage, { limit, timeoutMs, outgoing, budget }: BodyLimits): StreamedBody {
  const declared = Number(incoming.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  let size = 0;
  /** Bytes counted against the budget, given back when the body is done. */
  let held = 0;
  let failure: FaasError | undefined;
  let complete = false;
  let asked = false;
  const timer = setTimeout(() => {
    failure ??= new FaasError('request_timeout', `request body did not arrive within ${timeoutMs} ms (${size} bytes received)`, { timeoutMs, unreadBody: true });
    inner.fail(failure);
  }, timeoutMs);
  const inner = readableSource(incoming, {
    onChunk(n) {
      size += n;
      if (size > limit) throw (failure ??= tooLarge(limit));
      // Every byte taken counts against the shared budget until the body is done: the guest may be
      // gathering it whole (text(), json() …), so stalled uploads still cannot pile up in memory.
      if (budget) {
        if (budget.used + n > budget.limit) {
          throw (failure ??= new FaasError('overloaded', `too many request bodies are being received at once (${budget.limit} bytes)`, { retryAfterSeconds: 1, unreadBody: true }));
        }
        budget.used += n;
        held += n;
      }
    },
    failure: (err) =>
      (failure ??= new FaasError('bad_request', err ? `request body could not be read: ${err.message}` : 'request body was cut off: the client closed the connection', {
        unreadBody: true,
      })),
    onDone() {
      clearTimeout(timer);
      if (budget) budget.used -= held;
      held = 0;
    },
    // the rest stays unread: the response closes the connection (never the socket under it mid-answer)
    release: () => {},
  });
  const source: ByteSource = {
    read() {
      if (!asked) {
        asked = true;
        const expect = incoming.headers.expect;
        if (expect && outgoing && expect.toLowerCase() === '100-continue' && !outgoing.headersSent) outgoing.writeContinue();
      }
      return inner.read().then((chunk) => {
        if (chunk === null) complete = true;
        return chunk;
      });
    },
    cancel: (reason) => inner.cancel(reason),
  };
  return { source, failure: () => failure, complete: () => complete };
}
