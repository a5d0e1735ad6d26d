import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressPolicy } from './egress.ts';
import { EgressCounters } from './egress-counters.ts';
import { checkedLookup, DEFAULT_FETCH_LIMITS, fetchOp, performFetch, type FetchInit } from './fetch.ts';
import type { OpContext } from './services.ts';
import { engineUnderTest, invokeSource } from '../../test/helpers/sandbox.ts';

let upstream: Server;
let port: number;
/** A second origin (another port), for cross-origin redirects. */
let other: Server;
let otherPort: number;
/** Responses held open by /hold until the test releases them. */
const held: ServerResponse[] = [];

/** Serves /headers (echoes request headers), /big (?bytes, ?length=0 for chunked) and /hold; else undefined. */
function common(req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/headers') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.headers));
    return true;
  }
  if (url.pathname === '/big') {
    const bytes = Number(url.searchParams.get('bytes'));
    if (url.searchParams.get('length') !== '0') res.setHeader('content-length', bytes);
    res.on('error', () => {});
    const chunk = Buffer.alloc(64 * 1024, 120);
    let sent = 0;
    const pump = () => {
      while (sent < bytes && !res.destroyed) {
        const n = Math.min(chunk.length, bytes - sent);
        sent += n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
    return true;
  }
  if (url.pathname === '/hold') {
    held.push(res);
    return true;
  }
  return false;
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (common(req, res)) return;
      const cross = /^\/to-other\/(\d+)$/.exec(req.url ?? '');
      if (cross) {
        res.writeHead(Number(cross[1]), { location: `http://127.0.0.1:${otherPort}/back` }).end();
        return;
      }
      if (req.url === '/to-ip') {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/headers` }).end();
        return;
      }
      if (req.url === '/to-self') {
        res.writeHead(302, { location: '/headers' }).end();
        return;
      }
      if (req.url === '/to-credentials') {
        res.writeHead(302, { location: `http://user:secret@127.0.0.1:${port}/headers` }).end();
        return;
      }
      if (req.url === '/redirect-internal') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end();
        return;
      }
      if (req.url === '/redirect-ok') {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/echo` }).end();
        return;
      }
      if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 2000);
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.end(JSON.stringify({ method: req.method, url: req.url, header: req.headers['x-test'] ?? null, body: Buffer.concat(chunks).toString() }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  port = (upstream.address() as AddressInfo).port;
  other = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // /back sends the request home again: credentials dropped on the way out must stay dropped.
      if (req.url === '/back') res.writeHead(307, { location: `http://127.0.0.1:${port}/headers` }).end();
      else if (!common(req, res)) res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  otherPort = (other.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const res of held) res.destroy();
  await Promise.all([upstream, other].map((s) => new Promise<void>((r) => s.close(() => r()))));
});

const proxy = (target: string, init = '{}') => `
export default {
  async fetch() {
    try {
      const res = await fetch(${target}, ${init});
      return Response.json({ status: res.status, redirected: res.redirected, type: res.headers.get('content-type'), body: await res.text() });
    } catch (e) {
      return Response.json({ error: e.name, message: e.message }, { status: 599 });
    }
  },
};`;

describe('guest fetch', () => {
  it('reaches an allowlisted loopback upstream with method, headers and body', async () => {
    const res = await invokeSource(
      proxy(`'http://127.0.0.1:${port}/echo?x=1'`, `{ method: 'POST', headers: { 'x-test': 'yes' }, body: 'héllo' }`),
      {},
      { allowedHosts: [`127.0.0.1:${port}`] },
    );
    expect(res.status).toBe(200);
    const out = res.json();
    expect(out.type).toBe('application/json');
    expect(JSON.parse(out.body)).toEqual({ method: 'POST', url: '/echo?x=1', header: 'yes', body: 'héllo' });
  });

  it('follows redirects that stay allowed', async () => {
    const res = await invokeSource(proxy(`'http://127.0.0.1:${port}/redirect-ok'`), {}, { allowedHosts: [`127.0.0.1:${port}`] });
    expect(res.json().redirected).toBe(true);
  });

  it.each([
    ['loopback without an allowlist entry', `'http://127.0.0.1:${1}/'`],
    ['the metadata address', `'http://169.254.169.254/latest/meta-data'`],
    ['IPv6 loopback', `'http://[::1]:8080/'`],
    ['a host that is not allowlisted', `'http://example.org/'`],
    ['a non-http scheme', `'file:///etc/passwd'`],
  ])('refuses %s with a TypeError naming the policy', async (_label, target) => {
    const res = await invokeSource(proxy(target), {}, { allowedHosts: ['example.com'] });
    expect(res.status).toBe(599);
    expect(res.json().error).toBe('TypeError');
    expect(res.json().message).toMatch(/egress policy|not allowed/);
  });

  it('refuses a redirect into a private range', async () => {
    const res = await invokeSource(proxy(`'http://127.0.0.1:${port}/redirect-internal'`), {}, { allowedHosts: [`127.0.0.1:${port}`] });
    expect(res.json()).toMatchObject({ error: 'TypeError' });
    expect(res.json().message).toMatch(/169\.254\.169\.254.*egress policy/);
  });

  it('a request bounded by the invocation time left fails as a TypeError, not a hang', async () => {
    const res = await invokeSource(proxy(`'http://127.0.0.1:${port}/slow'`), {}, { allowedHosts: [`127.0.0.1:${port}`], timeoutMs: 1500 }).catch((e) => e);
    // Either the fetch times out inside the guest first, or the invocation's wall limit fires: both are clean.
    if ('code' in res) expect(res.code).toBe('timeout');
    else expect(res.json().message).toMatch(/timed out/);
  });
});

