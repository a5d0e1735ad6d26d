/**
 * Guest fetch as an attacker uses it: credentials carried to another origin by a redirect, the
 * host made to buffer responses the guest could never hold, a flood of fetches from one invocation,
 * internal addresses behind names, and requests the guest's own validation was patched to let through.
 * Every upstream is a real HTTP server on loopback.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bounded, startAttackGateway, type AttackGateway } from './harness.ts';

const MiB = 1024 * 1024;

interface Upstream {
  server: Server;
  port: number;
  /** Headers of every request this upstream received, with its path. */
  seen: { path: string; headers: IncomingHttpHeaders }[];
  held: ServerResponse[];
}

/** /big?bytes&length=0|1, /hold (answered when the test releases it), /redirect?to&status; anything else echoes. */
async function upstream(): Promise<Upstream> {
  const u: Upstream = { server: createServer(), port: 0, seen: [], held: [] };
  const chunk = Buffer.alloc(64 * 1024, 120);
  u.server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    u.seen.push({ path: url.pathname, headers: req.headers });
    req.resume();
    res.on('error', () => {});
    if (url.pathname === '/big') {
      const bytes = Number(url.searchParams.get('bytes'));
      if (url.searchParams.get('length') !== '0') res.setHeader('content-length', bytes);
      let sent = 0;
      const pump = () => {
        while (sent < bytes && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    if (url.pathname === '/hold') return void u.held.push(res);
    if (url.pathname === '/redirect') {
      return void res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('to')! }).end();
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: url.pathname, headers: req.headers }));
  });
  await new Promise<void>((r) => u.server.listen(0, '127.0.0.1', r));
  u.port = (u.server.address() as AddressInfo).port;
  return u;
}

/** A function that fetches `?to=` with `init` after running `prologue`, and answers what happened. */
const probe = (init = '{}', prologue = '') => `export default {
  async fetch(request) {
    const to = new URL(request.url).searchParams.get('to');
    ${prologue}
    try {
      const res = await fetch(to, ${init});
      const body = await res.arrayBuffer();
      return Response.json({ status: res.status, url: res.url, bytes: body.byteLength, text: body.byteLength < 65536 ? new TextDecoder().decode(body) : '' });
    } catch (e) {
      return Response.json({ error: e.name, message: e.message }, { status: 502 });
    }
  },
};`;

