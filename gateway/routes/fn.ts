import type { Hono, Handler, MiddlewareHandler } from 'hono';
import { assertFunctionName } from '../../contract/config.ts';
import { ERROR_STATUS, FaasError, isFaasError, type ErrorCode } from '../../contract/errors.ts';
import type { ByteSource, DeployedFunction, GuestRequest, GuestResponse, InvocationUsage } from '../../runtime/index.ts';
import { NO_BACKGROUND, type FunctionHost } from '../../runtime/index.ts';
import { STREAM_THRESHOLD, readBody, streamBody, type BodyBudget, type StreamedBody } from '../body.ts';
import type { ControlPlane } from '../control-plane.ts';
import { rawHeader, serverTiming, asHttpError, type GatewayContext, type GatewayEnv } from '../http.ts';
import { ROLLOUT_KEY, rolloutKey } from '../routing/split.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { Registry } from '../registry/registry.ts';

export interface FunctionRouteDeps {
  runtime: FunctionHost;
  /** Puts a deployed function into the runtime on its first request. */
  registry: Pick<Registry, 'materialize' | 'touch' | 'repairing'>;
  scheduler: Scheduler;
  metrics: GatewayMetrics;
  lifecycle: Lifecycle;
  plane: ControlPlane;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  bodyBudget: BodyBudget;
  /** With `faas serve --processes`: this process's slot, sent as the `faas-process` response header. */
  processSlot?: number;
}

// Framing is the gateway's business: a guest's Content-Length may not match what is sent.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);
const NULL_BODY_STATUS = new Set([204, 205, 304]);

/**
 * Paths that are the gateway's own on every host: a host route never takes them, as sent or as the
 * router decodes them (`/%61dmin/…` is routed as `/admin/…`, past the admin token check).
 */
export const GATEWAY_PATH = /^\/(?:admin|fn|console)(?:\/|$)|^\/(?:healthz|readyz|metrics|mcp)$/;

export function registerFunctionRoutes(app: Hono<GatewayEnv>, deps: FunctionRouteDeps): void {
  const invoke = invoker(deps);
  const byName: Handler<GatewayEnv> = (c) => {
    const name = c.req.param('name')!;
    assertFunctionName(name);
    return invoke(c, name, true);
  };
  app.all('/fn/:name', byName);
  app.all('/fn/:name/*', byName);
}

/**
 * Requests for a host and path that a function claims in its `routes`: registered last, so every
 * gateway route is matched first; the function sees the request's path as it is.
 */
export function registerHostRoutes(app: Hono<GatewayEnv>, deps: FunctionRouteDeps, admission: MiddlewareHandler<GatewayEnv>): void {
  const invoke = invoker(deps);
  app.all('*', async (c, next) => {
    const target = c.env.incoming.url ?? '/';
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const name = GATEWAY_PATH.test(path) || GATEWAY_PATH.test(c.req.path) ? undefined : deps.plane.routes.match(rawHeader(c.env.incoming.rawHeaders, 'host'), path);
    if (!name) return next();
    let response: Response | undefined;
    await admission(c, async () => {
      response = await invoke(c, name, false);
    });
    return response!;
  });
}

/** One request to a function, wherever it came from: an HTTP request, or an MCP tool call (invoke_function). */
export interface FunctionCall {
  name: string;
  method: string;
  /** The URL as the gateway received it, `/fn/<name>` included. */
  url: string;
  /** Whether the path's first two segments are the gateway's (`/fn/<name>`); not at a claimed route. */
  strip: boolean;
  /** Header names and values, alternating (Node's rawHeaders). */
  rawHeaders: string[];
  /**
   * The body: called only after the rate limits let the request in, and never for GET or HEAD. Bytes
   * (none: null), or a body that streams to the function as it is read.
   */
  body(): Promise<Uint8Array | null | StreamedBody>;
  /** Cuts the client's connection off (a streamed response that failed or ran out of time); none for an MCP call, which reads the answer itself. */
  abort?(): void;
  requestId: string;
  /** The request target, for the live logs. */
  target: string | undefined;
  /** Filled in as the call goes (version, queue, cold and exec ms, error), for the access log. */
  timing: NonNullable<GatewayEnv['Variables']['invocation']>;
}

