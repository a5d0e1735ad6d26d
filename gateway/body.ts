import type { IncomingMessage } from 'node:http';
import { FaasError } from '../runtime/errors.ts';

/**
 * Reads a request body, refusing it as soon as it is known to exceed `limit`: from Content-Length
 * before reading anything, or while streaming, so at most `limit` bytes are ever held. On refusal
 * the rest is left unread; the response closes the connection.
 */
export function readBody(incoming: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = Number(incoming.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  if (incoming.readableEnded) return Promise.resolve(new Uint8Array(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) {
        cleanup();
        incoming.pause();
        reject(tooLarge(limit));
        return;
      }
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
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

function tooLarge(limit: number): FaasError {
  return new FaasError('payload_too_large', `request body exceeds the ${limit}-byte limit`, { limit });
}