/** Fetches `target` with `init` and answers the upstream's JSON (or the error) as JSON. */
const fetchJson = (target: string, init = '{}', prologue = '') => `
export default {
  async fetch() {
    ${prologue}
    try {
      const res = await fetch(${target}, ${init});
      return Response.json({ status: res.status, redirected: res.redirected, url: res.url, json: await res.json() });
    } catch (e) {
      return Response.json({ error: e.name, message: e.message }, { status: 599 });
    }
  },
};`;

/** Reads `target` fully and answers its size, or the error. */
const fetchSize = (target: string, init = '{}') => `
export default {
  async fetch() {
    try {
      const res = await fetch(${target}, ${init});
      return Response.json({ status: res.status, bytes: (await res.arrayBuffer()).byteLength });
    } catch (e) {
      return Response.json({ error: e.name, message: e.message }, { status: 599 });
    }
  },
};`;

describe('guest fetch: host names', () => {
  it('reaches an upstream allowlisted by name (localhost:<port>)', async () => {
    const res = await invokeSource(fetchJson(`'http://localhost:${port}/headers'`), {}, { allowedHosts: [`localhost:${port}`] });
    expect(res.status).toBe(200);
    expect(res.json().json.host).toBe(`localhost:${port}`);
  });

  it('follows a redirect from an IP literal to an allowlisted name', async () => {
    const res = await invokeSource(
      fetchJson(`'http://127.0.0.1:${port}/redirect-ok'`),
      {},
      { allowedHosts: [`127.0.0.1:${port}`, `localhost:${port}`] },
    );
    expect(res.json().redirected).toBe(true);
  });

  it.each([
    ['allowlisted for any port', () => ['localhost']],
    ['allowlisted on another port', () => [`localhost:${port + 1}`, 'localhost']],
  ])('refuses a name that resolves to an internal address when it is %s', async (_label, hosts) => {
    const res = await invokeSource(fetchJson(`'http://localhost:${port}/headers'`), {}, { allowedHosts: hosts() });
    expect(res.status).toBe(599);
    expect(res.json().error).toBe('TypeError');
    expect(res.json().message).toMatch(/localhost:\d+ \(127\.0\.0\.1\) is blocked by the egress policy: internal addresses/);
  });

  it('the lookup answers both shapes Node asks for, with only the allowed addresses', async () => {
    const url = new URL(`http://localhost:${port}/`);
    const lookup = (hosts: string[], options: object) =>
      new Promise<{ err: unknown; address: unknown; family: unknown }>((resolve) =>
        checkedLookup(url, new EgressPolicy(hosts))('localhost', options, (err, address, family) => resolve({ err, address, family })),
      );
    const all = await lookup([`localhost:${port}`], { all: true });
    expect(all.err).toBeNull();
    expect(all.address).toEqual(expect.arrayContaining([{ address: '127.0.0.1', family: 4 }]));
    const one = await lookup([`localhost:${port}`], { family: 4 });
    expect(one).toEqual({ err: null, address: '127.0.0.1', family: 4 });
    const refused = await lookup(['localhost'], { all: true });
    expect(refused.err).toBeInstanceOf(TypeError);
    expect(String((refused.err as Error).message)).toMatch(/egress policy/);
  });
});

