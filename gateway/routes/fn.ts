import type { Hono, Handler } from 'hono';
import { assertFunctionName } from '../../runtime/config.ts';
import { FaasError } from '../../runtime/errors.ts';
import type { GuestRequest, GuestResponse } from '../../runtime/index.ts';
import type { FunctionHost } from '../../runtime/workers/function-host.ts';
import { readBody } from '../body.ts';
import { serverTiming, toFaasError, type GatewayEnv } from '../http.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';

export interface FunctionRouteDeps {
  runtime: FunctionHost;
  scheduler: Scheduler;
  metrics: GatewayMetrics;
  lifecycle: Lifecycle;
  maxBodyBytes: number;
}

// Framing is the gateway's business: a guest's Content-Length may not match what is sent.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);
const NULL_BODY_STATUS = new Set([204, 205, 304]);

export function registerFunctionRoutes(app: Hono<GatewayEnv>, deps: FunctionRouteDeps): void {
  const handler = invokeHandler(deps);
  app.all('/fn/:name', handler);
  app.all('/fn/:name/*', handler);
}

function invokeHandler({ runtime, scheduler, metrics, lifecycle, maxBodyBytes }: FunctionRouteDeps): Handler<GatewayEnv> {
  return async (c) => {
    const name = c.req.param('name')!;
    assertFunctionName(name);
    const timing: NonNullable<GatewayEnv['Variables']['invocation']> = { function: name };
    c.set('invocation', timing);
    const fn = runtime.get(name);
    if (!fn) throw new FaasError('not_found', `function "${name}" is not deployed`);

    const incoming = c.env.incoming;
    const method = c.req.method;
    const body = method === 'GET' || method === 'HEAD' ? null : await readBody(incoming, maxBodyBytes);
    const request: GuestRequest = {
      method,
      url: c.req.url,
      headers: headerPairs(incoming.rawHeaders),
      body: body && body.byteLength > 0 ? ownBuffer(body) : null,
    };

    // The wall-time budget starts once the request is fully received; queueing spends from it.
    const deadline = performance.now() + fn.config.timeoutMs;
    const fail = (err: unknown) => {
      const e = toFaasError(err);
      timing.error = e.code;
      metrics.invocation(name, e.code);
      return e;
    };
    let slot;
    try {
      slot = await scheduler.acquire({ name, priority: fn.config.priority, maxConcurrency: fn.config.maxConcurrency }, deadline);
    } catch (err) {
      throw fail(err);
    }
    timing.queueMs = slot.waitedMs;
    metrics.queued(slot.waitedMs / 1000);

    const started = performance.now();
    let response: Response;
    try {
      const result = await runtime.invoke(name, request, { requestId: c.get('requestId'), deadline });
      lifecycle.trackBackground(result.background);
      timing.coldMs = result.coldMs;
      timing.execMs = result.execMs;
      timing.worker = result.worker;
      timing.headersSet = true;
      response = toHttpResponse(result.response, {
        'x-request-id': c.get('requestId'),
        'server-timing': serverTiming(timing),
      });
      metrics.invocation(name, 'ok', { seconds: (performance.now() - started) / 1000, cold: result.cold });
    } catch (err) {
      timing.execMs ??= performance.now() - started;
      throw fail(err);
    } finally {
      slot.release();
    }
    return response;
  };
}

/** RFC 9110 token characters for header names; values may not carry CR, LF or NUL. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_HEADER_VALUE = /[\r\n\0]/;

/**
 * The guest's response as a Response whose headers are a plain object: @hono/node-server writes those
 * straight to writeHead, skipping two Headers conversions per request. `extra` (request id, timing)
 * goes in here too, so no middleware has to touch `c.res.headers` afterwards.
 */
function toHttpResponse(g: GuestResponse, extra: Record<string, string>): Response {
  if (!Number.isInteger(g.status) || g.status < 200 || g.status > 599) {
    throw new FaasError('function_error', `function returned status ${g.status}; a response status must be 200-599`);
  }
  const headers: Record<string, string | string[]> = {};
  for (const [rawName, rawValue] of g.headers) {
    const name = rawName.toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    const value = String(rawValue).trim();
    if (!HEADER_NAME.test(name) || BAD_HEADER_VALUE.test(value)) {
      throw new FaasError('function_error', `function returned an invalid header: ${JSON.stringify(rawName)}`);
    }
    const prev = headers[name];
    if (prev === undefined) headers[name] = value;
    else if (name === 'set-cookie') headers[name] = Array.isArray(prev) ? [...prev, value] : [prev, value];
    else headers[name] = `${prev}, ${value}`;
  }
  Object.assign(headers, extra);
  // A Uint8Array (not an ArrayBuffer) body keeps @hono/node-server on its fast path: written out
  // directly instead of being wrapped in a stream.
  const body = NULL_BODY_STATUS.has(g.status) || !g.body ? null : new Uint8Array(g.body);
  return new Response(body, { status: g.status, headers: headers as Record<string, string> });
}

function headerPairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}

/** The guest gets an ArrayBuffer of exactly the body (Node may hand out a slice of a shared pool). */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes.buffer as ArrayBuffer)
    : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}
