import { FAAS_VERSION } from '../../contract/version.ts';
import http from 'node:http';
import https from 'node:https';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import type { Invocation } from '../invocation.ts';
import { EgressPolicy } from './egress.ts';
import { EgressCounters, FetchRefused } from './egress-counters.ts';
import { FetchGate } from './fetch-gate.ts';
import { checkedRequest, parseTarget, type OutgoingRequest } from './fetch-request.ts';
import type { BoundOp } from './services.ts';
import type { ByteSource } from '../body-stream.ts';
import { readableSource } from './readable-source.ts';

export interface FetchInit {
  method: string;
  url: string;
  headers: [string, string][];
  body: ArrayBuffer | Uint8Array | null;
  redirect: 'follow' | 'manual' | 'error';
}

export interface FetchResult {
  status: number;
  statusText: string;
  url: string;
  redirected: boolean;
  headers: [string, string][];
  /** The body held whole: a short one (declared at most SMALL_BODY bytes), or an empty one. */
  body: ArrayBuffer | null;
  /** Else the body as it arrives from the upstream, read as the guest reads it. */
  stream?: ByteSource;
  /** Its Content-Length, when the upstream declared one. */
  declaredLength?: number;
}

/**
 * A response that declares at most this many bytes is read whole before fetch() resolves (one
 * crossing into the guest); anything longer or of unknown length streams.
 */
const SMALL_BODY = 64 * 1024;

export interface FetchLimits {
  /** Cap on one upstream request, further bounded by the invocation's remaining wall time. */
  timeoutMs: number;
  /**
   * Cap on a response body the guest holds whole (a short one read before fetch() resolves, or a
   * streamed one it buffers with text(), arrayBuffer() …); `fetchOp` lowers it to the calling
   * function's guest memory. A body the guest passes on as a stream is not held and not capped.
   */
  maxResponseBytes: number;
  maxRedirects: number;
  /** Cap on one request body; `fetchOp` lowers it to the calling function's guest memory. */
  maxRequestBytes: number;
  maxRequestHeaders: number;
  /** Names plus values of all request headers. */
  maxRequestHeaderBytes: number;
  maxUrlLength: number;
  /** Outgoing fetches in flight at once in one runtime (one per worker thread); more wait for a slot. */
  maxConcurrent: number;
  /** How long a fetch waits for such a slot (within its own timeout) before it is refused. */
  queueTimeoutMs: number;
  /** Fetches one invocation may have in flight; more are refused at once. */
  maxPerInvocation: number;
  /** Sent when the guest sets no User-Agent; empty sends none. */
  userAgent: string;
}

const VERSION = FAAS_VERSION;

export const DEFAULT_FETCH_LIMITS: FetchLimits = {
  timeoutMs: 30_000,
  maxResponseBytes: 10 * 1024 * 1024,
  maxRedirects: 20,
  maxRequestBytes: 10 * 1024 * 1024,
  maxRequestHeaders: 128,
  maxRequestHeaderBytes: 64 * 1024,
  maxUrlLength: 16 * 1024,
  maxConcurrent: 64,
  queueTimeoutMs: 5_000,
  maxPerInvocation: 32,
  userAgent: `faas/${VERSION}`,
};

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length']);
/** Dropped when a redirect leaves the origin they were given for, as the Fetch standard (and undici) do. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

/**
 * The guest's `fetch`, performed by the host under the function's egress policy. One op per runtime:
 * its gate caps the fetches in flight on this runtime, and `counters` (shared with the gateway
 * thread) count every outcome.
 */
