/**
 * Console sessions kept in the store (faas.db) as an attacker sees them: forged ids, a signed-out id,
 * an id from a deleted (and re-created) tenant, the stored hash presented as the id, what the
 * database holds (hashes only: no id, no CSRF token, anywhere in its files), huge and malformed
 * cookies, and a burst of sign-ins. After each: the gateway and a neighbour function still answer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounded, startAttackGateway, type AttackGateway } from './harness.ts';
import { rawHttp } from './raw-http.ts';

let t: AttackGateway;

interface Signed {
  id: string;
  cookie: string;
  csrf: string;
}

async function signIn(token: string): Promise<Signed> {
  const res = await fetch(`${t.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  expect(res.status).toBe(201);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  return { id: cookie.slice(cookie.indexOf('=') + 1), cookie, csrf: ((await res.json()) as { csrf: string }).csrf };
}

const get = async (cookie: string, path = '/admin/functions') => {
  const res = await fetch(`${t.url}${path}`, { headers: { cookie } });
  return { status: res.status, body: await res.text() };
};

/** What the store keys a session by. */
const hashOf = (id: string) => createHash('sha256').update(id).digest('base64url');

beforeAll(async () => {
  t = await startAttackGateway();
}, 120_000);
afterAll(() => t?.close());

describe('stored console sessions', () => {
  it('forged ids, a signed-out id and an id of the right shape name no session: 401, no work beyond one lookup', async () => {
    const live = await signIn(t.token);
    const gone = await signIn(t.token);
    expect((await fetch(`${t.url}/admin/session`, { method: 'DELETE', headers: { cookie: gone.cookie, 'x-faas-csrf': gone.csrf } })).status).toBe(204);
    const forged = [
      randomBytes(32).toString('base64url'),
      // one character off the live id, at either end
      `${live.id.slice(0, -1)}${live.id.endsWith('A') ? 'B' : 'A'}`,
      `${live.id.startsWith('A') ? 'B' : 'A'}${live.id.slice(1)}`,
      live.id.toLowerCase() === live.id ? live.id.toUpperCase() : live.id.toLowerCase(),
      gone.id,
      live.csrf, // the CSRF token is no session id
    ];
    await bounded(20_000, 'forged ids', async () => {
      for (const id of forged) {
        if (id === live.id) continue;
        expect(await get(`faas_session=${id}`)).toMatchObject({ status: 401 });
        expect(JSON.parse((await get(`faas_session=${id}`, '/admin/session')).body)).toEqual({ signedIn: false });
      }
    });
    expect((await get(live.cookie)).status).toBe(200);
    await t.assertHealthy();
  });

  it('the stored hash, presented as the id, opens nothing and signs nobody out', async () => {
    const s = await signIn(t.token);
    const key = hashOf(s.id);
    expect(key).toMatch(/^[\w-]{43}$/); // the shape of an id: it reaches the lookup, and must fail there
    expect((await get(`faas_session=${key}`)).status).toBe(401);
    const out = await fetch(`${t.url}/admin/session`, { method: 'DELETE', headers: { cookie: `faas_session=${key}`, 'x-faas-csrf': s.csrf } });
    expect(out.status).toBe(204); // clears the cookie it was sent, ends nothing
    expect((await get(s.cookie)).status).toBe(200);
    await t.assertHealthy();
  });

  it('the database holds only the hash of each id: no id and no CSRF token in any of its files', async () => {
    const sessions = [await signIn(t.token), await signIn(t.token)];
    const db = new Database(join(t.dataDir, 'faas.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT * FROM console_sessions').all() as { key: string }[];
      const keys = new Set(rows.map((r) => r.key));
      for (const s of sessions) expect(keys.has(hashOf(s.id))).toBe(true);
      expect(Object.keys(rows[0]!).sort()).toEqual(['created_at', 'expires_at', 'key', 'last_seen', 'tenant', 'token_id']);
    } finally {
      db.close();
    }
    // faas.db, its WAL and shared memory: the bytes, not just the rows
    const files = readdirSync(t.dataDir).filter((f) => f.startsWith('faas.db'));
    expect(files).toContain('faas.db');
    for (const f of files) {
      const bytes = readFileSync(join(t.dataDir, f)).toString('latin1');
      for (const s of sessions) {
        expect([f, bytes.includes(s.id)]).toEqual([f, false]);
        expect([f, bytes.includes(s.csrf)]).toEqual([f, false]);
      }
    }
    await t.assertHealthy();
  });

  it('a session of a deleted tenant stays ended when a tenant of the same name comes back', async () => {
    expect((await t.admin('POST', '/admin/tenants', { name: 'phoenix' })).status).toBe(201);
    const first = (await (await t.admin('POST', '/admin/tenants/phoenix/tokens', {})).json()) as { token: string };
    const old = await signIn(first.token);
    expect((await get(old.cookie)).status).toBe(200);
    expect((await t.admin('DELETE', '/admin/tenants/phoenix')).status).toBe(204);
    expect((await get(old.cookie)).status).toBe(401);
    expect((await t.admin('POST', '/admin/tenants', { name: 'phoenix' })).status).toBe(201);
    const second = (await (await t.admin('POST', '/admin/tenants/phoenix/tokens', {})).json()) as { token: string };
    expect((await get(old.cookie)).status).toBe(401);
    const fresh = await signIn(second.token);
    expect((await get(fresh.cookie)).status).toBe(200);
    // a write with the dead session's CSRF token on the new session is refused too
    const put = await fetch(`${t.url}/admin/functions/phoenix-fn`, {
      method: 'PUT',
      headers: { cookie: fresh.cookie, 'x-faas-csrf': old.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ source: `export default { fetch() { return new Response('x'); } };` }),
    });
    expect(put.status).toBe(403);
    await t.assertHealthy();
  });

  it('huge and malformed cookies are 401 (or refused by the HTTP parser), never a 500 or a crash', async () => {
    const cookies = [
      `faas_session=${'A'.repeat(43)}`,
      `faas_session=${'A'.repeat(44)}`,
      `faas_session=${'A'.repeat(42)}`,
      `faas_session=${'%'.repeat(43)}`,
      'faas_session=%E0%A4%A',
      'faas_session=%ZZ%ZZ',
      `faas_session=${'é'.repeat(43)}`,
      `faas_session="${'A'.repeat(43)}"`,
      `faas_session=${'A'.repeat(21)};${'A'.repeat(21)}`,
      `faas_session=${'x'.repeat(7000)}`,
      Array.from({ length: 300 }, (_, i) => `faas_session=${randomBytes(32).toString('base64url')}${i}`).join('; '),
      `__Secure-faas_session=${'A'.repeat(43)}; faas_session=${'B'.repeat(43)}`,
      'faas_session',
      '=; ==; ;;;',
    ];
    await bounded(30_000, 'malformed cookies', async () => {
      for (const cookie of cookies) {
        for (const path of ['/admin/functions', '/admin/session']) {
          const res = await fetch(`${t.url}${path}`, { headers: { cookie } });
          const expected = path === '/admin/session' ? [200, 431] : [401, 431];
          expect([cookie.slice(0, 40), path, expected.includes(res.status)]).toEqual([cookie.slice(0, 40), path, true]);
          if (res.status === 200) expect(await res.json()).toEqual({ signedIn: false });
          else await res.arrayBuffer();
        }
        const del = await fetch(`${t.url}/admin/session`, { method: 'DELETE', headers: { cookie } });
        expect([cookie.slice(0, 40), del.status < 500]).toEqual([cookie.slice(0, 40), true]);
      }
      // a cookie header far over the parser's limit: refused before any session code runs
      const raw = await rawHttp(t.url, [`GET /admin/functions HTTP/1.1\r\nHost: x\r\nCookie: faas_session=${'A'.repeat(200_000)}\r\nConnection: close\r\n\r\n`], { timeoutMs: 5000 });
      expect(raw.statuses[0] ?? 431).toBeGreaterThanOrEqual(400);
      expect(raw.statuses[0] ?? 431).toBeLessThan(500);
    });
    await t.assertHealthy();
  });

  it('a burst of sign-ins gives distinct sessions that all work, and the gateway stays well', async () => {
    const burst = await bounded(30_000, 'sign-in burst', () => Promise.all(Array.from({ length: 40 }, () => signIn(t.token))));
    expect(new Set(burst.map((s) => s.id)).size).toBe(40);
    expect(new Set(burst.map((s) => s.csrf)).size).toBe(40);
    const statuses = await bounded(30_000, 'use of the burst', () => Promise.all(burst.map(async (s) => (await get(s.cookie)).status)));
    expect(new Set(statuses)).toEqual(new Set([200]));
    await t.assertHealthy();
  });
});
