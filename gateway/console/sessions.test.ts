/**
 * SessionStore on its real SQLite store (faas.db's `console_sessions`): expiry on an injected clock,
 * the LRU cap, revocation read with the row, a store shared by two "processes" (two connections to
 * one file) and by a restarted gateway, lastSeen written at most once a minute, nothing secret stored.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { SessionStore, csrfMatches, keyOf, type SessionOptions } from './sessions.ts';
import { SqliteSessions } from './sqlite-sessions.ts';
import { openRegistryDb } from '../registry/store.ts';
import { TenantStore, type Principal } from '../tenants/store.ts';
import { tempDir } from '../../test/helpers/gateway.ts';
import { FaasError } from '../../contract/errors.ts';

const ROOT: Principal = { kind: 'root' };

const opened: { db: Database.Database; store: SessionStore }[] = [];
afterEach(() => {
  for (const o of opened.splice(0)) {
    o.store.stop();
    if (o.db.open) o.db.close();
  }
});

/** A store on `file` (a fresh faas.db by default), as one gateway process opens it. */
function open(options: SessionOptions = {}, file = join(tempDir('faas-sessions-'), 'faas.db'), stillValid: (p: Principal) => boolean = () => true) {
  const db = openRegistryDb(file);
  const store = new SessionStore(new SqliteSessions(db), stillValid, options);
  opened.push({ db, store });
  return { db, store, file, tenants: new TenantStore(db) };
}