export function fetchOp(limits: Partial<FetchLimits> = {}, counters: EgressCounters = new EgressCounters()): BoundOp {
  const base: FetchLimits = { ...DEFAULT_FETCH_LIMITS, ...limits };
  const gate = new FetchGate(base.maxConcurrent);
  const policies = new WeakMap<object, EgressPolicy>();
  const inFlight = new WeakMap<Invocation, number>();
  return async (args, { fn, invocation }) => {
    let release: (() => void) | undefined;
    let holding = false;
    try {
      const timeoutMs = Math.min(base.timeoutMs, invocation.remainingMs);
      const deadline = Date.now() + timeoutMs;
      // The host never holds more for one request than the guest could hold itself.
      const perFetch: FetchLimits = {
        ...base,
        maxResponseBytes: Math.min(base.maxResponseBytes, fn.memoryLimitBytes),
        maxRequestBytes: Math.min(base.maxRequestBytes, fn.memoryLimitBytes),
      };
      const request = checkedRequest(args[0], perFetch);
      let policy = policies.get(fn);
      if (!policy) policies.set(fn, (policy = new EgressPolicy(fn.config.allowedHosts)));
      // Refused before waiting for a slot: a refusal needs no upstream.
      const refusal = policy.checkUrl(request.url);
      if (refusal) throw new FetchRefused('policy', refusal);
      const pending = inFlight.get(invocation) ?? 0;
      if (pending >= base.maxPerInvocation) {
        throw new FetchRefused('too_many_fetches', `fetch refused: this invocation already has ${base.maxPerInvocation} fetches in flight`);
      }
      inFlight.set(invocation, pending + 1);
      holding = true;
      release = await gate.acquire(Math.min(base.queueTimeoutMs, timeoutMs));
      const result = await send(request, policy, { ...perFetch, timeoutMs: deadline - Date.now() });
      counters.count('ok');
      // usage metering: what went out now, and what comes back as it is read (a streamed body that
      // is passed on counts as it passes, a body given up early only what was read of it)
      invocation.egressBytes += request.body?.byteLength ?? 0;
      if (!result.stream) {
        invocation.egressBytes += result.body?.byteLength ?? 0;
        return result;
      }
      // A streamed body keeps its slots (this runtime's and the invocation's) until it is done.
      const slot = release;
      const done = once(() => {
        slot?.();
        leave(invocation);
      });
      holding = false;
      release = undefined;
      const source = whenDone(result.stream, done, (bytes) => (invocation.egressBytes += bytes));
      const streams = (invocation as Partial<Invocation>).streams;
      if (!streams) {
        // an embedder without body streams: the body is read whole, under the cap
        return { ...result, stream: undefined, body: await readCapped(source, perFetch.maxResponseBytes, request.url.origin) };
      }
      const what = `fetch to ${request.url.origin} failed: response body`;
      let id: number;
      try {
        id = streams.addHost(source, { maxBuffered: perFetch.maxResponseBytes, declaredLength: result.declaredLength, what, onOverflow: () => counters.count('response_too_large') });
      } catch (err) {
        source.cancel('refused');
        throw err;
      }
      const { stream: _, declaredLength: __, ...head } = result;
      return { ...head, body: null, stream: id };
    } catch (err) {
      counters.count(err instanceof FetchRefused ? err.reason : 'failed');
      throw err;
    } finally {
      release?.();
      if (holding) leave(invocation);
    }
  };

  function leave(invocation: Invocation): void {
    const left = (inFlight.get(invocation) ?? 1) - 1;
    if (left > 0) inFlight.set(invocation, left);
    else inFlight.delete(invocation);
  }
}

function once(f: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    f();
  };
}

/** `source`, calling `done` once it ended, failed or was cancelled, and `took` with each chunk's size. */
function whenDone(source: ByteSource, done: () => void, took: (bytes: number) => void): ByteSource {
  return {
    read: () =>
      source.read().then(
        (chunk) => {
          if (chunk === null) done();
          else took(chunk.byteLength);
          return chunk;
        },
        (err) => {
          done();
          throw err;
        },
      ),
    cancel(reason) {
      done();
      source.cancel(reason);
    },
  };
}

