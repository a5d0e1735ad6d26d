import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from './sqlite-migrations.ts';
import { openRegistryDb, RegistryStore, REGISTRY_MIGRATIONS } from '../gateway/registry/store.ts';
import { KvStore, KV_MIGRATIONS } from '../bindings/kv/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'faas-migrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('versioned SQLite schemas', () => {
  it('a new file gets every migration and records its version', () => {
    const path = join(dir, 'new.db');
    new RegistryStore(openRegistryDb(path)).close();
    const db = new Database(path);
    expect(db.pragma('user_version', { simple: true })).toBe(REGISTRY_MIGRATIONS.length);
    db.close();
    const kv = new KvStore(join(dir, 'kv.db'));
    kv.close();
    const k = new Database(join(dir, 'kv.db'));
    expect(k.pragma('user_version', { simple: true })).toBe(KV_MIGRATIONS.length);
    k.close();
  });

  it('a file from before versioning (user_version 0, tables present) upgrades in place, keeping its rows', () => {
    const path = join(dir, 'old.db');
    const db = new Database(path);
    db.exec(REGISTRY_MIGRATIONS[0]!.sql);
    db.prepare(`INSERT INTO versions VALUES ('a', 1, 's', 1, 'd', '{}', 'artifacts/a/1-s.qbc', 'api', 'a.ts', 'src', NULL)`).run();
    db.close();
    const store = new RegistryStore(openRegistryDb(path));
    expect(store.source('a', 1)).toBe('src');
    store.close();
  });

  it('a registry from before tenants keeps what its versions see: no stripPrefix stored means the full /fn/<name> path', () => {
    const path = join(dir, 'before-tenants.db');
    const db = new Database(path);
    db.exec(REGISTRY_MIGRATIONS[0]!.sql);
    db.pragma('user_version = 1');
    db.prepare(`INSERT INTO versions VALUES ('a', 1, 's', 1, 'd', '{"memoryMb":1}', 'artifacts/a/1-s.qbc', 'api', 'a.ts', 'src', NULL)`).run();
    db.prepare(`INSERT INTO functions VALUES ('a', 1, 's', 1, 'd', '{"memoryMb":1}', 'artifacts/a/1-s.qbc', 'api', 'a.ts', NULL)`).run();
    db.close();
    const store = new RegistryStore(openRegistryDb(path));
    expect(store.current('a')).toMatchObject({ tenant: 'default', split: null, config: { memoryMb: 1, stripPrefix: false } });
    expect(store.version('a', 1)?.config.stripPrefix).toBe(false);
    // a version stored since keeps what it was deployed with
    store.commit({ ...store.version('a', 1)!, version: 2, config: { ...store.version('a', 1)!.config, stripPrefix: true } }, 'src');
    expect(store.current('a')?.config.stripPrefix).toBe(true);
    expect(store.version('a', 1)?.config.stripPrefix).toBe(false);
    store.close();
  });

  it('a KV file from before tenants counts the bytes each tenant already holds', () => {
    const path = join(dir, 'kv-old.db');
    const db = new Database(path);
    db.exec(KV_MIGRATIONS[0]!.sql);
    db.pragma('user_version = 1');
    db.prepare(`INSERT INTO kv (namespace, key, value, metadata, expiration) VALUES ('NS', 'ab', x'000102', '{}', NULL)`).run();
    db.prepare(`INSERT INTO kv (namespace, key, value, metadata, expiration) VALUES ('acme/NS', 'é', x'00', NULL, NULL)`).run();
    db.close();
    const kv = new KvStore(path);
    expect(kv.bytesOf('default')).toBe(2 + 3 + 2);
    expect(kv.bytesOf('acme')).toBe(2 + 1);
    kv.close();
  });

  it('applies only the missing migrations, once, and refuses a file from a newer faas', () => {
    const db = new Database(join(dir, 'm.db'));
    const steps = [
      { name: 'one', sql: 'CREATE TABLE t (a INTEGER)' },
      { name: 'two', sql: 'ALTER TABLE t ADD COLUMN b TEXT' },
    ];
    expect(migrate(db, 'test', steps.slice(0, 1))).toBe(1);
    expect(migrate(db, 'test', steps)).toBe(2);
    expect(migrate(db, 'test', steps)).toBe(2);
    expect(() => migrate(db, 'test', steps.slice(0, 1))).toThrow(/newer than this faas knows/);
    db.close();
  });
});