describe('SessionStore', () => {
  it('issues random ids, resolves them, and ends a session idle too long or past its age', async () => {
    let now = 1_000_000;
    const { store } = open({ idleMs: 1000, maxAgeMs: 5000, now: () => now });
    const a = await store.create(ROOT);
    const b = await store.create(ROOT);
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^[\w-]{43}$/);
    expect(a.session.csrf).not.toBe(b.session.csrf);
    expect((await store.resolve(a.id))?.principal).toEqual(ROOT);
    expect((await store.resolve(a.id))?.csrf).toBe(a.session.csrf);
    for (let i = 0; i < 5; i++) {
      now += 900;
      expect(await store.resolve(a.id)).toBeDefined();
    }
    now += 900; // 5.4 s after sign-in: past its age although in use
    expect(await store.resolve(a.id)).toBeUndefined();
    expect(await store.resolve(b.id)).toBeUndefined(); // idle for 5.4 s
    expect(await store.size()).toBe(0); // both rows gone
  });

  it('survives a restart: a store opened again on the same file accepts the old id', async () => {
    const first = open();
    const { id, session } = await first.store.create(ROOT);
    first.store.stop();
    first.db.close();
    const second = open({}, first.file);
    const again = await second.store.resolve(id);
    expect(again?.principal).toEqual(ROOT);
    expect(again?.csrf).toBe(session.csrf);
  });

  it('is shared by every process on the file: made on one, used on the other, signed out on either', async () => {
    let now = 5_000_000;
    const one = open({ now: () => now });
    const two = open({ now: () => now }, one.file);
    const { id } = await one.store.create(ROOT);
    expect((await two.store.resolve(id))?.principal).toEqual(ROOT);
    await two.store.destroy(id);
    expect(await one.store.resolve(id)).toBeUndefined();
    // idle expiry counts use on any process
    const s = await one.store.create(ROOT);
    for (let i = 0; i < 4; i++) {
      now += 3_600_000 - 1; // just under the 2 h idle limit, each step, over 4 h in all
      expect(await (i % 2 ? one : two).store.resolve(s.id)).toBeDefined();
    }
  });

  it('writes lastSeen at most once per touch interval', async () => {
    let now = 10_000_000;
    const { store, db } = open({ now: () => now });
    const { id } = await store.create(ROOT);
    const lastSeen = () => (db.prepare('SELECT last_seen FROM console_sessions WHERE key = ?').get(keyOf(id)) as { last_seen: number }).last_seen;
    for (let i = 0; i < 59; i++) {
      now += 1000;
      await store.resolve(id);
    }
    expect(lastSeen()).toBe(10_000_000);
    now += 1000;
    await store.resolve(id);
    expect(lastSeen()).toBe(now);
  });

  it('ends a session whose token is revoked or whose tenant is deleted, read with the row', async () => {
    const { store, tenants, db } = open();
    tenants.create('acme');
    const issued = tenants.issueToken('acme', null);
    const principal: Principal = { kind: 'tenant', tenant: 'acme', tokenId: issued.info.id };
    const s = await store.create(principal);
    expect((await store.resolve(s.id))?.principal).toEqual(principal);
    tenants.revokeToken('acme', issued.info.id);
    expect(await store.resolve(s.id)).toBeUndefined();

    const other = tenants.issueToken('acme', null);
    const t = await store.create({ kind: 'tenant', tenant: 'acme', tokenId: other.info.id });
    const u = await store.create({ kind: 'tenant', tenant: 'acme', tokenId: other.info.id });
    db.prepare('DELETE FROM tokens WHERE tenant = ?').run('acme'); // as deleting the tenant does
    db.prepare('DELETE FROM tenants WHERE name = ?').run('acme');
    expect(await store.resolve(t.id)).toBeUndefined();
    // and the sweep removes such rows without a request
    expect(await store.sweep()).toBe(1);
    expect(await store.resolve(u.id)).toBeUndefined();
  });

  it('refuses a session this gateway no longer trusts (stillValid), without deleting the row', async () => {
    let valid = true;
    const { store } = open({}, undefined, () => valid);
    const s = await store.create(ROOT);
    valid = false;
    expect(await store.resolve(s.id)).toBeUndefined();
    expect(await store.size()).toBe(1);
    valid = true;
    expect(await store.resolve(s.id)).toBeDefined();
  });

  it('holds at most maxSessions, ending the least recently used', async () => {
    let now = 20_000_000;
    const { store } = open({ maxSessions: 3, now: () => now });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await store.create(ROOT)).id);
      now += 1;
    }
    now += 61_000;
    await store.resolve(ids[0]); // now the most recent (its lastSeen written: more than a minute since)
    const d = (await store.create(ROOT)).id;
    expect(await store.size()).toBe(3);
    expect(await store.resolve(ids[1])).toBeUndefined();
    expect(await store.resolve(ids[0])).toBeDefined();
    expect(await store.resolve(ids[2])).toBeDefined();
    expect(await store.resolve(d)).toBeDefined();
  });

  it('sweeps expired and idle sessions from the store', async () => {
    let now = 30_000_000;
    const { store } = open({ idleMs: 10_000, maxAgeMs: 100_000, now: () => now });
    const keep = await store.create(ROOT);
    await store.create(ROOT);
    now += 9_000;
    await store.resolve(keep.id);
    now += 9_000;
    expect(await store.sweep()).toBe(1);
    expect(await store.resolve(keep.id)).toBeDefined();
  });

  it('refuses ids it did not issue, absurd ones, and the stored hash itself', async () => {
    const { store, db } = open();
    expect(await store.resolve('')).toBeUndefined();
    expect(await store.resolve(undefined)).toBeUndefined();
    expect(await store.resolve('x'.repeat(10_000))).toBeUndefined();
    expect(await store.resolve('A'.repeat(43))).toBeUndefined();
    const { id, session } = await store.create(ROOT);
    const rows = db.prepare('SELECT * FROM console_sessions').all() as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    const stored = JSON.stringify(rows);
    // neither the id nor the CSRF token is stored: only the id's SHA-256
    expect(stored).not.toContain(id);
    expect(stored).not.toContain(session.csrf);
    expect(rows[0]!.key).toBe(keyOf(id));
    expect(await store.resolve(keyOf(id))).toBeUndefined();
    await store.destroy(keyOf(id)); // naming the hash cannot sign anyone out either
    expect(await store.resolve(id)).toBeDefined();
  });

  it('a store that cannot be read is `unavailable`, not "signed out"', async () => {
    const { store, db } = open();
    const { id } = await store.create(ROOT);
    db.close();
    const err = await store.resolve(id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FaasError);
    expect((err as FaasError).code).toBe('unavailable');
    expect((err as FaasError).message).not.toMatch(/not open|sqlite|faas\.db/i); // the cause is for the log
    await expect(store.create(ROOT)).rejects.toMatchObject({ code: 'unavailable' });
    await expect(store.sweep()).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('compares CSRF tokens exactly', async () => {
    const { store } = open();
    const { session } = await store.create(ROOT);
    expect(csrfMatches(session, session.csrf)).toBe(true);
    expect(csrfMatches(session, `${session.csrf} `)).toBe(false);
    expect(csrfMatches(session, session.csrf.slice(1))).toBe(false);
    expect(csrfMatches(session, undefined)).toBe(false);
    expect(csrfMatches(session, '')).toBe(false);
  });
});
