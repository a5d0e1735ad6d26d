/**
 * MCP invoke_function: one request to a deployed function through the same path as `/fn/<name>`
 * (rate limits, traffic split, scheduler slot, usage, metrics, live logs), answered with the
 * response, its timings and the console lines that request logged.
 */
import { randomUUID } from 'node:crypto';
import { FaasError } from '../../contract/errors.ts';
import type { ControlPlane } from '../control-plane.ts';
import type { Registry } from '../registry/registry.ts';
import type { FunctionCall } from '../routes/fn.ts';
import type { Principal } from '../tenants/store.ts';
import { RESULT_LIMITS, Truncation, type ConsoleLine } from './results.ts';

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export interface InvokeArgs {
  name: string;
  method?: (typeof METHODS)[number];
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  bodyBase64?: string;
}

export interface InvokeDeps {
  registry: Registry;
  plane: ControlPlane;
  call: (call: FunctionCall) => Promise<Response>;
  maxBodyBytes: number;
}

/** A path and query as a client would send them: RFC 3986 characters only, and no "." or ".." segment (as /fn/ refuses them). */
const PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/;
const DOT_SEGMENT = /^[^?#]*?\/(?:\.|%2e){1,2}(?:[/?#]|$)/i;
export const MAX_PATH_CHARS = 8 * 1024;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** What Node's HTTP server would accept of a request's headers (maxHeaderSize). */
const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_HEADERS = 64;
/** Set by the gateway, as they would be on the wire. */
const GATEWAY_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'keep-alive', 'te', 'trailer', 'expect']);

/** The call's answer (or its error) and what the request logged, as the tool's payload. */
export async function invokeFunction(
  deps: InvokeDeps,
  principal: Principal,
  host: string,
  args: InvokeArgs,
): Promise<{ payload: object; error?: FaasError }> {
  const { name } = args;
  const rec = deps.registry.get(name, principal);
  if (!rec) throw new FaasError('not_found', `function "${name}" is not deployed`);
  const method = args.method ?? 'GET';
  const path = args.path ?? '/';
  if (path.length > MAX_PATH_CHARS) throw new FaasError('bad_request', `path must be at most ${MAX_PATH_CHARS} characters`);
  if (!PATH.test(path)) throw new FaasError('bad_request', 'path must start with "/" and hold only URL characters (percent-encode the rest)');
  if (DOT_SEGMENT.test(path)) throw new FaasError('bad_request', 'path must not contain "." or ".." segments');
  const body = requestBody(args, method, deps.maxBodyBytes);
  const rawHeaders = ['host', host];
  let headerBytes = 0;
  const entries = Object.entries(args.headers ?? {});
  if (entries.length > MAX_HEADERS) throw new FaasError('bad_request', `at most ${MAX_HEADERS} headers`);
  for (const [k, v] of entries) {
    if (!HEADER_NAME.test(k)) throw new FaasError('bad_request', `header name ${JSON.stringify(k.slice(0, 64))} is not an HTTP token`);
    if (BAD_HEADER_VALUE.test(v)) throw new FaasError('bad_request', `header ${JSON.stringify(k.slice(0, 64))}: control characters and characters above U+00FF are not allowed`);
    if (GATEWAY_HEADERS.has(k.toLowerCase())) throw new FaasError('bad_request', `header "${k.toLowerCase()}" is set by the gateway`);
    headerBytes += k.length + v.length + 4;
    if (headerBytes > MAX_HEADER_BYTES) throw new FaasError('bad_request', `headers are over ${MAX_HEADER_BYTES} bytes`);
    rawHeaders.push(k, v);
  }
  if (body) rawHeaders.push('content-length', String(body.byteLength));

  const requestId = randomUUID();
  const timing: FunctionCall['timing'] = { function: name };
  const started = performance.now();
  const target = `/fn/${name}${path}`;
  let response: Response;
  try {
    response = await deps.call({
      name,
      method,
      url: `http://${host}${target}`,
      strip: true,
      rawHeaders,
      body: () => Promise.resolve(body ?? new Uint8Array(0)),
      requestId,
      target,
      timing,
    });
  } catch (err) {
    const t = new Truncation();
    const logs = requestLogs(deps.plane, name, rec.tenant, requestId, t);
    const error = err instanceof FaasError ? err : new FaasError('internal_error', 'internal error');
    return { payload: t.into({ requestId, version: timing.version, timing: timingOf(timing, started), logs }), error };
  }
  const t = new Truncation();
  const { bytes, complete } = await readCapped(response, t);
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => {
    if (k !== 'x-request-id' && k !== 'server-timing') headers[k] = v;
  });
  return {
    payload: t.into({
      status: response.status,
      headers,
      ...bodyOf(bytes, response.headers.get('content-type'), t),
      bodyBytes: bytes.byteLength,
      ...(complete ? {} : { bodyComplete: false }),
      serverTiming: response.headers.get('server-timing') ?? undefined,
      timing: timingOf(timing, started),
      version: timing.version,
      requestId,
      logs: requestLogs(deps.plane, name, rec.tenant, requestId, t),
    }),
  };
}

