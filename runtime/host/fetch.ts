import http from 'node:http';
import https from 'node:https';
import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { EgressPolicy } from './egress.ts';
import type { BoundOp } from './services.ts';

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
  body: ArrayBuffer;
}

export interface FetchLimits {
  /** Cap on one upstream request, further bounded by the invocation's remaining wall time. */
  timeoutMs: number;
  maxResponseBytes: number;
  maxRedirects: number;
}

export const DEFAULT_FETCH_LIMITS: FetchLimits = {
  timeoutMs: 30_000,
  maxResponseBytes: 10 * 1024 * 1024,
  maxRedirects: 20,
};

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length']);

/** The guest's `fetch`, performed by the host under the function's egress policy. */
export function fetchOp(limits: FetchLimits = DEFAULT_FETCH_LIMITS): BoundOp {
  const policies = new WeakMap<object, EgressPolicy>();
  return (args, { fn, invocation }) => {
    let policy = policies.get(fn);
    if (!policy) policies.set(fn, (policy = new EgressPolicy(fn.config.allowedHosts)));
    const timeoutMs = Math.min(limits.timeoutMs, invocation.remainingMs);
    return performFetch(args[0] as FetchInit, policy, { ...limits, timeoutMs });
  };
}

export async function performFetch(init: FetchInit, policy: EgressPolicy, limits: FetchLimits): Promise<FetchResult> {
  const deadline = Date.now() + limits.timeoutMs;
  let url = parseUrl(init.url);
  let method = init.method.toUpperCase();
  let body: Uint8Array | null = init.body ? new Uint8Array(init.body as ArrayBuffer) : null;
  let headers = init.headers;
  for (let hop = 0; ; hop++) {
    const refusal = policy.checkUrl(url);
    if (refusal) throw new TypeError(refusal);
    const res = await requestOnce(url, method, headers, body, policy, deadline, limits.maxResponseBytes);
    const location = res.headers.find(([k]) => k === 'location')?.[1];
    if (!location || ![301, 302, 303, 307, 308].includes(res.status) || init.redirect === 'manual') {
      return { ...res, url: url.href, redirected: hop > 0 };
    }
    if (init.redirect === 'error') throw new TypeError(`fetch failed: redirect to ${location} with redirect mode "error"`);
    if (hop >= limits.maxRedirects) throw new TypeError(`fetch failed: more than ${limits.maxRedirects} redirects`);
    url = parseUrl(location, url);
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = null;
      headers = headers.filter(([k]) => !k.toLowerCase().startsWith('content-'));
    }
  }
}

function parseUrl(input: string, base?: URL): URL {
  try {
    return new URL(input, base);
  } catch {
    throw new TypeError(`fetch failed: invalid URL "${input}"`);
  }
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
    // Resolve, then check the address actually connected to: a DNS answer cannot smuggle a
    // request into an internal range.
    const lookup: LookupFunction = (hostname, options, cb) => {
      dnsLookup(hostname, { ...options, all: false }, (err, address, family) => {
        if (err) return cb(err, '', 0);
        const refusal = policy.checkAddress(url, address as string);
        if (refusal) return cb(new TypeError(refusal) as NodeJS.ErrnoException, '', 0);
        cb(null, address as string, family as number);
      });
    };
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal)) {
      const refusal = policy.checkAddress(url, literal);
      if (refusal) return reject(new TypeError(refusal));
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
    const req = mod.request(url, { method, headers: outHeaders, lookup, timeout: remaining });
    const timer = setTimeout(() => req.destroy(new TypeError(`fetch to ${url.origin} timed out`)), remaining);
    req.on('timeout', () => req.destroy(new TypeError(`fetch to ${url.origin} timed out`)));
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err instanceof TypeError ? err : new TypeError(`fetch to ${url.origin} failed: ${err.message}`));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          req.destroy(new TypeError(`fetch to ${url.origin} failed: response body exceeds ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err) => reject(err instanceof TypeError ? err : new TypeError(`fetch failed: ${err.message}`)));
      res.on('end', () => {
        clearTimeout(timer);
        const buf = Buffer.concat(chunks);
        const pairs: [string, string][] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: pairs,
          body: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer,
        });
      });
    });
    req.end(body ?? undefined);
  });
}
