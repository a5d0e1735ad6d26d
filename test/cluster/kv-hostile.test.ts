/**
 * Hostile guests against KV on the PostgreSQL store: keys no TEXT column takes (NUL), SQL in keys
 * and prefixes, oversize keys and values, forged cursors, a write storm on one key, another tenant's
 * namespace. Each is an error in the guest or a clean answer; the gateway and a neighbour stay fine.
 * (Runs in the cluster project: it needs the PostgreSQL server its globalSetup starts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounded, startAttackGateway, type AttackGateway } from '../security/harness.ts';
import { clusterDatabase, useClusterKey } from '../helpers/cluster.ts';

const PROBE = `export default {
  async fetch(request: Request, env: any) {
    const u = new URL(request.url);
    const op = u.searchParams.get('op');
    const out: Record<string, unknown> = {};
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      try { out[what] = { ok: await fn() }; } catch (e: any) { out[what] = { error: String(e && e.name) + ': ' + String(e && e.message).slice(0, 200) }; }
    };
    if (op === 'keys') {
      await attempt('nul', async () => { await env.S.put('a\\u0000b', 'nul'); return await env.S.get('a\\u0000b'); });
      await attempt('nulPrefix', async () => (await env.S.list({ prefix: 'a\\u0000' })).keys.map((k: any) => k.name.length));
      await attempt('sql', async () => { await env.S.put("x'); DROP TABLE kv; --", 'sql'); return await env.S.get("x'); DROP TABLE kv; --"); });
      await attempt('wildcards', async () => { await env.S.put('p%_1', 'w'); await env.S.put('pZZ1', 'w'); return (await env.S.list({ prefix: 'p%_' })).keys.map((k: any) => k.name); });
      await attempt('surrogate', async () => { await env.S.put('s\\ud800', 'lone'); return await env.S.get('s\\ud800'); });
      await attempt('longKey', async () => env.S.put('k'.repeat(513), 'x'));
      await attempt('bigValue', async () => env.S.put('big', 'v'.repeat(1024 * 1024 + 1)));
      await attempt('badCursor', async () => env.S.list({ cursor: '!!!' }));
      await attempt('forgedCursor', async () => (await env.S.list({ cursor: btoa('zzz') })).keys.length);
      await attempt('hugeLimit', async () => env.S.list({ limit: 1e9 }));
      await attempt('badTtl', async () => env.S.put('t', 'x', { expirationTtl: -5 }));
    } else if (op === 'storm') {
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) writes.push(env.S.put('hot', String(i)));
      const settled = await Promise.allSettled(writes);
      out.fulfilled = settled.filter((s) => s.status === 'fulfilled').length;
      out.value = await env.S.get('hot');
    } else if (op === 'read') {
      out.value = await env.S.get(u.searchParams.get('k')!);
    }
    return Response.json(out);
  },
};`;

let gw: AttackGateway;

beforeAll(async () => {
  useClusterKey();
  gw = await startAttackGateway({ store: await clusterDatabase() });
  const res = await gw.deploy('probe', PROBE, { kv: ['S'] });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await gw?.close();
});

describe('KV on PostgreSQL under hostile guests', () => {
  it('keys, prefixes, sizes and cursors: exact round trips or guest errors', async () => {
    const out = (await bounded(20_000, 'the key probes', async () => (await gw.fn('probe', '?op=keys')).json())) as Record<string, { ok?: unknown; error?: string }>;
    expect(out.nul).toEqual({ ok: 'nul' });
    expect(out.nulPrefix).toEqual({ ok: [3] });
    expect(out.sql).toEqual({ ok: 'sql' });
    // The prefix is bytes, not a LIKE pattern.
    expect(out.wildcards).toEqual({ ok: ['p%_1'] });
    expect(out.surrogate!.ok).toBe('lone');
    expect(out.longKey!.error).toMatch(/RangeError: KV key of 513 bytes/);
    // Over the value limit, or over the guest's own memory limit first: an error in the guest either way.
    expect(out.bigValue!.error).toMatch(/RangeError|out of memory/);
    expect(out.badCursor!.error).toMatch(/invalid cursor/);
    expect(out.forgedCursor).toEqual({ ok: 0 });
    expect(out.hugeLimit!.error).toMatch(/RangeError: KV list\(\) failed: limit/);
    expect(out.badTtl!.error).toMatch(/RangeError/);
    await gw.assertHealthy();
  });

  it('a write storm on one key ends with one of the values, the gateway fine', async () => {
    const out = (await bounded(60_000, 'the write storm', async () => (await gw.fn('probe', '?op=storm')).json())) as { fulfilled: number; value: string };
    expect(out.fulfilled).toBe(200);
    expect(Number(out.value)).toBeGreaterThanOrEqual(0);
    await gw.assertHealthy();
  });

  it("another tenant's function binding the same name sees its own namespace only", async () => {
    expect((await gw.admin('POST', '/admin/tenants', { name: 'other' })).status).toBe(201);
    const put = await gw.fn('probe', '?op=keys');
    expect(put.status).toBe(200);
    expect((await gw.admin('PUT', '/admin/functions/intruder', { source: PROBE, filename: 'intruder.ts', config: { kv: ['S'] }, tenant: 'other' })).status).toBe(201);
    const seen = (await (await gw.fn('intruder', `?op=read&k=${encodeURIComponent("x'); DROP TABLE kv; --")}`)).json()) as { value: unknown };
    expect(seen.value).toBeNull();
    await gw.assertHealthy();
  });
});

describe('the admin KV browser on PostgreSQL', () => {
  it('lists a tenant\'s namespaces only, with tenant names that are prefixes of one another ("a", "a0", "a-b") and the default tenant\'s beside them', async () => {
    const tenants = ['a', 'a0', 'a-b'];
    for (const name of tenants) expect((await gw.admin('POST', '/admin/tenants', { name })).status).toBe(201);
    const put = (tenant: string, ns: string, key: string) =>
      gw.admin('PUT', `/admin/kv/${ns}/value?key=${encodeURIComponent(key)}${tenant === 'default' ? '' : `&tenant=${tenant}`}`, { value: `${tenant}:${ns}` });
    for (const t of [...tenants, 'default']) {
      const ns = `NS_${t.replace('-', '_')}`;
      expect((await put(t, ns, 'k%_\u00e9/\ud83d\ude00')).status).toBe(204);
    }
    for (const t of [...tenants, 'default']) {
      const ns = `NS_${t.replace('-', '_')}`;
      const listed = (await (await gw.admin('GET', `/admin/kv${t === 'default' ? '' : `?tenant=${t}`}`)).json()) as { namespaces: { name: string; stored: boolean }[] };
      const stored = listed.namespaces.filter((n) => n.stored).map((n) => n.name);
      expect(stored).toContain(ns);
      for (const other of [...tenants, 'default']) if (other !== t) expect(stored).not.toContain(`NS_${other.replace('-', '_')}`);
      // the key round-trips exactly, and only in its own tenant
      const entry = await (await gw.admin('GET', `/admin/kv/${ns}/value?key=${encodeURIComponent('k%_\u00e9/\ud83d\ude00')}${t === 'default' ? '' : `&tenant=${t}`}`)).json();
      expect(entry).toMatchObject({ key: 'k%_\u00e9/\ud83d\ude00', value: `${t}:${ns}` });
    }
    expect((await gw.admin('GET', `/admin/kv/NS_a0/value?key=${encodeURIComponent('k%_\u00e9/\ud83d\ude00')}&tenant=a`)).status).toBe(404);
    await gw.assertHealthy();
  });
});