/** Runs HTTP requests through functions (see functionCaller). */
function invoker(deps: FunctionRouteDeps) {
  const call = functionCaller(deps);
  const { maxBodyBytes, bodyTimeoutMs, bodyBudget } = deps;
  const processSlot = deps.processSlot === undefined ? undefined : String(deps.processSlot);
  return (c: GatewayContext, name: string, strip: boolean): Promise<Response> => {
    const timing: NonNullable<GatewayEnv['Variables']['invocation']> = { function: name };
    c.set('invocation', timing);
    const incoming = c.env.incoming;
    const response = call({
      name,
      method: c.req.method,
      url: c.req.url,
      strip,
      rawHeaders: incoming.rawHeaders,
      body: async () => {
        if (!hasBody(incoming.headers)) return null;
        // A short body is read whole first (handed over in one piece); a long or unsized one streams to
        // the function as it reads it.
        const limits = { limit: maxBodyBytes, timeoutMs: bodyTimeoutMs, outgoing: c.env.outgoing, budget: bodyBudget };
        const declared = Number(incoming.headers['content-length']);
        return Number.isFinite(declared) && declared <= STREAM_THRESHOLD ? readBody(incoming, limits) : streamBody(incoming, limits);
      },
      abort: () => c.env.outgoing.destroy(),
      requestId: c.get('requestId'),
      target: incoming.url,
      timing,
    });
    if (processSlot === undefined) return response;
    return response.then((r) => {
      r.headers.set('faas-process', processSlot);
      return r;
    });
  };
}

/**
 * Runs one request through a function: rate limits, version choice (traffic split), body, slot,
 * invocation, response; then usage, metrics and the live-log record. With `strip`, the path's first
 * two segments are the gateway's (`/fn/<name>`) and, unless the function keeps them (`stripPrefix: false`),
 * are not part of the URL the guest sees.
 */
