import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaasError } from '../runtime/errors.ts';

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
}

/**
 * Reads a request body, refusing it as soon as it is known to exceed `limit`: from Content-Length
 * before reading anything, or while streaming, so at most `limit` bytes are ever held; and refusing it
 * with `request_timeout` when it has not all arrived within `timeoutMs`, so a client trickling a body
 * cannot hold a connection (and its buffer) for long. On refusal the rest is left unread; the response
 * closes the connection.
 */
export function readBody(incoming: IncomingMessage, { limit, timeoutMs, outgoing }: BodyLimits): Promise<Uint8Array> {
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
      size += chunk.byteLength;
      if (size > limit) return refuse(tooLarge(limit));
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
      () => refuse(new FaasError('request_timeout', `request body did not arrive within ${timeoutMs} ms (${size} bytes received)`, { timeoutMs })),
      timeoutMs,
    );
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

function tooLarge(limit: number): FaasError {
  return new FaasError('payload_too_large', `request body exceeds the ${limit}-byte limit`, { limit });
}