describe('egress attacks', () => {
  let t: AttackGateway;
  let home: Upstream;
  let evil: Upstream;

  beforeAll(async () => {
    [home, evil] = await Promise.all([upstream(), upstream()]);
    t = await startAttackGateway();
  });
  afterEach(() => {
    for (const u of [home, evil]) {
      u.held.splice(0).forEach((res) => res.destroy());
      u.seen.length = 0;
    }
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([home, evil].map((u) => u && new Promise<void>((r) => u.server.close(() => r()))));
  });

  const call = async (fn: string, to: string) => {
    const res = await t.fn(fn, `?to=${encodeURIComponent(to)}`, { signal: AbortSignal.timeout(30_000) });
    return { status: res.status, body: (await res.json()) as any };
  };

  describe('credentials on redirects', () => {
    const creds = `{ method: 'POST', body: 'payload', headers: { authorization: 'Bearer s3cret', cookie: 'sid=42', 'proxy-authorization': 'Basic eA==', 'x-trace': 'kept' } }`;

    it.each([
      ['a 302 to another port', () => `http://127.0.0.1:${evil.port}/steal`, 302],
      ['a 307 (method and body kept) to another port', () => `http://127.0.0.1:${evil.port}/steal`, 307],
      ['a 308 to the same port under another host name', () => `http://localhost:${home.port}/steal`, 308],
    ])('are not carried by %s', async (_label, target, status) => {
      await t.deployOk('creds', probe(creds), {
        allowedHosts: [`127.0.0.1:${home.port}`, `127.0.0.1:${evil.port}`, `localhost:${home.port}`],
      });
      const to = `http://127.0.0.1:${home.port}/redirect?status=${status}&to=${encodeURIComponent(target())}`;
      const res = await call('creds', to);
      expect(res.status).toBe(200);
      const stolen = [...home.seen, ...evil.seen].filter((s) => s.path === '/steal');
      expect(stolen).toHaveLength(1);
      expect(stolen[0]!.headers).not.toHaveProperty('authorization');
      expect(stolen[0]!.headers).not.toHaveProperty('cookie');
      expect(stolen[0]!.headers).not.toHaveProperty('proxy-authorization');
      expect(stolen[0]!.headers['x-trace']).toBe('kept');
      // The first hop, to the origin they were meant for, had them.
      expect(home.seen.find((s) => s.path === '/redirect')!.headers.authorization).toBe('Bearer s3cret');
      await t.assertHealthy();
    });
  });

  describe('host memory', () => {
    it.each([
      ['with Content-Length', '1', /response body of 10485760 bytes exceeds the cap of 1048576 bytes/],
      ['chunked', '0', /response body exceeds the cap of 1048576 bytes/],
    ])('50 concurrent 10 MB responses (%s) to 1 MiB guests are refused at the guest’s size', async (_label, length, message) => {
      await t.deployOk('pull', probe(), { memoryMb: 1, allowedHosts: [`127.0.0.1:${home.port}`] });
      const to = `http://127.0.0.1:${home.port}/big?bytes=${10 * MiB}&length=${length}`;
      const answers = await bounded(60_000, '50 concurrent pulls', () => Promise.all(Array.from({ length: 50 }, () => call('pull', to))));
      for (const a of answers) {
        expect(a.status).toBe(502);
        expect(a.body.error).toBe('TypeError');
        expect(a.body.message).toMatch(message);
      }
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      const refused = Number(/faas_egress_requests_total\{outcome="response_too_large"\} (\d+)/.exec(metrics)?.[1]);
      expect(refused).toBeGreaterThanOrEqual(50);
      await t.assertHealthy();
    });

    it.each([
      ['GETs', `{}`],
      ['POSTs of one reused 16 KiB buffer', `{ method: 'POST', body: new Uint8Array(16 * 1024) }`],
    ])('one invocation firing 200 %s at once gets at most 32 in flight; the rest are refused', async (_label, init) => {
      const flood = `export default {
        async fetch(request) {
          const to = new URL(request.url).searchParams.get('to');
          const body = new Uint8Array(16 * 1024);
          const results = await Promise.allSettled(Array.from({ length: 200 }, () => fetch(to, ${init.replace('new Uint8Array(16 * 1024)', 'body')})));
          const refused = results.filter((r) => r.status === 'rejected');
          return Response.json({ ok: results.length - refused.length, refused: refused.length, messages: [...new Set(refused.map((r) => r.reason.name + ': ' + r.reason.message))] });
        },
      };`;
      await t.deployOk('flood', flood, { memoryMb: 16, timeoutMs: 30_000, allowedHosts: [`127.0.0.1:${home.port}`] });
      const pending = call('flood', `http://127.0.0.1:${home.port}/hold`);
      // Wait until the upstream holds what got through, then let it all finish.
      await bounded(20_000, 'the held requests to arrive', async () => {
        let last = -1;
        while (home.held.length === 0 || home.held.length !== last) {
          last = home.held.length;
          await new Promise((r) => setTimeout(r, 200));
        }
      });
      expect(home.held.length).toBeLessThanOrEqual(32);
      home.held.splice(0).forEach((res) => res.end('ok'));
      const res = await bounded(30_000, 'the flood', () => pending);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.ok).toBe(32);
      expect(res.body.refused).toBe(168);
      expect(res.body.messages).toEqual(['TypeError: fetch refused: this invocation already has 32 fetches in flight']);
      await t.assertHealthy();
    });
  });

  describe('internal addresses', () => {
    it('a name allowlisted exactly reaches a loopback upstream (the control)', async () => {
      await t.deployOk('named', probe(), { allowedHosts: [`localhost:${home.port}`] });
      const res = await call('named', `http://localhost:${home.port}/hello`);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body.text).headers['user-agent']).toMatch(/^faas\//);
      await t.assertHealthy();
    });

    it.each([
      ['a name allowlisted for any port that resolves to loopback', () => ['localhost'], () => `http://localhost:${home.port}/`],
      ['a subdomain wildcard cannot reach a loopback name', () => ['*.localhost', 'localhost:1'], () => `http://localhost:${home.port}/`],
      ['loopback as a decimal number', () => ['2130706433'], () => `http://2130706433:${home.port}/`],
      ['loopback in hex', () => ['0x7f.1'], () => `http://0x7f.1:${home.port}/`],
      ['loopback as IPv4-mapped IPv6', () => ['[::ffff:7f00:1]'], () => `http://[::ffff:127.0.0.1]:${home.port}/`],
      ['the metadata address through an allowlisted redirect', () => [`127.0.0.1:${home.port}`], () => `http://127.0.0.1:${home.port}/redirect?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data')}`],
    ])('are refused: %s', async (_label, hosts, to) => {
      await t.deployOk('internal', probe(), { allowedHosts: hosts() });
      const res = await call('internal', to());
      expect(res.status).toBe(502);
      expect(res.body.error).toBe('TypeError');
      expect(res.body.message).toMatch(/egress policy/);
      expect(home.seen.filter((s) => s.path !== '/redirect')).toEqual([]);
      await t.assertHealthy();
    });
  });

  describe('requests the guest was patched to let through', () => {
    // Every "valid token" check in the guest passes and every "forbidden" check fails.
    const patch = "RegExp.prototype.test = function () { return this.source.startsWith('^[!#'); };";

    it.each([
      ['a header value that smuggles a second header', `{ headers: [['x-a', 'v\\r\\nx-injected: 1']] }`, /invalid value for header|Invalid header/],
      ['a header name that smuggles a second header', `{ headers: [['x-a: 1\\r\\nx-injected', '1']] }`, /invalid header name|Invalid header/],
      ['a method that smuggles a request line', `{ method: 'GET /admin HTTP/1.1\\r\\nx-injected: 1\\r\\n\\r\\nGET' }`, /invalid method|not a valid HTTP method/],
      ['a TRACE request', `{ method: 'TRACE' }`, /method "TRACE" is not allowed|unsupported/],
      ['credentials in the URL', `{}`, /includes credentials/, 'user:pass@'],
      ['port 0', `{}`, /port 0/, '', ':0'],
    ])('refuses %s', async (_label, init, message, userinfo = '', port?: string) => {
      await t.deployOk('smuggle', probe(init, patch), { allowedHosts: [`127.0.0.1:${home.port}`, '127.0.0.1'] });
      const res = await call('smuggle', `http://${userinfo}127.0.0.1${port ?? `:${home.port}`}/target`);
      expect(res.status).toBe(502);
      expect(res.body.error).toBe('TypeError');
      expect(res.body.message).toMatch(message);
      expect(home.seen).toEqual([]);
      await t.assertHealthy();
    });
  });
});