export function functionCaller({ runtime, registry, scheduler, metrics, lifecycle, plane }: Pick<FunctionRouteDeps, 'runtime' | 'registry' | 'scheduler' | 'metrics' | 'lifecycle' | 'plane'>) {
  return async (call: FunctionCall): Promise<Response> => {
    const { name, strip, timing } = call;
    let primary = runtime.get(name);
    if (primary) registry.touch(name);
    else primary = await registry.materialize(name);
    if (!primary) throw new FaasError('not_found', `function "${name}" is not deployed`);
    const tenant = primary.tenant;
    const received = performance.now();
    let status = 500;
    let outcome = 'ok';
    let usage: InvocationUsage | undefined;
    let fn: DeployedFunction = primary;
    let streamed: StreamedBody | undefined;
    try {
      plane.limits.admit(name, tenant);
      const split = plane.splits.get(name);
      if (split) {
        const version = split.pick(rolloutKey(headerOf(call.rawHeaders, ROLLOUT_KEY), headerOf(call.rawHeaders, 'cookie')));
        fn = runtime.get(name, version) ?? primary;
      }
      timing.version = fn.version;

      const method = call.method;
      let body: Uint8Array | null = null;
      if (method !== 'GET' && method !== 'HEAD') {
        const read = await call.body();
        if (read === null || read instanceof Uint8Array) body = read;
        else streamed = read;
      }
      const stripping = strip && fn.config.stripPrefix;
      const headers = headerPairs(call.rawHeaders, stripping ? 'x-forwarded-prefix' : undefined);
      let url = call.url;
      if (stripping) {
        url = stripped(url);
        // what the client sent under this name is replaced, not joined: the guest can trust it
        headers.push(['x-forwarded-prefix', `/fn/${name}`]);
      }
      const request: GuestRequest = { method, url, headers, body: body && body.byteLength > 0 ? ownBuffer(body) : null };
      if (streamed) request.stream = streamed.source;

      // The wall-time budget starts once the request is fully received; queueing spends from it.
      const deadline = performance.now() + fn.config.timeoutMs;
      const ticket = { name, priority: fn.config.priority, maxConcurrency: fn.config.maxConcurrency };
      // A free slot is taken without a promise; only a request that has to wait gets one.
      const slot = scheduler.tryAcquire(ticket) ?? (await scheduler.acquire(ticket, deadline));
      timing.queueMs = slot.waitedMs;
      metrics.queued(slot.waitedMs / 1000);

      const started = performance.now();
      let result;
      try {
        result = await runtime.invoke(name, request, { requestId: call.requestId, deadline, version: split ? fn.version : undefined });
      } catch (err) {
        // An artifact found broken on its first load is being rebuilt from its stored source: this
        // request waits for that (within its deadline) and runs on the rebuilt version.
        const repair = isFaasError(err) && err.code === 'artifact_invalid' ? registry.repairing(name) : undefined;
        try {
          if (!repair) throw err;
          await repair.catch(() => {
            throw err;
          });
          fn = runtime.get(name) ?? fn;
          timing.version = fn.version;
          result = await runtime.invoke(name, request, { requestId: call.requestId, deadline });
        } catch (final) {
          slot.release();
          timing.execMs = performance.now() - started;
          throw final;
        }
      }
      // ctx.waitUntil work runs on after the response: it keeps the slot (and shows as in flight) until
      // it settles, bounded by the invocation's deadline, so the scheduler still sees what it admits.
      usage = result.usage;
      if (result.background === NO_BACKGROUND) slot.release();
      else {
        slot.releaseAfter(result.background, deadline + BACKGROUND_GRACE_MS);
        lifecycle.trackBackground(result.background);
        const atResponse = usage;
        void result.background.then((final) => final && meterLater(plane, tenant, name, atResponse, final));
      }
      timing.coldMs = result.coldMs;
      timing.execMs = result.execMs;
      timing.worker = result.worker;
      const extra: Record<string, string> = { 'x-request-id': call.requestId, 'server-timing': serverTiming(timing) };
      if (split) extra['faas-version'] = String(fn.version);
      // the rest of a body the function did not read (or that failed) is not waited for
      if (streamed && !result.response.stream && !streamed.complete()) extra.connection = 'close';
      let response: Response;
      try {
        response = toHttpResponse(result.response, extra, method, call.abort, deadline + BACKGROUND_GRACE_MS);
      } catch (err) {
        result.response.stream?.cancel('refused');
        throw err;
      }
      timing.headersSet = true;
      status = response.status;
      metrics.invocation(name, 'ok', { seconds: (performance.now() - started) / 1000, cold: result.cold });
      return response;
    } catch (err) {
      // a body that failed (too large, too slow, cut off) explains the failure better than the guest's error
      let e = streamed?.failure() ?? asHttpError(err);
      if (streamed && !streamed.complete()) {
        streamed.source.cancel('refused');
        if (e.detail?.unreadBody !== true) e = new FaasError(e.code, e.message, { ...e.detail, unreadBody: true });
      }
      timing.error = outcome = e.code;
      status = ERROR_STATUS[e.code as ErrorCode] ?? 500;
      usage ??= e.detail?.usage as InvocationUsage | undefined;
      if (e.code !== 'rate_limited') metrics.invocation(name, e.code);
      throw e;
    } finally {
      const wallMs = performance.now() - received;
      // A request refused by a rate limit ran nothing: billing it would let any client run up the bill the limit caps.
      if (outcome !== 'rate_limited') {
        plane.usage.add(tenant, name, {
          invocations: 1,
          errors: outcome === 'ok' ? 0 : 1,
          wallMs,
          cpuMs: usage?.cpuMs ?? 0,
          egressBytes: usage?.egressBytes ?? 0,
          kvOps: usage?.bindingOps ?? 0,
        });
      }
      plane.logs.invocation({
        function: name,
        version: fn.version,
        requestId: call.requestId,
        method: call.method,
        path: pathOf(call.target),
        status,
        outcome,
        ms: round(wallMs)!,
        queueMs: round(timing.queueMs),
        execMs: round(timing.execMs),
        cpuMs: usage ? round(usage.cpuMs) : undefined,
        cold: timing.coldMs !== undefined ? timing.coldMs > 0 : undefined,
      }, tenant);
    }
  };
}