/** More than is ever shown (RESULT_LIMITS.textChars): a streamed body is read this far and no further. */
const READ_CAP = 1024 * 1024;

/**
 * The response body, at most READ_CAP bytes of it: a function may stream a body far longer than an
 * answer can carry (until its deadline), and the gateway holds only what it may show.
 */
async function readCapped(response: Response, t: Truncation): Promise<{ bytes: Uint8Array; complete: boolean }> {
  if (!response.body) return { bytes: new Uint8Array(0), complete: true };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes: Buffer.concat(chunks, total), complete: true };
      chunks.push(value);
      total += value.byteLength;
      if (total > READ_CAP) {
        void reader.cancel('read far enough').catch(() => {});
        t.notes.push(`body: streamed, only the first ${READ_CAP.toLocaleString('en-US')} bytes were read (the rest was not)`);
        return { bytes: Buffer.concat(chunks, total).subarray(0, READ_CAP), complete: false };
      }
    }
  } catch (err) {
    t.notes.push(`body: the function's stream failed after ${total.toLocaleString('en-US')} bytes (${err instanceof Error ? err.message : String(err)})`.slice(0, 512));
    return { bytes: Buffer.concat(chunks, total), complete: false };
  }
}

function requestBody(args: InvokeArgs, method: string, max: number): Uint8Array | null {
  if (args.body !== undefined && args.bodyBase64 !== undefined) throw new FaasError('bad_request', 'give body or bodyBase64, not both');
  let bytes: Uint8Array | null = null;
  if (args.body !== undefined) bytes = Buffer.from(args.body, 'utf8');
  if (args.bodyBase64 !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(args.bodyBase64)) throw new FaasError('bad_request', 'bodyBase64 is not base64');
    bytes = Buffer.from(args.bodyBase64, 'base64');
  }
  if (bytes && (method === 'GET' || method === 'HEAD')) throw new FaasError('bad_request', `a ${method} request has no body`);
  if (bytes && bytes.byteLength > max) throw new FaasError('payload_too_large', `request body is over ${max} bytes`);
  return bytes;
}

/** Text when it is UTF-8, else base64; either way capped, with a note. */
function bodyOf(bytes: Uint8Array, contentType: string | null, t: Truncation): { body?: string; bodyBase64?: string } {
  if (bytes.byteLength === 0) return { body: '' };
  const binary = contentType !== null && /^(?:image|audio|video|font)\/|application\/(?:octet-stream|zip|gzip|pdf|wasm)/i.test(contentType);
  if (!binary) {
    try {
      return { body: t.text('body', new TextDecoder('utf-8', { fatal: true }).decode(bytes)) };
    } catch {
      // not UTF-8: base64 below
    }
  }
  const shown = bytes.subarray(0, (RESULT_LIMITS.textChars / 4) * 3);
  if (shown.byteLength < bytes.byteLength) t.notes.push(`body: ${bytes.byteLength} bytes, only the first ${shown.byteLength} are shown (base64)`);
  return { bodyBase64: Buffer.from(shown).toString('base64') };
}

function timingOf(timing: FunctionCall['timing'], started: number): Record<string, number> {
  const r = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * 100) / 100);
  return Object.fromEntries(
    Object.entries({ queueMs: r(timing.queueMs), coldMs: r(timing.coldMs), execMs: r(timing.execMs), totalMs: r(performance.now() - started) }).filter(([, v]) => v !== undefined),
  ) as Record<string, number>;
}

/** The console lines of one request, from the live logs (its invocation record carries them). */
export function requestLogs(plane: ControlPlane, name: string, tenant: string, requestId: string, t: Truncation): ConsoleLine[] {
  const lines: ConsoleLine[] = [];
  let dropped = 0;
  for (const e of plane.logs.recent(name, tenant, { search: requestId }, 64)) {
    if (e.type === 'invocation' && e.requestId === requestId) {
      for (const l of e.logs) lines.push(line(l));
      dropped += e.droppedLogs ?? 0;
    } else if (e.type === 'log' && e.requestId === requestId) {
      lines.push(line(e));
    }
  }
  return t.console(lines, dropped);
}

function line(l: { level: string; text: string; source: string }): ConsoleLine {
  return l.source === 'guest' ? { level: l.level, text: l.text } : { level: l.level, text: l.text, source: l.source };
}
