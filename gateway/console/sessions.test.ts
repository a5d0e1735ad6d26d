import { describe, expect, it } from 'vitest';
import { SessionStore, csrfMatches } from './sessions.ts';
import type { Principal } from '../tenants/store.ts';

const ROOT: Principal = { kind: 'root' };
const TENANT: Principal = { kind: 'tenant', tenant: 'acme', tokenId: 'abc' };

describe('SessionStore', () => {
  it('issues random ids, resolves them, and ends a session idle too long or past its age', () => {
    let now = 1_000_000;
    const store = new SessionStore(() => true, { idleMs: 1000, maxAgeMs: 5000, now: () => now });
    const a = store.create(ROOT);
    const b = store.create(ROOT);
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^[\w-]{43}$/);
    expect(a.session.csrf).not.toBe(b.session.csrf);
    expect(store.resolve(a.id)?.principal).toEqual(ROOT);
    for (let i = 0; i < 5; i++) {
      now += 900;
      expect(store.resolve(a.id)).toBeDefined();
    }
    now += 900; // 5.4 s after sign-in: past its age although in use
    expect(store.resolve(a.id)).toBeUndefined();
    expect(store.resolve(b.id)).toBeUndefined(); // idle for 5.4 s
    clearAll(store);
  });

  it('ends a session whose credential no longer stands', () => {
    let valid = true;
    const store = new SessionStore(() => valid);
    const s = store.create(TENANT);
    expect(store.resolve(s.id)).toBeDefined();
    valid = false;
    expect(store.resolve(s.id)).toBeUndefined();
    valid = true;
    expect(store.resolve(s.id)).toBeUndefined();
    clearAll(store);
  });

  it('holds at most maxSessions, ending the least recently used', () => {
    const store = new SessionStore(() => true, { maxSessions: 3 });
    const ids = [0, 1, 2].map(() => store.create(ROOT).id);
    store.resolve(ids[0]); // now the most recent
    const d = store.create(ROOT).id;
    expect(store.size).toBe(3);
    expect(store.resolve(ids[1])).toBeUndefined();
    expect(store.resolve(ids[0])).toBeDefined();
    expect(store.resolve(d)).toBeDefined();
    clearAll(store);
  });

  it('refuses ids it did not issue and absurd ones without work', () => {
    const store = new SessionStore(() => true);
    expect(store.resolve('')).toBeUndefined();
    expect(store.resolve(undefined)).toBeUndefined();
    expect(store.resolve('x'.repeat(10_000))).toBeUndefined();
    expect(store.resolve('A'.repeat(43))).toBeUndefined();
    clearAll(store);
  });

  it('compares CSRF tokens exactly', () => {
    const store = new SessionStore(() => true);
    const { session } = store.create(ROOT);
    expect(csrfMatches(session, session.csrf)).toBe(true);
    expect(csrfMatches(session, `${session.csrf} `)).toBe(false);
    expect(csrfMatches(session, session.csrf.slice(1))).toBe(false);
    expect(csrfMatches(session, undefined)).toBe(false);
    expect(csrfMatches(session, '')).toBe(false);
    clearAll(store);
  });
});

function clearAll(store: SessionStore) {
  store.clear();
}