/** What the invocation added after the response: its ctx.waitUntil work, the rest of a streamed body (CPU of the pulls, egress of a piped fetch). */
function meterLater(plane: ControlPlane, tenant: string, name: string, before: InvocationUsage, after: InvocationUsage): void {
  plane.usage.add(tenant, name, {
    cpuMs: Math.max(0, after.cpuMs - before.cpuMs),
    egressBytes: Math.max(0, after.egressBytes - before.egressBytes),
    kvOps: Math.max(0, after.bindingOps - before.bindingOps),
  });
}

/**
 * `url` without the first two segments of its path ("/fn/hello/x?y" → "/x?y"; "/fn/hello" → "/"), as
 * sent: a name sent percent-encoded ("/fn/%68ello/x", routed as "hello") is longer than the name.
 */
function stripped(url: string): string {
  const pathStart = url.indexOf('/', url.indexOf('//') + 2);
  if (pathStart < 0) return url;
  const query = url.indexOf('?', pathStart);
  const pathEnd = query < 0 ? url.length : query;
  const second = url.indexOf('/', pathStart + 1);
  const third = second < 0 || second >= pathEnd ? -1 : url.indexOf('/', second + 1);
  const cut = third < 0 || third >= pathEnd ? pathEnd : third;
  return url.slice(0, pathStart) + (cut === pathEnd ? '/' : '') + url.slice(cut);
}

function pathOf(target: string | undefined): string {
  const t = target ?? '/';
  const q = t.indexOf('?');
  return (q < 0 ? t : t.slice(0, q)).slice(0, 512);
}

const round = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * 100) / 100);

/** How long past its deadline an invocation's background work may hold its slot before the gateway takes it back. */
const BACKGROUND_GRACE_MS = 1000;

/**
 * RFC 9110 field names (tokens) and values (visible ASCII, obs-text, SP and HTAB: no other CTLs),
 * which is also exactly what Node's http accepts: a response that passes never makes writeHead throw
 * after the response has started.
 */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** A response's header section at most (names, values, ": " and CRLF): past it, a guest is producing headers, not a response. */
export const MAX_RESPONSE_HEADER_BYTES = 64 * 1024;

/**
 * The guest's response as a Response whose headers are a plain object: @hono/node-server writes those
 * straight to writeHead, skipping two Headers conversions per request. `extra` (request id, timing)
 * goes in here too, so no middleware has to touch `c.res.headers` afterwards. Everything the guest
 * controls is checked here, so a bad response is a `function_error` and never a failure while writing.
 */
function toHttpResponse(g: GuestResponse, extra: Record<string, string>, method: string, abort: (() => void) | undefined, deadline: number): Response {
  if (!Number.isInteger(g.status) || g.status < 200 || g.status > 599) {
    throw new FaasError('function_error', `function returned status ${g.status}; a response status must be 200-599`);
  }
  if (!Array.isArray(g.headers)) throw new FaasError('function_error', 'function returned malformed headers');
  // A plain object (a prototype-less one is a slow dictionary for Node's writeHead): own properties
  // only are read, and "__proto__" is defined, so a guest header of any name is a header like any other.
  const headers: Record<string, string | string[]> = {};
  let bytes = 0;
  for (const pair of g.headers) {
    const rawName: unknown = Array.isArray(pair) ? pair[0] : undefined;
    const rawValue: unknown = Array.isArray(pair) ? pair[1] : undefined;
    if (typeof rawName !== 'string' || typeof rawValue !== 'string') throw new FaasError('function_error', 'function returned malformed headers');
    bytes += rawName.length + rawValue.length + 4;
    if (bytes > MAX_RESPONSE_HEADER_BYTES) {
      throw new FaasError('function_error', `function returned more than ${MAX_RESPONSE_HEADER_BYTES} bytes of response headers`);
    }
    const name = rawName.toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    const value = trimHttpWhitespace(rawValue);
    if (!HEADER_NAME.test(name)) throw new FaasError('function_error', `function returned an invalid header name: ${JSON.stringify(rawName.slice(0, 64))}`);
    if (BAD_HEADER_VALUE.test(value)) {
      throw new FaasError('function_error', `function returned an invalid value for header ${JSON.stringify(name.slice(0, 64))}: control characters and characters above U+00FF are not allowed`);
    }
    const prev = Object.hasOwn(headers, name) ? headers[name] : undefined;
    if (prev === undefined) {
      if (name === '__proto__') Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
      else headers[name] = value;
    }
    else if (name === 'set-cookie') headers[name] = Array.isArray(prev) ? [...prev, value] : [prev, value];
    else headers[name] = `${prev}, ${value}`;
  }
  Object.assign(headers, extra);
  const noBody = NULL_BODY_STATUS.has(g.status) || method === 'HEAD';
  if (g.stream) {
    if (noBody) g.stream.cancel('no body is sent');
    else return new Response(webStream(g.stream, abort, deadline), { status: g.status, headers: headers as Record<string, string> });
  }
  // A Uint8Array (not an ArrayBuffer) body keeps @hono/node-server on its fast path: written out
  // directly instead of being wrapped in a stream.
  const body = noBody || !g.body ? null : new Uint8Array(g.body);
  return new Response(body, { status: g.status, headers: headers as Record<string, string> });
}

