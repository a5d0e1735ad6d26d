import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFunctionConfig } from '../../contract/config.ts';
import Database from 'better-sqlite3';
import { migrate } from '../../contract/sqlite-migrations.ts';
import { openRegistryDb, REGISTRY_MIGRATIONS, RegistryStore, type VersionRecord } from './store.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function record(name: string, version: number, artifact: string): VersionRecord {
  return {
    name,
    version,
    sha256: 'ab'.repeat(32),
    bytecodeBytes: 1,
    deployedAt: new Date().toISOString(),
    config: parseFunctionConfig({}),
    artifact,
    origin: 'api',
    filename: 'f.js',
    sourceHash: null,
    tenant: 'default',
    deployedBy: 'root',
  };
}

describe('RegistryStore.isReferenced', () => {
  it('answers by the version key for artifact paths, by the path otherwise', () => {
    dir = mkdtempSync(join(tmpdir(), 'faas-store-'));
    const store = new RegistryStore(openRegistryDb(join(dir, 'faas.db')));
    store.commit(record('alpha', 1, 'artifacts/alpha/1-0123456789abcdef.qbc'), 'src');
    store.commit(record('alpha', 2, 'artifacts/alpha/2-fedcba9876543210.qbc'), 'src');
    // a row whose path is not its key's (the registry refuses to load it) still keeps its file
    store.commit(record('beta', 1, 'elsewhere/beta.qbc'), 'src');

    expect(store.isReferenced('artifacts/alpha/1-0123456789abcdef.qbc')).toBe(true);
    expect(store.isReferenced('artifacts/alpha/2-fedcba9876543210.qbc')).toBe(true);
    expect(store.isReferenced('elsewhere/beta.qbc')).toBe(true);
    // same key, other file (an interrupted deploy's leftover); unknown version; temp file
    expect(store.isReferenced('artifacts/alpha/1-1111111111111111.qbc')).toBe(false);
    expect(store.isReferenced('artifacts/alpha/3-0123456789abcdef.qbc')).toBe(false);
    expect(store.isReferenced('artifacts/alpha/1-0123456789abcdef.qbc.tmp-123')).toBe(false);
    expect(store.isReferenced('artifacts/gamma/1-0123456789abcdef.qbc')).toBe(false);
    store.close();
  });
});

describe('RegistryStore.withList', () => {
  const withConfig = (name: string, config: object) => ({ ...record(name, 1, `artifacts/${name}/1-00.qbc`), config: parseFunctionConfig(config) });

  it('reads routed and scheduled functions through their partial indexes, also on a file from before them', () => {
    dir = mkdtempSync(join(tmpdir(), 'faas-store-'));
    // a registry file as the previous schema left it, with functions in it
    const db = new Database(join(dir, 'faas.db'));
    migrate(db, 'registry', REGISTRY_MIGRATIONS.slice(0, 3));
    const old = new RegistryStore(db);
    old.commit(withConfig('routed', { routes: ['a.example/*'] }), 'src');
    old.commit(withConfig('plain', {}), 'src');
    db.close();

    const store = new RegistryStore(openRegistryDb(join(dir, 'faas.db')));
    store.commit(withConfig('timed', { crons: ['* * * * *'] }), 'src');
    store.commit(withConfig('both', { routes: ['b.example/*'], crons: ['0 * * * *'] }), 'src');
    const names = (key: string) => store.withList(key).map((f) => f.name);
    expect(names('routes')).toEqual(['both', 'routed']);
    expect(names('crons')).toEqual(['both', 'timed']);

    // a new live config (redeploy, rollback) moves a function in or out of the index
    store.makeLive({ ...withConfig('routed', {}), version: 1 }, null);
    store.makeLive({ ...withConfig('plain', { crons: ['*/5 * * * *'] }), version: 1 }, null);
    store.remove('both');
    expect(names('routes')).toEqual([]);
    expect(names('crons')).toEqual(['plain', 'timed']);

    const plan = (key: string) =>
      (store.db.prepare(`EXPLAIN QUERY PLAN SELECT * FROM functions WHERE json_array_length(config, '$.${key}') > 0 ORDER BY name`).all() as { detail: string }[])
        .map((r) => r.detail)
        .join('; ');
    expect(plan('routes')).toContain('USING INDEX functions_routed');
    expect(plan('crons')).toContain('USING INDEX functions_scheduled');
    // any other list still answers, by a scan
    expect(store.withList('env')).toEqual([]);
    store.close();
  });
});