async function readCapped(source: ByteSource, max: number, origin: string): Promise<ArrayBuffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let c = await source.read(); c !== null; c = await source.read()) {
    size += c.byteLength;
    if (size > max) {
      source.cancel('too large');
      throw new FetchRefused('response_too_large', `fetch to ${origin} failed: response body exceeds the cap of ${max} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks, size).buffer.slice(0) as ArrayBuffer;
}

/** One fetch with its redirects. `init` is checked here too: a malformed one is a TypeError, never a host exception. */
export async function performFetch(init: FetchInit, policy: EgressPolicy, limits: Partial<FetchLimits>): Promise<FetchResult> {
  const full: FetchLimits = { ...DEFAULT_FETCH_LIMITS, ...limits };
  return send(checkedRequest(init, full), policy, full);
}

async function send(request: OutgoingRequest, policy: EgressPolicy, limits: FetchLimits): Promise<FetchResult> {
  const deadline = Date.now() + limits.timeoutMs;
  let { url, method, body, headers } = request;
  if (limits.userAgent && !headers.some(([k]) => k.toLowerCase() === 'user-agent')) headers = [...headers, ['user-agent', limits.userAgent]];
  for (let hop = 0; ; hop++) {
    const refusal = policy.checkUrl(url);
    if (refusal) throw new FetchRefused('policy', refusal);
    const res = await requestOnce(url, method, headers, body, policy, deadline, limits.maxResponseBytes);
    const location = res.headers.find(([k]) => k === 'location')?.[1];
    if (!location || ![301, 302, 303, 307, 308].includes(res.status) || request.redirect === 'manual') {
      return { ...res, url: url.href, redirected: hop > 0 };
    }
    // a redirect's own body is not wanted
    res.stream?.cancel('redirected');
    if (request.redirect === 'error') throw new TypeError(`fetch failed: redirect to ${location} with redirect mode "error"`);
    if (hop >= limits.maxRedirects) throw new TypeError(`fetch failed: more than ${limits.maxRedirects} redirects`);
    let next: URL;
    try {
      next = parseTarget(location, url);
    } catch (err) {
      // The upstream's fault, not the guest's: a failed fetch, not an invalid request.
      throw new TypeError(`fetch to ${url.origin} failed: bad redirect: ${(err as Error).message}`);
    }
    if (next.origin !== url.origin) headers = headers.filter(([k]) => !CREDENTIAL_HEADERS.has(k.toLowerCase()));
    url = next;
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = null;
      headers = headers.filter(([k]) => !k.toLowerCase().startsWith('content-'));
    }
  }
}

/**
 * Keep-alive agents per policy (one per function): a pooled socket was checked against the policy
 * of the function that opened it, so it must never carry another function's request.
 */
const agents = new WeakMap<EgressPolicy, { 'http:'?: http.Agent; 'https:'?: https.Agent }>();

function agentFor(policy: EgressPolicy, protocol: string): http.Agent {
  let pair = agents.get(policy);
  if (!pair) agents.set(policy, (pair = {}));
  // Idle sockets close after 4 s: before the common 5 s server keep-alive, so a reused socket is not one the server is closing.
  const options = { keepAlive: true, timeout: 4_000, maxFreeSockets: 8 };
  if (protocol === 'https:') return (pair['https:'] ??= new https.Agent(options));
  return (pair['http:'] ??= new http.Agent(options));
}

/**
 * Resolves the name and keeps only the addresses the policy allows; the socket connects to one of
 * those and no other (no second resolution), so a DNS answer cannot race the check. Node 20 asks for
 * every address (`all`, for happy eyeballs) or for one of a `family`; both are answered.
 */
export function checkedLookup(url: URL, policy: EgressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { family: options.family, hints: options.hints, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, options.all ? [] : '', 0);
      const allowed = addresses.filter((a) => !policy.checkAddress(url, a.address));
      if (allowed.length === 0) {
        const refusal = addresses.length ? policy.checkAddress(url, addresses[0]!.address)! : `fetch to ${url.host} failed: no address for ${hostname}`;
        return callback(new FetchRefused('policy', refusal) as unknown as NodeJS.ErrnoException, options.all ? [] : '', 0);
      }
      if (options.all) callback(null, allowed);
      else callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

function requestOnce(
  url: URL,
  method: string,
  headers: [string, string][],
  body: Uint8Array | null,
  policy: EgressPolicy,
  deadline: number,
  maxBytes: number,
): Promise<Omit<FetchResult, 'url' | 'redirected'>> {
  return new Promise((resolve, reject) => {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return reject(new TypeError(`fetch to ${url.origin} timed out`));
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal)) {
      const refusal = policy.checkAddress(url, literal);
      if (refusal) return reject(new FetchRefused('policy', refusal));
    }
    const outHeaders: Record<string, string | string[]> = {};
    for (const [k, v] of headers) {
      const key = k.toLowerCase();
      if (HOP_BY_HOP.has(key)) continue;
      const prev = outHeaders[key];
      outHeaders[key] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    if (body) outHeaders['content-length'] = String(body.byteLength);
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, {
      method,
      headers: outHeaders,
      agent: agentFor(policy, url.protocol),
      lookup: checkedLookup(url, policy),
      timeout: remaining,
    });

    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err instanceof FetchRefused ? err : new TypeError(`fetch to ${url.origin} failed: ${err instanceof Error ? err.message : String(err)}`));
      req.destroy();
    };
    const timedOut = () => fail(new TypeError(`fetch to ${url.origin} timed out`));
    const timer = setTimeout(timedOut, remaining);
    req.on('timeout', timedOut);
    req.on('error', fail);
    // The lookup above is the gate; this checks again the address actually connected to, in case a
    // socket ever reaches it by another path (an IP literal is checked before the request).
    req.on('socket', (socket) => {
      const verify = () => {
        const refusal = socket.remoteAddress ? policy.checkAddress(url, socket.remoteAddress) : undefined;
        if (refusal) fail(new FetchRefused('policy', refusal));
      };
      if (socket.connecting) socket.once('connect', verify);
      else verify();
    });
    req.on('response', (res) => {
      const tooLarge = (what: string) =>
        fail(new FetchRefused('response_too_large', `fetch to ${url.origin} failed: ${what} exceeds the cap of ${maxBytes} bytes`));
      const declared = Number(res.headers['content-length']);
      const bodyless = method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304;
      const pairs: [string, string][] = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
      const head = { status: res.statusCode ?? 0, statusText: res.statusMessage ?? '' , headers: pairs };
      if (!bodyless && !(declared <= SMALL_BODY)) {
        // Streamed: handed over now, read as the guest reads (a reader that stops stops the upstream).
        settled = true;
        clearTimeout(timer);
        const source = readableSource(res, {
          failure: (err) => new TypeError(`fetch to ${url.origin} failed: ${err ? err.message : 'the connection closed before the response was complete'}`),
          release: () => req.destroy(),
        });
        resolve({ ...head, body: null, stream: source, declaredLength: Number.isFinite(declared) ? declared : undefined });
        return;
      }
      // Refused before a byte of the body is read when the upstream says how much is coming.
      if (!bodyless && declared > maxBytes) return tooLarge(`response body of ${declared} bytes`);
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) return tooLarge('response body');
        chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(new TypeError(`fetch to ${url.origin} failed: the connection closed before the response was complete`));
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // One exact-size copy, so the guest receives an ArrayBuffer of its own.
        const bytes = new Uint8Array(size);
        let offset = 0;
        for (const c of chunks) {
          bytes.set(c, offset);
          offset += c.length;
        }
        resolve({ ...head, body: bytes.buffer });
      });
    });
    req.end(body ?? undefined);
  });
}
