/**
 * The one guest call every request makes, `callApi('dispatch', [request, envSpec, id])`, crosses the
 * boundary in a compact form instead of as generic objects: the prelude's `dispatch` takes
 *
 *   (method, url, headersJson, body, envJson | undefined, id)
 *
 * (headers as one JSON text of `[name, value]` pairs that the guest parses only if the handler reads
 * them; the env spec only when it differs from the one this sandbox was last sent) and answers
 *
 *   [status, body, waitUntil, name0, value0, name1, value1, …]
 *
 * with the body as a string (encoded to UTF-8 here, on the host), an ArrayBuffer, or null. Engines
 * turn that back into the `{ status, headers, body, waitUntil }` that `callApi('dispatch')` promises.
 */

export const DISPATCH = 'dispatch';

/** What an engine remembers per sandbox: the env spec it last sent (by identity). */
export interface DispatchMemo {
  env: unknown;
}

export interface DispatchRequest {
  method: string;
  url: string;
  headers: string | null;
  body: Uint8Array | null;
  /** JSON of the env spec, or undefined when the guest already has this one. */
  env: string | undefined;
  id: string;
}

export interface DispatchResponse {
  status: number;
  headers: [string, string][];
  body: ArrayBuffer | null;
  waitUntil: boolean;
}

export function dispatchRequest(args: unknown[], memo: DispatchMemo): DispatchRequest {
  const req = (args[0] ?? {}) as { method?: unknown; url?: unknown; headers?: unknown; body?: unknown };
  const headers = Array.isArray(req.headers) && req.headers.length > 0 ? JSON.stringify(req.headers) : null;
  const env = args[1];
  return {
    method: String(req.method ?? 'GET'),
    url: String(req.url ?? ''),
    headers,
    body: bodyBytes(req.body),
    env: env === memo.env && memo.env !== undefined ? undefined : JSON.stringify(env ?? {}),
    id: String(args[2]),
  };
}

/** Records that the guest accepted `args`' env spec (call it once the dispatch call has returned). */
export function rememberEnv(args: unknown[], memo: DispatchMemo): void {
  memo.env = args[1];
}

function bodyBytes(body: unknown): Uint8Array | null {
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return null;
}

const encoder = new TextEncoder();

/** UTF-8 of a response body the guest handed over as a string (lone surrogates become U+FFFD). */
export function encodeBody(text: string): ArrayBuffer {
  return encoder.encode(text).buffer as ArrayBuffer;
}

/** Reads the guest's answer (an array of plain values, already copied to the host). */
export function dispatchResponse(out: unknown): DispatchResponse {
  if (!Array.isArray(out) || typeof out[0] !== 'number') throw new TypeError('dispatch: malformed response from the guest');
  const body = out[1];
  const headers: [string, string][] = [];
  for (let i = 3; i + 1 < out.length; i += 2) headers.push([String(out[i]), String(out[i + 1])]);
  return {
    status: out[0],
    headers,
    body: typeof body === 'string' ? encodeBody(body) : body instanceof ArrayBuffer ? body : null,
    waitUntil: out[2] === true,
  };
}
