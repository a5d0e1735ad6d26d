/** The admin KV routes: what the console's KV browser reads and writes, as a guest would see it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/helpers/gateway.ts';

let t: TestGateway;
let acme: string;

const READER = `export default { async fetch(req: Request, env: any) {
  const key = new URL(req.url).searchParams.get('key')!;
  const { value, metadata } = await env.STORE.getWithMetadata(key, 'text');
  return Response.json({ value, metadata });
} };`;

beforeAll(async () => {
  t = await startTestGateway();
  expect((await t.deploy('kv-reader', READER, { kv: ['STORE'] })).status).toBe(201);
  expect((await t.admin('POST', '/admin/tenants', { name: 'acme', quota: { kvBytes: 2000 } })).status).toBe(201);
  acme = (await (await t.admin('POST', '/admin/tenants/acme/tokens', {})).json()).token;
});
afterAll(() => t?.close());

describe('admin KV routes', () => {
  it('writes a value a function then reads, with its metadata; reads it back; deletes it', async () => {
    expect((await t.admin('PUT', '/admin/kv/STORE/value?key=greeting', { value: 'héllo', metadata: { by: 'admin' } })).status).toBe(204);
    expect(await (await t.fn('kv-reader', '?key=greeting')).json()).toEqual({ value: 'héllo', metadata: { by: 'admin' } });
    const got = await (await t.admin('GET', '/admin/kv/STORE/value?key=greeting')).json();
    expect(got).toEqual({ key: 'greeting', value: 'héllo', encoding: 'utf8', bytes: 6, metadata: { by: 'admin' }, expiration: null });
    expect((await t.admin('DELETE', '/admin/kv/STORE/value?key=greeting')).status).toBe(204);
    expect((await t.admin('GET', '/admin/kv/STORE/value?key=greeting')).status).toBe(404);
    const audit = await (await t.admin('GET', '/admin/audit?limit=3')).json();
    expect(audit.slice(0, 2).map((e: { action: string; target: string }) => `${e.action} ${e.target}`)).toEqual(['kv.delete STORE', 'kv.put STORE']);
  });

  it('binary values travel as base64; expirations are kept', async () => {
    const bytes = Buffer.from([0, 255, 1, 254]).toString('base64');
    expect((await t.admin('PUT', '/admin/kv/STORE/value?key=bin', { value: bytes, encoding: 'base64', expirationTtl: 3600 })).status).toBe(204);
    const got = await (await t.admin('GET', '/admin/kv/STORE/value?key=bin')).json();
    expect(got.encoding).toBe('base64');
    expect(got.value).toBe(bytes);
    expect(got.expiration).toBeGreaterThan(Date.now() / 1000 + 3000);
  });

  it('lists keys by prefix, page by page', async () => {
    for (let i = 0; i < 25; i++) expect((await t.admin('PUT', `/admin/kv/STORE/value?key=page/${String(i).padStart(2, '0')}`, { value: String(i) })).status).toBe(204);
    const names: string[] = [];
    let cursor = '';
    for (let pages = 0; pages < 10; pages++) {
      const res = await (await t.admin('GET', `/admin/kv/STORE/keys?prefix=page/&limit=10${cursor ? `&cursor=${cursor}` : ''}`)).json();
      names.push(...res.keys.map((k: { name: string }) => k.name));
      if (res.list_complete) break;
      cursor = res.cursor;
    }
    expect(names).toEqual(Array.from({ length: 25 }, (_, i) => `page/${String(i).padStart(2, '0')}`));
    const ns = await (await t.admin('GET', '/admin/kv')).json();
    expect(ns).toEqual({ tenant: 'default', namespaces: [{ name: 'STORE', functions: ['kv-reader'], stored: true }] });
  });

  it('a tenant token reaches its own namespaces only, within its quota', async () => {
    const as = (method: string, path: string, body?: unknown) => t.admin(method, path, body, acme);
    expect((await as('PUT', '/admin/kv/STORE/value?key=greeting', { value: 'acme data' })).status).toBe(204);
    expect((await as('GET', '/admin/kv/STORE/keys?prefix=page/')).status).toBe(200);
    expect((await (await as('GET', '/admin/kv/STORE/keys?prefix=page/')).json()).keys).toEqual([]);
    expect((await as('GET', '/admin/kv/STORE/value?key=bin')).status).toBe(404);
    expect((await as('GET', '/admin/kv/STORE/keys?tenant=default')).status).toBe(403);
    // the operator names the tenant
    expect((await (await t.admin('GET', '/admin/kv/STORE/value?key=greeting&tenant=acme')).json()).value).toBe('acme data');
    const over = await as('PUT', '/admin/kv/STORE/value?key=big', { value: 'x'.repeat(3000) });
    expect(over.status).toBe(403);
    expect((await over.json()).error).toBe('quota_exceeded');
  });

  it('refuses bad namespaces, keys, bodies and cursors with clear errors', async () => {
    const cases: [string, string, unknown, number][] = [
      ['GET', '/admin/kv/9bad/keys', undefined, 400],
      ['GET', '/admin/kv/STORE/value', undefined, 400],
      ['PUT', '/admin/kv/STORE/value?key=x', { value: 1 }, 400],
      ['PUT', '/admin/kv/STORE/value?key=x', { value: '!!!', encoding: 'base64' }, 400],
      ['PUT', `/admin/kv/STORE/value?key=${'k'.repeat(600)}`, { value: 'v' }, 400],
      ['GET', '/admin/kv/STORE/keys?cursor=%%%', undefined, 400],
      ['GET', '/admin/kv/STORE/keys?limit=5000', undefined, 400],
      ['GET', '/admin/kv/STORE/keys?tenant=nobody', undefined, 404],
    ];
    for (const [method, path, body, status] of cases) expect([method, path, (await t.admin(method, path, body)).status]).toEqual([method, path, status]);
  });
});
