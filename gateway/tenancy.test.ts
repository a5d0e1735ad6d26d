/**
 * Tenants through the admin API: isolation on every route, token revocation, quotas, KV scoping and
 * its quota, usage metering (surviving a restart), the audit log, and live logs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, tempDir, waitFor, type TestGateway } from '../test/helpers/gateway.ts';

const HELLO = (text: string) => `export default { fetch(req: Request) { console.log('${text}', new URL(req.url).pathname); return new Response('${text}'); } };`;

let t: TestGateway;
let tokA: string;
let tokB: string;
const dataDir = tempDir('faas-tenancy-');

async function json(res: Response): Promise<any> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not JSON (${res.status}): ${text}`);
  }
}

async function issue(tenant: string): Promise<string> {
  const res = await t.admin('POST', `/admin/tenants/${tenant}/tokens`, { label: `${tenant}-ci` });
  expect(res.status).toBe(201);
  return (await json(res)).token;
}

const deployAs = (token: string, name: string, source: string, config?: object, extra?: object) =>
  t.admin('PUT', `/admin/functions/${name}`, { source, filename: `${name}.ts`, config, ...extra }, token);

beforeAll(async () => {
  t = await startTestGateway({ dataDir, keepData: true });
  for (const name of ['alpha', 'beta']) expect((await t.admin('POST', '/admin/tenants', { name })).status).toBe(201);
  tokA = await issue('alpha');
  tokB = await issue('beta');
  expect((await deployAs(tokA, 'a-fn', HELLO('from a'), { routes: ['a.example.test/*'] })).status).toBe(201);
  expect((await deployAs(tokA, 'a-fn', HELLO('from a v2'), { routes: ['a.example.test/*'] })).status).toBe(201);
});
afterAll(async () => {
  await t?.close();
});

describe('tenant isolation', () => {
  it('a tenant token sees only its own functions, and another tenant’s is not_found on every route', async () => {
    expect((await json(await t.admin('GET', '/admin/functions', undefined, tokA))).map((f: any) => f.name)).toEqual(['a-fn']);
    expect(await json(await t.admin('GET', '/admin/functions', undefined, tokB))).toEqual([]);
    const attempts: [string, string, unknown?][] = [
      ['GET', '/admin/functions/a-fn'],
      ['GET', '/admin/functions/a-fn/versions'],
      ['POST', '/admin/functions/a-fn/rollback', { version: 1 }],
      ['GET', '/admin/functions/a-fn/deployment'],
      ['PUT', '/admin/functions/a-fn/deployment', { split: [{ version: 1, percent: 100 }] }],
      ['GET', '/admin/functions/a-fn/logs'],
      ['GET', '/admin/functions/a-fn/logs?follow=1'],
      ['DELETE', '/admin/functions/a-fn'],
    ];
    for (const [method, path, body] of attempts) {
      const res = await t.admin(method, path, body, tokB);
      expect({ method, path, status: res.status, error: (await json(res)).error }).toEqual({ method, path, status: 404, error: 'not_found' });
    }
    // still there, still v2, still answering
    expect((await json(await t.admin('GET', '/admin/functions/a-fn'))).version).toBe(2);
    expect(await (await t.fn('a-fn')).text()).toBe('from a v2');
  });

  it('a name or a route of another tenant cannot be taken', async () => {
    const taken = await deployAs(tokB, 'a-fn', HELLO('hijack'));
    expect(taken.status).toBe(409);
    expect((await json(taken)).error).toBe('conflict');
    const route = await deployAs(tokB, 'b-route', HELLO('b'), { routes: ['a.example.test/admin/*'] });
    expect(route.status).toBe(409);
    expect((await json(route)).message).toMatch(/overlaps a route claimed by another tenant/);
    const wildcard = await deployAs(tokB, 'b-route', HELLO('b'), { routes: ['*.example.test/*'] });
    expect(wildcard.status).toBe(409);
    // a tenant cannot deploy into another tenant
    const other = await deployAs(tokB, 'b-into-a', HELLO('b'), undefined, { tenant: 'alpha' });
    expect(other.status).toBe(403);
    expect((await json(other)).error).toBe('forbidden');
    expect(await (await t.fn('a-fn')).text()).toBe('from a v2');
  });

  it('the operator’s routes answer 403 forbidden to a tenant token', async () => {
    const rootOnly: [string, string, unknown?][] = [
      ['GET', '/admin/tenants'],
      ['POST', '/admin/tenants', { name: 'mine' }],
      ['DELETE', '/admin/tenants/beta'],
      ['PUT', '/admin/tenants/beta/quota', { functions: 100 }],
      ['POST', '/admin/tenants/beta/tokens', {}],
      ['GET', '/admin/tenants/beta/tokens'],
      ['GET', '/admin/tenants/alpha'],
      ['GET', '/admin/usage?tenant=alpha'],
      ['GET', '/admin/audit?tenant=alpha'],
    ];
    for (const [method, path, body] of rootOnly) {
      const res = await t.admin(method, path, body, tokB);
      expect({ method, path, status: res.status, error: (await json(res)).error }).toEqual({ method, path, status: 403, error: 'forbidden' });
    }
    // its own tenant it may read
    const own = await json(await t.admin('GET', '/admin/tenants/beta', undefined, tokB));
    expect(own).toMatchObject({ name: 'beta', functions: 0 });
  });

  it('functions deployed with the root token keep working as before, in the default tenant', async () => {
    expect((await t.deploy('legacy', HELLO('legacy'))).status).toBe(201);
    expect((await json(await t.admin('GET', '/admin/functions/legacy'))).tenant).toBe('default');
    expect(await json(await t.admin('GET', '/admin/functions', undefined, tokA))).not.toContainEqual(expect.objectContaining({ name: 'legacy' }));
    expect((await t.admin('GET', '/admin/functions/legacy', undefined, tokA)).status).toBe(404);
    expect(await (await t.fn('legacy')).text()).toBe('legacy');
  });
});

describe('tokens', () => {
  it('are shown once, stored as hashes, listed without the secret, and a revoked one stops working at once', async () => {
    const res = await t.admin('POST', '/admin/tenants/beta/tokens', { label: 'temp' });
    const issued = await json(res);
    expect(issued.token).toMatch(/^faas_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    const listed = await json(await t.admin('GET', '/admin/tenants/beta/tokens'));
    expect(listed.find((x: any) => x.id === issued.id)).toEqual({ id: issued.id, tenant: 'beta', label: 'temp', createdAt: expect.any(String), revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(issued.token.slice(-43));
    expect((await t.admin('GET', '/admin/functions', undefined, issued.token)).status).toBe(200);
    expect((await t.admin('DELETE', `/admin/tenants/beta/tokens/${issued.id}`)).status).toBe(204);
    const after = await t.admin('GET', '/admin/functions', undefined, issued.token);
    expect(after.status).toBe(401);
    expect((await json(after)).error).toBe('unauthorized');
    // a token with the right id and a wrong secret is not one
    const forged = `faas_${issued.id}_${'A'.repeat(43)}`;
    expect((await t.admin('GET', '/admin/functions', undefined, forged)).status).toBe(401);
  });
});

describe('quotas', () => {
  it('refuse a deploy over a quota with 403 quota_exceeded naming the quota and the current use', async () => {
    expect((await t.admin('POST', '/admin/tenants', { name: 'small', quota: { functions: 2, memoryMb: 3, cpuMs: 200, timeoutMs: 2000 } })).status).toBe(201);
    const tok = await issue('small');
    const first = await deployAs(tok, 's-one', HELLO('1'), { memoryMb: 2, cpuMs: 200 });
    expect(first.status, await first.clone().text()).toBe(201);
    const memory = await deployAs(tok, 's-two', HELLO('2'), { memoryMb: 2, cpuMs: 100 });
    expect(memory.status).toBe(403);
    const m = await json(memory);
    expect(m.error).toBe('quota_exceeded');
    expect(m.message).toMatch(/quota memoryMb: 2 MB used by other functions \+ 2 MB asked > 3 MB allowed/);
    const cpu = await json(await deployAs(tok, 's-two', HELLO('2'), { cpuMs: 500 }));
    expect(cpu.message).toMatch(/quota cpuMs: cpuMs 500 asked, at most 200 allowed/);
    const timeout = await json(await deployAs(tok, 's-two', HELLO('2'), { cpuMs: 100, timeoutMs: 5000 }));
    expect(timeout.message).toMatch(/quota timeoutMs: timeoutMs 5000 asked, at most 2000 allowed/);
    expect((await deployAs(tok, 's-two', HELLO('2'), { cpuMs: 100 })).status).toBe(201);
    const count = await deployAs(tok, 's-three', HELLO('3'), { cpuMs: 100 });
    expect(count.status).toBe(403);
    expect((await json(count)).message).toMatch(/quota functions: 2 functions deployed, 2 allowed/);
    // redeploying an existing function is not a new one
    expect((await deployAs(tok, 's-two', HELLO('2b'), { cpuMs: 100 })).status).toBe(201);
    // raising the quota lets it in
    expect((await t.admin('PUT', '/admin/tenants/small/quota', { functions: 3, memoryMb: 10 })).status).toBe(200);
    expect((await deployAs(tok, 's-three', HELLO('3'), { cpuMs: 5000 })).status).toBe(201);
  });

  it('KV namespaces are per tenant, and a tenant’s KV bytes are capped by its kvBytes quota', async () => {
    const kvFn = `export default { async fetch(req: Request, env: any) {
      const u = new URL(req.url);
      if (u.pathname === '/get') return new Response(String(await env.STORE.get('k')));
      if (u.pathname === '/fill') {
        let n = 0;
        try { for (; n < 200; n++) await env.STORE.put('key' + n, 'x'.repeat(100)); return new Response('filled ' + n); }
        catch (e: any) { return new Response(n + ' ' + e.name + ': ' + e.message); }
      }
      await env.STORE.put('k', u.searchParams.get('v') ?? '');
      return new Response('ok');
    } };`;
    expect((await deployAs(tokA, 'a-kv', kvFn, { kv: ['STORE'] })).status).toBe(201);
    expect((await deployAs(tokB, 'b-kv', kvFn, { kv: ['STORE'] })).status).toBe(201);
    expect(await (await t.fn('a-kv', '/set?v=alpha-secret')).text()).toBe('ok');
    expect(await (await t.fn('b-kv', '/get')).text()).toBe('null');
    expect(await (await t.fn('a-kv', '/get')).text()).toBe('alpha-secret');

    expect((await t.admin('PUT', '/admin/tenants/beta/quota', { kvBytes: 2000 })).status).toBe(200);
    const filled = await (await t.fn('b-kv', '/fill')).text();
    // each put costs 4-5 bytes of key and 100 of value: 18 or 19 fit in 2000
    expect(filled).toMatch(/^1[89] RangeError: KV put\(\) failed: tenant "beta" is over its KV storage quota \(kvBytes: \d+ bytes used, this put adds 105, 2000 allowed\)$/);
    const beta = await json(await t.admin('GET', '/admin/tenants/beta'));
    expect(beta.kvBytes).toBeLessThanOrEqual(2000);
    expect(beta.kvBytes).toBeGreaterThan(1800);
    // alpha has no such quota
    expect(await (await t.fn('a-kv', '/fill')).text()).toBe('filled 200');
  });
});

describe('usage and audit', () => {
  it('counts invocations, CPU, wall time and KV operations per function and tenant, and keeps them across a restart', async () => {
    expect((await deployAs(tokA, 'a-count', HELLO('counted'))).status).toBe(201);
    for (let i = 0; i < 7; i++) expect((await t.fn('a-count')).status).toBe(200);
    const usage = await json(await t.admin('GET', '/admin/usage?tenant=alpha', undefined, tokA));
    const fn = usage.functions['alpha/a-count'];
    expect(fn).toMatchObject({ invocations: 7, errors: 0, egressBytes: 0, kvOps: 0 });
    expect(fn.cpuMs).toBeGreaterThan(0);
    expect(fn.wallMs).toBeGreaterThanOrEqual(fn.cpuMs);
    // the KV function's operations: 1 put + 1 get + 200 puts from the checks above
    expect(usage.functions['alpha/a-kv'].kvOps).toBe(202);
    // a tenant sees its own usage only, whatever it asks
    expect(Object.keys((await json(await t.admin('GET', '/admin/usage', undefined, tokB))).tenants)).toEqual(['beta']);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/faas_tenant_invocations_total\{tenant="alpha"\} \d+/);

    await t.close();
    t = await startTestGateway({ dataDir, keepData: true, adminToken: t.token });
    const after = await json(await t.admin('GET', '/admin/usage?tenant=alpha'));
    expect(after.functions['alpha/a-count']).toEqual(fn);
    expect(await (await t.fn('a-count')).text()).toBe('counted');
    // tokens survive too
    expect((await t.admin('GET', '/admin/functions', undefined, tokA)).status).toBe(200);
  });

  it('records every admin action with time, tenant, token id and outcome', async () => {
    const all = await json(await t.admin('GET', '/admin/audit?limit=1000'));
    const actions = new Set(all.map((e: any) => `${e.action}:${e.outcome}`));
    for (const a of ['tenant.create:ok', 'token.issue:ok', 'token.revoke:ok', 'quota.set:ok', 'deploy:ok', 'deploy:quota_exceeded', 'deploy:conflict', 'deploy:forbidden']) {
      expect(actions).toContain(a);
    }
    const refused = all.find((e: any) => e.action === 'deploy' && e.outcome === 'quota_exceeded');
    expect(refused).toMatchObject({ tenant: 'small', token: expect.stringMatching(/^[a-z0-9]{12}$/), at: expect.any(String) });
    const mine = await json(await t.admin('GET', '/admin/audit', undefined, tokB));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((e: any) => e.tenant === 'beta')).toBe(true);
  });
});

describe('live logs', () => {
  it('keeps recent invocations with their console lines, and streams new ones as server-sent events', async () => {
    expect((await deployAs(tokA, 'a-log', HELLO('logged'))).status).toBe(201);
    expect((await t.fn('a-log', '/first')).status).toBe(200);
    const recent = await json(await t.admin('GET', '/admin/functions/a-log/logs', undefined, tokA));
    expect(recent.at(-1)).toMatchObject({
      type: 'invocation',
      function: 'a-log',
      path: '/fn/a-log/first',
      status: 200,
      outcome: 'ok',
      logs: [expect.objectContaining({ level: 'log', text: 'logged /first' })],
    });

    const controller = new AbortController();
    const res = await fetch(`${t.url}/admin/functions/a-log/logs?follow=1&limit=0&search=second`, {
      headers: { authorization: `Bearer ${tokA}` },
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const got = (async () => {
      while (!text.includes('event: invocation')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    })();
    await t.fn('a-log', '/not-this-one');
    await t.fn('a-log', '/second');
    await Promise.race([got, new Promise((r) => setTimeout(r, 5000))]);
    controller.abort();
    const events = text.split('\n\n').filter((b) => b.startsWith('event: invocation'));
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.split('\ndata: ')[1]!)).toMatchObject({ path: '/fn/a-log/second', logs: [expect.objectContaining({ text: 'logged /second' })] });
  });

  it('filters by status', async () => {
    const boom = `export default { fetch(req: Request) { if (req.url.endsWith('/bad')) throw new Error('kaput'); return new Response('fine'); } };`;
    expect((await deployAs(tokA, 'a-status', boom)).status).toBe(201);
    await t.fn('a-status', '/ok');
    await t.fn('a-status', '/bad');
    await waitFor(async () => (await json(await t.admin('GET', '/admin/functions/a-status/logs', undefined, tokA))).length === 2);
    const errors = await json(await t.admin('GET', '/admin/functions/a-status/logs?status=error', undefined, tokA));
    expect(errors.map((e: any) => [e.path, e.status, e.outcome])).toEqual([['/fn/a-status/bad', 500, 'function_error']]);
    const ok = await json(await t.admin('GET', '/admin/functions/a-status/logs?status=2xx', undefined, tokA));
    expect(ok.map((e: any) => e.path)).toEqual(['/fn/a-status/ok']);
    expect((await t.admin('GET', '/admin/functions/a-status/logs?status=weird', undefined, tokA)).status).toBe(400);
  });
});

describe('tenant lifecycle', () => {
  it('a tenant with functions cannot be deleted; once empty it can, and its tokens go with it', async () => {
    expect((await t.admin('POST', '/admin/tenants', { name: 'gone' })).status).toBe(201);
    const tok = await issue('gone');
    expect((await deployAs(tok, 'gone-fn', HELLO('x'))).status).toBe(201);
    const refused = await t.admin('DELETE', '/admin/tenants/gone');
    expect(refused.status).toBe(409);
    expect((await t.admin('DELETE', '/admin/functions/gone-fn', undefined, tok)).status).toBe(204);
    expect((await t.admin('DELETE', '/admin/tenants/gone')).status).toBe(204);
    expect((await t.admin('GET', '/admin/functions', undefined, tok)).status).toBe(401);
    expect((await t.admin('DELETE', '/admin/tenants/default')).status).toBe(400);
    expect((await t.admin('POST', '/admin/tenants', { name: 'Bad Name' })).status).toBe(400);
    expect((await t.admin('POST', '/admin/tenants', { name: 'alpha' })).status).toBe(409);
  });
});
