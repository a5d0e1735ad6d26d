/**
 * A hostile tenant: forged and mangled tokens, reaching into another tenant's functions, KV, routes
 * and logs, going round its quotas, exhausting the live-log streams, and guest output aimed at the
 * log stream's framing. After each: the gateway and a neighbour still answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounded, startAttackGateway, type AttackGateway } from './harness.ts';

let t: AttackGateway;
let victim: string;
let attacker: string;

const as = (token: string, method: string, path: string, body?: unknown) => t.admin(method, path, body, token);

beforeAll(async () => {
  t = await startAttackGateway();
  for (const name of ['victim', 'attacker']) expect((await t.admin('POST', '/admin/tenants', { name })).status).toBe(201);
  victim = (await (await t.admin('POST', '/admin/tenants/victim/tokens', {})).json()).token;
  attacker = (await (await t.admin('POST', '/admin/tenants/attacker/tokens', {})).json()).token;
  const store = `export default { async fetch(req: Request, env: any) {
    const u = new URL(req.url);
    if (u.pathname === '/put') { await env.SECRETS.put('k', 'victim-data'); return new Response('ok'); }
    return new Response(String(await env.SECRETS.get('k')));
  } };`;
  expect((await as(victim, 'PUT', '/admin/functions/victim-store', { source: store, config: { kv: ['SECRETS'], routes: ['victim.test/*'] } })).status).toBe(201);
  expect(await (await t.fn('victim-store', '/put')).text()).toBe('ok');
});
afterAll(() => t?.close());

describe('tokens', () => {
  it('refuses forged, truncated, padded and oversized tokens without revealing which part was wrong', async () => {
    const id = victim.split('_')[1]!;
    const candidates = [
      `faas_${id}_`,
      `faas_${id}_${'A'.repeat(43)}`,
      `${victim}x`,
      victim.slice(0, -1),
      victim.toUpperCase(),
      `faas_${'0'.repeat(12)}_${victim.split('_').slice(2).join('_')}`,
      `faas_${id}_${victim.split('_').slice(2).join('_')}\u0000`,
      'x'.repeat(8000),
      `${t.token}x`,
    ];
    for (const token of candidates) {
      const res = await fetch(`${t.url}/admin/functions`, { headers: { authorization: `Bearer ${encodeURIComponent(token)}` } });
      expect(res.status).toBe(401);
      expect((await res.json()).message).toBe('invalid or revoked token');
    }
    await t.assertHealthy();
  });
});

describe('reaching into another tenant', () => {
  it('cannot read, change, delete, roll back, split or tail the victim’s function', async () => {
    const paths: [string, string, unknown?][] = [
      ['GET', '/admin/functions/victim-store'],
      ['PUT', '/admin/functions/victim-store', { source: 'export default { fetch() { return new Response("pwned") } }' }],
      ['DELETE', '/admin/functions/victim-store'],
      ['POST', '/admin/functions/victim-store/rollback', {}],
      ['PUT', '/admin/functions/victim-store/deployment', { split: [{ version: 1, percent: 100 }] }],
      ['GET', '/admin/functions/victim-store/versions'],
      ['GET', '/admin/functions/victim-store/logs?follow=1'],
      ['GET', '/admin/functions/VICTIM-STORE'],
      ['GET', '/admin/functions/victim-store%2F..'],
    ];
    for (const [method, path, body] of paths) {
      const res = await as(attacker, method, path, body);
      expect([400, 404, 409]).toContain(res.status);
    }
    expect(await (await t.fn('victim-store')).text()).toBe('victim-data');
    await t.assertHealthy();
  });

  it('gets its own KV namespace under the same binding name, and no name reaches the victim’s', async () => {
    const reader = `export default { async fetch(req: Request, env: any) { return new Response(String(await env.SECRETS.get('k'))); } };`;
    expect((await as(attacker, 'PUT', '/admin/functions/attacker-reader', { source: reader, config: { kv: ['SECRETS'] } })).status).toBe(201);
    expect(await (await t.fn('attacker-reader')).text()).toBe('null');
    // a binding name that would spell the victim's scoped namespace is not a valid binding name
    for (const kv of [['victim/SECRETS'], ['../SECRETS'], ['SECRETS\u0000']]) {
      expect((await as(attacker, 'PUT', '/admin/functions/attacker-reader2', { source: reader, config: { kv } })).status).toBe(400);
    }
    await t.assertHealthy();
  });

  it('cannot take the victim’s host or any path under it, by exact, prefix or wildcard claim', async () => {
    const src = 'export default { fetch() { return new Response("hijacked") } }';
    for (const routes of [['victim.test/*'], ['victim.test/api/*'], ['victim.test/'], ['*.test/*'], ['VICTIM.TEST/*']]) {
      const res = await as(attacker, 'PUT', '/admin/functions/hijack', { source: src, config: { routes } });
      expect(res.status).toBe(409);
    }
    expect((await as(attacker, 'PUT', '/admin/functions/hijack', { source: src, config: { routes: ['attacker.test/*'] } })).status).toBe(201);
    await t.assertHealthy();
  });
});

describe('quotas', () => {
  it('KV bytes cannot be stretched by overwrites, deletes racing puts, or expiring keys', async () => {
    expect((await t.admin('PUT', '/admin/tenants/attacker/quota', { kvBytes: 4096 })).status).toBe(200);
    const filler = `export default { async fetch(req: Request, env: any) {
      const jobs = [];
      for (let i = 0; i < 64; i++) jobs.push(env.FILL.put('k' + (i % 8), 'x'.repeat(900), { expirationTtl: 60 }).then(() => 1, () => 0));
      for (let i = 0; i < 16; i++) jobs.push(env.FILL.delete('k' + i));
      const done = await Promise.all(jobs);
      return new Response(String(done.filter((x) => x === 1).length));
    } };`;
    expect((await as(attacker, 'PUT', '/admin/functions/filler', { source: filler, config: { kv: ['FILL'] } })).status).toBe(201);
    for (let i = 0; i < 5; i++) await bounded(10_000, 'filler', async () => (await t.fn('filler')).text());
    const tenant = await (await t.admin('GET', '/admin/tenants/attacker')).json();
    expect(tenant.kvBytes).toBeLessThanOrEqual(4096);
    expect(tenant.kvBytes).toBeGreaterThanOrEqual(0);
    await t.assertHealthy();
  });

  it('a tenant cannot raise its own quota or mint tokens', async () => {
    expect((await as(attacker, 'PUT', '/admin/tenants/attacker/quota', {})).status).toBe(403);
    expect((await as(attacker, 'POST', '/admin/tenants/attacker/tokens', {})).status).toBe(403);
    expect((await as(attacker, 'POST', '/admin/tenants', { name: 'attacker2' })).status).toBe(403);
    await t.assertHealthy();
  });
});

describe('live logs', () => {
  it('guest output cannot forge events in the stream', async () => {
    const forger = `export default { fetch() {
      console.log('x\\n\\nevent: invocation\\ndata: {"type":"invocation","function":"victim-store","status":200}\\n\\n');
      return new Response('ok');
    } };`;
    expect((await as(attacker, 'PUT', '/admin/functions/forger', { source: forger })).status).toBe(201);
    expect((await t.fn('forger')).status).toBe(200);
    const res = await as(attacker, 'GET', '/admin/functions/forger/logs?follow=1');
    const reader = res.body!.getReader();
    let text = '';
    await bounded(5000, 'stream', async () => {
      while (!text.includes('event: invocation')) text += new TextDecoder().decode((await reader.read()).value);
    });
    await reader.cancel();
    const events = text.split('\n\n').filter((b) => b.startsWith('event: '));
    expect(events).toHaveLength(1);
    const data = JSON.parse(events[0]!.slice(events[0]!.indexOf('data: ') + 6));
    expect(data.function).toBe('forger');
    expect(data.logs[0].text).toContain('event: invocation');
    await t.assertHealthy();
  });

  it('cannot exhaust the gateway with followers: past the cap it is refused, and closing frees them', async () => {
    const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      const res = await as(attacker, 'GET', '/admin/functions/forger/logs?follow=1');
      if (res.status === 503) {
        refused++;
        expect((await res.json()).error).toBe('overloaded');
      } else readers.push(res.body!.getReader());
    }
    expect(readers).toHaveLength(16);
    expect(refused).toBe(4);
    await t.assertHealthy();
    for (const r of readers) await r.cancel();
    // freed: a new follower is let in again
    const again = await bounded(5000, 'free', async () => {
      for (;;) {
        const res = await as(attacker, 'GET', '/admin/functions/forger/logs?follow=1');
        if (res.status === 200) return res;
        await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    await again.body!.cancel();
    await t.assertHealthy();
  });
});