describe('guest fetch: redirects and credentials', () => {
  const credentials = `{ headers: { authorization: 'Bearer s3cret', cookie: 'session=1', 'proxy-authorization': 'Basic eA==', 'x-custom': 'kept' } }`;
  const allowed = () => ({ allowedHosts: [`127.0.0.1:${port}`, `127.0.0.1:${otherPort}`, `localhost:${port}`] });

  it.each([301, 302, 303, 307, 308])('drops Authorization, Cookie and Proxy-Authorization on a cross-origin %i (and keeps them dropped on the way back)', async (status) => {
    const res = await invokeSource(fetchJson(`'http://127.0.0.1:${port}/to-other/${status}'`, credentials), {}, allowed());
    expect(res.status).toBe(200);
    const { json, url } = res.json();
    expect(url).toBe(`http://127.0.0.1:${port}/headers`);
    expect(json['x-custom']).toBe('kept');
    expect(json).not.toHaveProperty('authorization');
    expect(json).not.toHaveProperty('cookie');
    expect(json).not.toHaveProperty('proxy-authorization');
  });

  it('drops them when only the host name changes (localhost → 127.0.0.1, same port)', async () => {
    const res = await invokeSource(fetchJson(`'http://localhost:${port}/to-ip'`, credentials), {}, allowed());
    expect(res.json().url).toBe(`http://127.0.0.1:${port}/headers`);
    expect(res.json().json).not.toHaveProperty('authorization');
    expect(res.json().json).not.toHaveProperty('cookie');
  });

  it('keeps them on a same-origin redirect', async () => {
    const res = await invokeSource(fetchJson(`'http://127.0.0.1:${port}/to-self'`, credentials), {}, allowed());
    expect(res.json().json).toMatchObject({ authorization: 'Bearer s3cret', cookie: 'session=1', 'proxy-authorization': 'Basic eA==' });
  });

  it('refuses a redirect to a URL with credentials', async () => {
    const res = await invokeSource(fetchJson(`'http://127.0.0.1:${port}/to-credentials'`), {}, allowed());
    expect(res.json()).toMatchObject({ error: 'TypeError' });
    expect(res.json().message).toMatch(/bad redirect: .*includes credentials/);
  });
});

describe('guest fetch: response caps', () => {
  const MiB = 1024 * 1024;
  it.each([
    ['with Content-Length (refused before reading)', '1', /response body of 2097152 bytes exceeds the cap of 1048576 bytes/],
    ['chunked (refused as bytes arrive)', '0', /response body exceeds the cap of 1048576 bytes/],
  ])('a 1 MiB guest cannot receive a 2 MiB body, %s', async (_label, length, message) => {
    const res = await invokeSource(fetchSize(`'http://127.0.0.1:${port}/big?bytes=${2 * MiB}&length=${length}'`), {}, { allowedHosts: [`127.0.0.1:${port}`] });
    expect(res.json()).toMatchObject({ error: 'TypeError' });
    expect(res.json().message).toMatch(message);
  });

  it('a 16 MiB guest receives the same 2 MiB body', async () => {
    const res = await invokeSource(fetchSize(`'http://127.0.0.1:${port}/big?bytes=${2 * MiB}&length=0'`), {}, { allowedHosts: [`127.0.0.1:${port}`], memoryMb: 16 });
    expect(res.json()).toEqual({ status: 200, bytes: 2 * MiB });
  });

  it('the 10 MiB cap still holds for a guest with more memory', async () => {
    const res = await invokeSource(fetchSize(`'http://127.0.0.1:${port}/big?bytes=${10 * MiB + 1}&length=0'`), {}, { allowedHosts: [`127.0.0.1:${port}`], memoryMb: 64 });
    expect(res.json().message).toMatch(/exceeds the cap of 10485760 bytes/);
  });

  it('a HEAD answer with a large Content-Length is not a body', async () => {
    const res = await invokeSource(
      `export default { async fetch() { const r = await fetch('http://127.0.0.1:${port}/big?bytes=${8 * MiB}', { method: 'HEAD' }); return new Response(r.status + ' ' + r.headers.get('content-length')); } };`,
      {},
      { allowedHosts: [`127.0.0.1:${port}`] },
    );
    expect(res.text).toBe(`200 ${8 * MiB}`);
  });
});