/**
 * A streamed response body as the web stream @hono/node-server writes out: a chunk is pulled only when
 * the client's socket took the last one (it waits for 'drain'), so a slow client slows the function
 * down instead of piling chunks up here. Headers go out at once, before the first chunk. A stream
 * that fails cuts the response off (the client sees an incomplete body, never a clean end); a client
 * that goes away cancels the stream (the guest's cancel runs, an upstream it pipes is released). The
 * runtime ends a stream at the function's deadline; this is the gateway's own backstop for one that
 * nobody pulls (a client that stopped reading).
 */
function webStream(source: ByteSource, abort: (() => void) | undefined, deadline: number): ReadableStream<Uint8Array> {
  let done = false;
  const stop = () => {
    done = true;
    clearTimeout(timer);
  };
  const timer = setTimeout(() => {
    if (done) return;
    stop();
    source.cancel('the function ran out of time');
    abort?.();
  }, Math.max(0, deadline - performance.now()));
  timer.unref();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: Uint8Array | null;
        try {
          chunk = await source.read();
        } catch (err) {
          stop();
          // a client's connection is cut off (it sees an incomplete body); a reader in the gateway (MCP) sees the error
          if (abort) {
            abort();
            controller.close();
          } else controller.error(err);
          return;
        }
        if (chunk === null) {
          stop();
          controller.close();
        } else if (chunk.byteLength > 0) controller.enqueue(chunk);
      },
      cancel() {
        if (done) return;
        stop();
        source.cancel('the client went away');
      },
    },
    { highWaterMark: 0 },
  );
}

/** Whether a request carries a body at all (HTTP/1.1: a length or a transfer coding says so). */
function hasBody(h: Record<string, string | string[] | undefined>): boolean {
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

/** Leading and trailing SP, HTAB, CR and LF go, as the Fetch standard normalises a header value. */
function trimHttpWhitespace(v: string): string {
  const n = v.length;
  if (n === 0 || (!isHttpWhitespace(v.charCodeAt(0)) && !isHttpWhitespace(v.charCodeAt(n - 1)))) return v;
  return v.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
}

const isHttpWhitespace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** Header `name` (lower case) from a rawHeaders list, repeated ones joined as Node joins them. */
function headerOf(raw: string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== name) continue;
    value = value === undefined ? raw[i + 1] : `${value}${name === 'cookie' ? '; ' : ', '}${raw[i + 1]}`;
  }
  return value;
}

function headerPairs(raw: string[], drop?: string): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name !== drop) out.push([name, raw[i + 1]!]);
  }
  return out;
}

/** The guest gets an ArrayBuffer of exactly the body (Node may hand out a slice of a shared pool). */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes.buffer as ArrayBuffer)
    : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}
