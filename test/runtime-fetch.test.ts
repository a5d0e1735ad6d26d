import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invokeSource } from './helpers/sandbox.ts';

let upstream: Server;
let port: number;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
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
});

afterAll(() => new Promise<void>((r) => upstream.close(() => r())));

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
