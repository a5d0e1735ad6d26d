import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseFunctionConfig } from '../../contract/config.ts';
import { openRegistryDb, RegistryStore, type VersionRecord } from './store.ts';

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
