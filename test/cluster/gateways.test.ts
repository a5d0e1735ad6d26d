/**
 * Three gateways sharing one PostgreSQL database: a change made on one is served by the others (deploy,
 * rollback, split, delete, token revocation), KV is shared, and a gateway started later catches up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCES, waitFor, type TestGateway } from '../helpers/gateway.ts';
import { clusterDatabase, startCluster } from '../helpers/cluster.ts';

let url: string;
let gws: TestGateway[] = [];

const text = async (gw: TestGateway, name: string) => {
  const res = await gw.fn(name);
  return `${res.status} ${await res.text()}`;
};

/** How long until `check` holds on `gw` (polling every 20 ms, at most `timeoutMs`). */
async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<number> {
  const started = performance.now();
  await waitFor(async () => ((await check()) ? true : undefined), { timeoutMs, everyMs: 20, what: 'the change to reach the gateway' });
  return performance.now() - started;
}

beforeAll(async () => {
  url = await clusterDatabase();
  gws = await startCluster(url, 3);
});

afterAll(async () => {
  await Promise.all(gws.map((g) => g.close()));
});

describe('a cluster of three gateways', () => {
  it('serves a deploy made on one from the others, and swaps a loaded version', async () => {
    const [a, b, c] = gws as [TestGateway, TestGateway, TestGateway];
    expect((await a.deploy('greet', SOURCES.version('v1'))).status).toBe(201);
    // Not loaded on b and c yet: the mirror knows it, the artifact comes from the database.
    await until(async () => (await text(b, 'greet')) === '200 v1');
    await until(async () => (await text(c, 'greet')) === '200 v1');
    expect((await a.deploy('greet', SOURCES.version('v2'))).status).toBe(201);
    // Loaded on b and c: swapped in place. Bounded generously (the machine is shared); bench:cluster measures it.
    const ms = await until(async () => (await text(b, 'greet')) === '200 v2' && (await text(c, 'greet')) === '200 v2');
    expect(ms).toBeLessThan(5000);
  });

  it('propagates rollbacks, splits and deletes', async () => {
    const [a, b, c] = gws as [TestGateway, TestGateway, TestGateway];
    const rolled = await b.admin('POST', '/admin/functions/greet/rollback', {});
    expect(rolled.status).toBe(200);
    await until(async () => (await text(a, 'greet')) === '200 v1' && (await text(c, 'greet')) === '200 v1');

    const split = await c.admin('PUT', '/admin/functions/greet/deployment', { split: [{ version: 2, percent: 100 }] });
    expect(split.status).toBe(200);
    await until(async () => (await text(a, 'greet')) === '200 v2' && (await text(b, 'greet')) === '200 v2');

    expect((await a.admin('DELETE', '/admin/functions/greet')).status).toBe(204);
    await until(async () => (await b.fn('greet')).status === 404 && (await c.fn('greet')).status === 404);
    // Versions keep counting across gateways: the next deploy anywhere is version 3.
    const again = await c.deploy('greet', SOURCES.version('v3'));
    expect(((await again.json()) as { version: number }).version).toBe(3);
    await until(async () => (await text(a, 'greet')) === '200 v3');
  });

  it('revokes a token on every gateway', async () => {
    const [a, b, c] = gws as [TestGateway, TestGateway, TestGateway];
    expect((await a.admin('POST', '/admin/tenants', { name: 'acme' })).status).toBe(201);
    const issued = (await (await a.admin('POST', '/admin/tenants/acme/tokens', { label: 'ci' })).json()) as { token: string; id: string };
    await until(async () => (await c.admin('GET', '/admin/functions', undefined, issued.token)).status === 200);
    expect((await b.admin('DELETE', `/admin/tenants/acme/tokens/${issued.id}`)).status).toBe(204);
    await until(async () => (await a.admin('GET', '/admin/functions', undefined, issued.token)).status === 401 && (await c.admin('GET', '/admin/functions', undefined, issued.token)).status === 401);
  });

  it('shares KV: a put on one is read on another', async () => {
    const [a, , c] = gws as [TestGateway, TestGateway, TestGateway];
    const source = `export default {
      async fetch(request: Request, env: any) {
        const u = new URL(request.url);
        if (request.method === 'PUT') { await env.STORE.put(u.searchParams.get('k')!, await request.text()); return new Response('ok'); }
        return new Response((await env.STORE.get(u.searchParams.get('k')!)) ?? 'missing');
      },
    };`;
    expect((await a.deploy('kvfn', source, { kv: ['STORE'] })).status).toBe(201);
    expect((await a.fn('kvfn', '?k=x', { method: 'PUT', body: 'from a' })).status).toBe(200);
    await until(async () => (await c.fn('kvfn', '?k=x').then((r) => r.text())) === 'from a');
    expect(await (await c.fn('kvfn', '?k=nope')).text()).toBe('missing');
  });

  it('the admin KV browser reads and writes the shared KV from any gateway, tenants kept apart', async () => {
    const [a, b] = gws as [TestGateway, TestGateway, TestGateway];
    expect((await a.admin('PUT', '/admin/kv/STORE/value?key=browsed', { value: 'set by the browser', metadata: { by: 'test' }, expirationTtl: 3600 })).status).toBe(204);
    expect(await (await a.fn('kvfn', '?k=browsed')).text()).toBe('set by the browser');
    const entry = await (await b.admin('GET', '/admin/kv/STORE/value?key=browsed')).json();
    expect(entry).toMatchObject({ key: 'browsed', value: 'set by the browser', encoding: 'utf8', metadata: { by: 'test' }, expiration: expect.any(Number) });
    const keys = await (await b.admin('GET', '/admin/kv/STORE/keys?prefix=brow')).json();
    expect(keys.keys.map((k: { name: string }) => k.name)).toEqual(['browsed']);
    const namespaces = await (await b.admin('GET', '/admin/kv')).json();
    expect(namespaces.namespaces).toContainEqual({ name: 'STORE', functions: ['kvfn'], stored: true });
    expect((await b.admin('POST', '/admin/tenants', { name: 'other' })).status).toBe(201);
    expect((await (await b.admin('GET', '/admin/kv?tenant=other')).json()).namespaces).toEqual([]);
    expect((await b.admin('GET', '/admin/kv/STORE/value?key=browsed&tenant=other')).status).toBe(404);
    expect((await b.admin('DELETE', '/admin/kv/STORE/value?key=browsed')).status).toBe(204);
    expect((await a.admin('GET', '/admin/kv/STORE/value?key=browsed')).status).toBe(404);
  });

  it('usage and the audit log add up across gateways', async () => {
    const [a, b, c] = gws as [TestGateway, TestGateway, TestGateway];
    for (const gw of [a, b, b]) expect((await gw.fn('kvfn', '?k=x')).status).toBe(200);
    // Each gateway flushes its counts every 5 s; a query flushes the asking gateway's at once.
    await until(async () => {
      const usage = (await (await c.admin('GET', '/admin/usage?function=kvfn')).json()) as { functions: Record<string, { invocations: number }> };
      return (usage.functions['default/kvfn']?.invocations ?? 0) >= 3;
    }, 15_000);
    const audit = (await (await c.admin('GET', '/admin/audit?limit=100')).json()) as { action: string }[];
    // Deploys on a, a rollback on b, a split on c: one log.
    for (const action of ['deploy', 'rollback', 'token.revoke']) expect(audit.map((e) => e.action)).toContain(action);
  });

  it('guests on worker threads reach the shared KV too', async () => {
    const [withWorkers] = await startCluster(url, 1, { workers: 1 });
    gws.push(withWorkers!);
    expect(await (await withWorkers!.fn('kvfn', '?k=x')).text()).toBe('from a');
    expect((await withWorkers!.fn('kvfn', '?k=y', { method: 'PUT', body: 'from a worker' })).status).toBe(200);
    await until(async () => (await gws[0]!.fn('kvfn', '?k=y').then((r) => r.text())) === 'from a worker');
  });

  it('a gateway started after ten deploys serves all of them', async () => {
    const [a] = gws as [TestGateway];
    for (let i = 0; i < 10; i++) expect((await a.deploy(`late-${i}`, SOURCES.version(`late ${i}`))).status).toBe(201);
    const [late] = await startCluster(url, 1);
    gws.push(late!);
    for (let i = 0; i < 10; i++) expect(await text(late!, `late-${i}`)).toBe(`200 late ${i}`);
    expect(((await (await late!.admin('GET', '/readyz')).json()) as { status: string }).status).toBe('ready');
  });
});