describe('guest fetch: what the guest can send', () => {
  const allowed = () => ({ allowedHosts: [`127.0.0.1:${port}`] });

  it.each([
    ['credentials in the URL', () => `'http://user:pass@127.0.0.1:${port}/headers'`, '{}', /includes credentials/],
    ['port 0', () => `'http://127.0.0.1:0/headers'`, '{}', /port 0/],
    ['a port out of range', () => `'http://127.0.0.1:70000/headers'`, '{}', /Invalid URL|invalid URL/],
    ['more than 128 headers', () => `'http://127.0.0.1:${port}/headers'`, `{ headers: Array.from({ length: 200 }, (_, i) => ['x-h' + i, 'v']) }`, /200 request headers exceed 128/],
    ['headers over 64 KiB', () => `'http://127.0.0.1:${port}/headers'`, `{ headers: { 'x-big': 'v'.repeat(70000) } }`, /request headers exceed 65536 bytes/],
  ])('refuses %s with a TypeError', async (_label, target, init, message) => {
    const res = await invokeSource(fetchJson(target(), init), {}, allowed());
    expect(res.status).toBe(599);
    expect(res.json().error).toBe('TypeError');
    expect(res.json().message).toMatch(message);
  });

  // On emscripten an 11 MiB op argument never reaches the host: the engine's own argument passing
  // fails first (a SyntaxError in the guest; an engine issue, reported separately). The host-side
  // check is covered below with fetchOp directly.
  it.skipIf(engineUnderTest.engine === 'emscripten')('refuses a request body over the 10 MiB cap', async () => {
    const res = await invokeSource(fetchJson(`'http://127.0.0.1:${port}/echo'`, `{ method: 'POST', body: new Uint8Array(11 * 1024 * 1024) }`), {}, { ...allowed(), memoryMb: 48 });
    expect(res.json().error).toBe('TypeError');
    expect(res.json().message).toMatch(/request body of 11534336 bytes exceeds the cap of 10485760 bytes/);
  });

  it.each([
    ['a method with spaces', `{ method: 'GET /admin HTTP/1.1' }`, /invalid method/],
    ['a forbidden method', `{ method: 'CONNECT' }`, /method "CONNECT" is not allowed/],
    ['a header name with CRLF', `{ headers: [['x-a\\r\\nx-injected', '1']] }`, /invalid header name/],
    ['a header value with CRLF', `{ headers: [['x-a', 'v\\r\\nx-injected: 1']] }`, /invalid value for header "x-a"/],
  ])('refuses %s even when the guest defeats its own validation', async (_label, init, message) => {
    // The guest's Request checks these with regular expressions; a hostile guest patches them so that
    // every "valid token" test passes and every "forbidden" test fails.
    const res = await invokeSource(fetchJson(`'http://127.0.0.1:${port}/headers'`, init, "RegExp.prototype.test = function () { return this.source.startsWith('^[!#'); };"), {}, allowed());
    expect(res.status).toBe(599);
    expect(res.json().error).toBe('TypeError');
    // With the prelude's own checks intact the guest refuses first; either way nothing reached the upstream.
    expect(res.json().message).toMatch(new RegExp(`${message.source}|not a valid HTTP method|unsupported|Invalid header`));
  });

  it('sends a default User-Agent, and the guest’s own when it sets one', async () => {
    const rt = allowed();
    const plain = await invokeSource(fetchJson(`'http://127.0.0.1:${port}/headers'`), {}, rt);
    expect(plain.json().json['user-agent']).toBe(DEFAULT_FETCH_LIMITS.userAgent);
    expect(DEFAULT_FETCH_LIMITS.userAgent).toMatch(/^faas\/\d+\.\d+\.\d+/);
    const own = await invokeSource(fetchJson(`'http://127.0.0.1:${port}/headers'`, `{ headers: { 'User-Agent': 'mine/1' } }`), {}, rt);
    expect(own.json().json['user-agent']).toBe('mine/1');
  });
});

