/**
 * The one guest call every request makes crosses the boundary in a compact form instead of as
 * generic objects: the prelude's `dispatch` takes
 *
 *   (method, url, headersJson, body, envJson | undefined, id)
 *
 * (headers as one JSON text of `[name, value]` pairs that the guest parses only if the handler reads
 * them; the body as bytes, or as the id (a number) of the host stream it arrives on; the env spec only
 * when it differs from the one this sandbox was last sent) and answers an array the prelude built
 * itself
 *
 *   [status, body, waitUntil, name0, value0, name1, value1, …]
 *
 * with the body as a string (encoded to UTF-8 on the host), an ArrayBuffer, null, or the id of a body
 * stream of the invocation's (runtime/body-stream.ts): a host stream the guest passes on untouched, or
 * a guest ReadableStream the host then pulls through the prelude API's `pull(id)` (each answer an
 * ArrayBuffer of at most RESPONSE_LIMITS.maxChunkBytes, or null at the end). Engines read it element
 * by element below its own length (own data properties of a dense array the guest code never saw: no
 * getter or prototype lookup runs) under the limits below.
 */

/** A body that streams: the id of a stream in the invocation's table. */
export interface BodyStreamRef {
  readonly stream: number;
}

export interface DispatchRequest {
  method: string;
  url: string;
  /** JSON text of `[name, value]` pairs, or null for none. */
  headers: string | null;
  body: Uint8Array | BodyStreamRef | null;
  /** JSON of the env spec (engines send it only when it changed since the sandbox's last call). */
  env: string;
  id: string;
}

export interface DispatchResponse {
  status: number;
  headers: [string, string][];
  body: ArrayBuffer | BodyStreamRef | null;
  waitUntil: boolean;
}

/** What the host reads of a response before refusing it (the guest's heap bounds it too). */
export const RESPONSE_LIMITS = {
  /** Header fields (name/value pairs). */
  maxHeaders: 1000,
  /** One header name or value, in UTF-16 code units. */
  maxHeaderChars: 64 * 1024,
  /** The body, as a string (code units) or bytes. */
  maxBodyBytes: 128 * 1024 * 1024,
  /** One piece of a streamed body the host pulls (the prelude hands out at most 64 KiB). */
  maxChunkBytes: 1024 * 1024,
} as const;

/** `[name, value]` pairs as the JSON text the guest parses lazily; null when there are none. */
export function headersJson(pairs: readonly (readonly [string, string])[]): string | null {
  return pairs.length > 0 ? JSON.stringify(pairs) : null;
}

const encoder = new TextEncoder();

/** UTF-8 of a response body the guest handed over as a string (lone surrogates become U+FFFD). */
export function encodeBody(text: string): ArrayBuffer {
  return encoder.encode(text).buffer as ArrayBuffer;
}
