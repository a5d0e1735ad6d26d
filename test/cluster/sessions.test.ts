/**
 * Console sessions across two gateways on one PostgreSQL database (behind a load balancer a browser's
 * requests land on either): a session made on one works on the other, a sign-out, a revoked token or
 * a deleted tenant ends it on both at once (no waiting for the change feed), a gateway started later
 * accepts it, and while the database is away a session check is 503 `unavailable`, not 401.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor, type TestGateway } from '../helpers/gateway.ts';
import { clusterDatabase, startCluster } from '../helpers/cluster.ts';
import { pgCtl } from '../helpers/postgres.ts';
import { openPool } from '../../contract/pg.ts';
import { SessionStore } from '../../gateway/console/sessions.ts';
import { PgSessions } from '../../gateway/store/postgres.ts';

let url: string;
let gws: TestGateway[] = [];

beforeAll(async () => {
  url = await clusterDatabase();
  gws = await startCluster(url, 2);
}, 120_000);

afterAll(async () => {
  await Promise.all(gws.map((g) => g.close()));
});

interface Signed {
  cookie: string;
  csrf: string;
}

async function signIn(gw: TestGateway, token: string): Promise<Signed> {
  const res = await fetch(`${gw.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  expect(res.status).toBe(201);
  return { cookie: res.headers.get('set-cookie')!.split(';')[0]!, csrf: ((await res.json()) as { csrf: string }).csrf };
}

const status = async (gw: TestGateway, s: Signed, path = '/admin/functions') => (await fetch(`${gw.url}${path}`, { headers: { cookie: s.cookie } })).status;

describe('console sessions on a cluster', () => {
  it('a session made on one gateway works on the other; signing out on the other ends it on both at once', async () => {
    const [a, b] = gws as [TestGateway, TestGateway];
    const s = await signIn(a, a.token);
    expect(await status(b, s)).toBe(200);
    expect(await (await fetch(`${b.url}/admin/session`, { headers: { cookie: s.cookie } })).json()).toMatchObject({ signedIn: true, csrf: s.csrf });
    // a state-changing call on b with the CSRF token a handed out
    const made = await fetch(`${b.url}/admin/tenants`, { method: 'POST', headers: { cookie: s.cookie, 'x-faas-csrf': s.csrf, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'sess-a' }) });
    expect(made.status).toBe(201);
    expect((await fetch(`${b.url}/admin/session`, { method: 'DELETE', headers: { cookie: s.cookie, 'x-faas-csrf': s.csrf } })).status).toBe(204);
    expect([await status(a, s), await status(b, s)]).toEqual([401, 401]);
  });

  it('a token revoked, or a tenant deleted, on one gateway ends its sessions on the other at once', async () => {
    const [a, b] = gws as [TestGateway, TestGateway];
    const issued = (await (await a.admin('POST', '/admin/tenants/sess-a/tokens', {})).json()) as { id: string; token: string };
    const s = await signIn(a, issued.token);
    expect(await status(b, s)).toBe(200);
    expect((await a.admin('DELETE', `/admin/tenants/sess-a/tokens/${issued.id}`)).status).toBe(204);
    expect([await status(b, s), await status(a, s)]).toEqual([401, 401]);

    expect((await b.admin('POST', '/admin/tenants', { name: 'sess-b' })).status).toBe(201);
    const other = (await (await b.admin('POST', '/admin/tenants/sess-b/tokens', {})).json()) as { token: string };
    const t = await signIn(b, other.token);
    expect(await status(a, t)).toBe(200);
    expect((await b.admin('DELETE', '/admin/tenants/sess-b')).status).toBe(204);
    expect([await status(a, t), await status(b, t)]).toEqual([401, 401]);
  });

  it('a gateway started later (its own empty data directory) accepts a session made before it', async () => {
    const [a] = gws as [TestGateway];
    const s = await signIn(a, a.token);
    const [late] = await startCluster(url, 1);
    gws.push(late!);
    expect(await status(late!, s)).toBe(200);
  });

  it('while the database is away a session check is 503 unavailable (not 401); the session works again after', { timeout: 60_000 }, async () => {
    const server = inject('pg');
    const [a, b] = gws as [TestGateway, TestGateway];
    const s = await signIn(a, a.token);
    pgCtl(server, 'stop');
    try {
      for (const gw of [a, b]) {
        for (const path of ['/admin/functions', '/admin/session']) {
          const res = await fetch(`${gw.url}${path}`, { headers: { cookie: s.cookie } });
          expect([path, res.status]).toEqual([path, 503]);
          const body = (await res.json()) as { error: string; message: string };
          expect(body.error).toBe('unavailable');
          // nothing about the database (its address, its driver's words) to whoever sent a cookie
          expect(body.message).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|postgres|:\d{4,5}/i);
        }
        const signOut = await fetch(`${gw.url}/admin/session`, { method: 'DELETE', headers: { cookie: s.cookie, 'x-faas-csrf': s.csrf } });
        expect(signOut.status).toBe(503);
        expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
      }
    } finally {
      pgCtl(server, 'start');
    }
    await waitFor(async () => ((await status(b, s)) === 200 ? true : undefined), { timeoutMs: 20_000, what: 'the session to work again' });
    expect(await status(a, s)).toBe(200);
  });

  it('keeps only hashes: no session id and no CSRF token in the database', async () => {
    const [a] = gws as [TestGateway];
    const s = await signIn(a, a.token);
    const id = s.cookie.split('=')[1]!;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT * FROM console_sessions');
      expect(rows.length).toBeGreaterThan(0);
      const dump = JSON.stringify(rows);
      expect(dump).not.toContain(id);
      expect(dump).not.toContain(s.csrf);
    } finally {
      await client.end();
    }
  });

  it('PgSessions: the cap ends the least recently used, lastSeen is written once a minute, the sweep ends expired and revoked', async () => {
    const pool = openPool(url, { max: 2 });
    let now = 1_700_000_000_000;
    const store = new SessionStore(new PgSessions(pool), () => true, { maxSessions: 3, idleMs: 3_600_000, maxAgeMs: 7_200_000, now: () => now });
    try {
      await pool.query('DELETE FROM console_sessions'); // the other tests' rows, on the real clock
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push((await store.create({ kind: 'root' })).id);
        now += 1;
      }
      expect(await store.size()).toBe(3);
      now += 61_000;
      await store.resolve(ids[0]);
      const d = (await store.create({ kind: 'root' })).id;
      expect(await store.resolve(ids[1])).toBeUndefined();
      for (const id of [ids[0]!, ids[2]!, d]) expect(await store.resolve(id)).toBeDefined();
      const lastSeen = async (id: string) =>
        Number((await pool.query<{ last_seen: string }>('SELECT last_seen FROM console_sessions WHERE key = $1', [createHash('sha256').update(id).digest('base64url')])).rows[0]!.last_seen);
      const seen = await lastSeen(d);
      now += 30_000;
      await store.resolve(d);
      expect(await lastSeen(d)).toBe(seen);
      now += 31_000;
      await store.resolve(d);
      expect(await lastSeen(d)).toBe(now);
      // a tenant session whose token is revoked, and one idle too long: both swept
      const [a] = gws as [TestGateway];
      expect((await a.admin('POST', '/admin/tenants', { name: 'sess-sweep' })).status).toBe(201);
      const issued = (await (await a.admin('POST', '/admin/tenants/sess-sweep/tokens', {})).json()) as { id: string };
      const t = await store.create({ kind: 'tenant', tenant: 'sess-sweep', tokenId: issued.id });
      expect(await store.resolve(t.id)).toBeDefined();
      expect((await a.admin('DELETE', `/admin/tenants/sess-sweep/tokens/${issued.id}`)).status).toBe(204);
      // t's sign-in made the cap end one more (ids[0] or ids[2], both last used 61 s in); the other is
      // idle past the hour at the sweep, d (used at 122 s) is not, t's token is revoked
      now += 3_600_000 - 1000;
      expect(await store.sweep()).toBe(2);
      expect(await store.size()).toBe(1);
      expect(await store.resolve(d)).toBeDefined();
    } finally {
      store.stop();
      await pool.end();
    }
  });
});