describe('fetch on the host: malformed arguments and caps', () => {
  const policy = () => new EgressPolicy([`127.0.0.1:${port}`]);
  const good = (): FetchInit => ({ method: 'GET', url: `http://127.0.0.1:${port}/headers`, headers: [], body: null, redirect: 'follow' });

  it.each<[string, () => unknown]>([
    ['null', () => null],
    ['a number', () => 42],
    ['a numeric method', () => ({ ...good(), method: 1 })],
    ['a huge method', () => ({ ...good(), method: 'G'.repeat(100_000) })],
    ['a URL object', () => ({ ...good(), url: { href: 'x' } })],
    ['a URL over 16 KiB', () => ({ ...good(), url: `http://127.0.0.1:${port}/${'a'.repeat(20_000)}` })],
    ['headers as an object', () => ({ ...good(), headers: { a: 'b' } })],
    ['a header pair of three', () => ({ ...good(), headers: [['a', 'b', 'c']] })],
    ['a numeric header value', () => ({ ...good(), headers: [['a', 1]] })],
    ['a sparse header list', () => ({ ...good(), headers: new Array(5) })],
    ['a header value with NUL', () => ({ ...good(), headers: [['a', 'b\0c']] })],
    ['a header value beyond Latin-1', () => ({ ...good(), headers: [['a', '€']] })],
    ['a string body', () => ({ ...good(), method: 'POST', body: 'text' })],
    ['a GET with a body', () => ({ ...good(), body: new Uint8Array(3) })],
    ['an unknown redirect mode', () => ({ ...good(), redirect: 'sometimes' })],
    ['a getter that throws', () => Object.defineProperty(good(), 'headers', { get: () => { throw new Error('boom'); }, enumerable: true })],
    ['a proxy that throws', () => new Proxy(good(), { get: () => { throw new RangeError('boom'); } })],
  ])('%s is a TypeError', async (_label, init) => {
    await expect(performFetch(init() as FetchInit, policy(), {})).rejects.toBeInstanceOf(TypeError);
  });

  it('a well-formed init still works', async () => {
    const res = await performFetch(good(), policy(), {});
    expect(res.status).toBe(200);
  });

  const context = (memoryLimitBytes = 1024 * 1024, invocation = { remainingMs: 10_000 }): OpContext =>
    ({ fn: { config: { allowedHosts: [`127.0.0.1:${port}`] }, memoryLimitBytes }, invocation }) as unknown as OpContext;
  const release = () => held.splice(0).forEach((res) => res.end('released'));

  it('caps a request body at the guest memory', async () => {
    const counters = new EgressCounters();
    const op = fetchOp({}, counters);
    const init = { ...good(), method: 'POST', url: `http://127.0.0.1:${port}/echo`, body: new Uint8Array(2000) };
    await expect(op([init], context(1000))).rejects.toThrow(/request body of 2000 bytes exceeds the cap of 1000 bytes/);
    const huge = { ...init, body: new Uint8Array(10 * 1024 * 1024 + 1) };
    await expect(op([huge], context(64 * 1024 * 1024))).rejects.toThrow(/request body of 10485761 bytes exceeds the cap of 10485760 bytes/);
    expect(counters.snapshot().request_too_large).toBe(2);
  });

  it('caps the fetches in flight on a runtime: over the cap they wait, then are refused as busy', async () => {
    const counters = new EgressCounters();
    const op = fetchOp({ maxConcurrent: 2, queueTimeoutMs: 300 }, counters);
    const hold = { ...good(), url: `http://127.0.0.1:${port}/hold` };
    const first = [op([hold], context()), op([hold], context())] as Promise<any>[];
    const started = Date.now();
    await expect(op([good()], context())).rejects.toThrow(/2 outgoing fetches are already in flight on this runtime; none finished within 300 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // A waiter gets the slot as soon as one frees.
    const waiting = op([good()], context()) as Promise<any>;
    await new Promise((r) => setTimeout(r, 50));
    release();
    expect((await Promise.all(first)).map((r) => r.status)).toEqual([200, 200]);
    expect((await waiting).status).toBe(200);
    expect(counters.snapshot()).toMatchObject({ ok: 3, busy: 1 });
  });

  it('caps the fetches in flight for one invocation: more are refused at once', async () => {
    const counters = new EgressCounters();
    const op = fetchOp({ maxPerInvocation: 3 }, counters);
    const ctx = context();
    const hold = { ...good(), url: `http://127.0.0.1:${port}/hold` };
    const inflight = [op([hold], ctx), op([hold], ctx), op([hold], ctx)] as Promise<any>[];
    await expect(op([good()], ctx)).rejects.toThrow(/this invocation already has 3 fetches in flight/);
    // Another invocation is not affected.
    expect(((await op([good()], context())) as any).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    release();
    await Promise.all(inflight);
    // Slots come back once they finish.
    expect(((await op([good()], ctx)) as any).status).toBe(200);
    expect(counters.snapshot()).toMatchObject({ ok: 5, too_many_fetches: 1 });
  });
});
