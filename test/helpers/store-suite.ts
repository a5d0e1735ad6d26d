/**
 * One behaviour for both stores: the same tests run against SQLite (gateway/store/sqlite-store.test.ts,
 * default project) and PostgreSQL (test/cluster/store.test.ts, cluster project).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KvBackend } from '../../bindings/kv/store.ts';
import { parseFunctionConfig } from '../../contract/config.ts';
import type { VersionRecord } from '../../gateway/registry/store.ts';
import type { AuditSink, RegistryBackend, TenantBackend, UsageSink } from '../../gateway/store/types.ts';

export interface StoreUnderTest {
  registry: RegistryBackend;
  tenants: TenantBackend;
  usage: UsageSink;
  audit: AuditSink;
  kv: KvBackend;
  /** The KV store's clock (ms), settable. */
  clock: { now: number };
  close(): Promise<void>;
}

const sha = (n: number) => n.toString(16).padStart(64, '0');

function record(name: string, version: number, config: object = {}, tenant = 'default'): VersionRecord {
  return {
    name,
    version,
    sha256: sha(version),
    bytecodeBytes: 10 + version,
    deployedAt: new Date(1_700_000_000_000 + version).toISOString(),
    config: parseFunctionConfig(config),
    artifact: `artifacts/${name}/${version}-${sha(version).slice(0, 16)}.qbc`,
    origin: 'api',
    filename: `${name}.ts`,
    sourceHash: null,
    tenant,
    deployedBy: 'root',
  };
}

export function storeSuite(label: string, open: () => Promise<StoreUnderTest>): void {
  describe(`store: ${label}`, () => {
    let s: StoreUnderTest;
    beforeAll(async () => {
      s = await open();
    });
    afterAll(async () => {
      await s?.close();
    });

    it('registry: deploy, versions, sources, artifacts, rollback, split, delete', async () => {
      const { registry } = s;
      expect(await registry.nextVersion('alpha')).toBe(1);
      const v1 = record('alpha', 1, { routes: ['a.example/x/*'] });
      await registry.writeArtifact(v1, new Uint8Array([1, 2, 3]));
      await registry.commit(v1, 'source one', null, v1);
      expect(registry.current('alpha')).toMatchObject({ name: 'alpha', version: 1, split: null });
      expect(registry.count()).toBe(1);
      expect(registry.withList('routes').map((f) => f.name)).toEqual(['alpha']);
      expect(registry.withList('crons')).toEqual([]);
      expect(await registry.nextVersion('alpha')).toBe(2);

      const v2 = record('alpha', 2);
      await registry.writeArtifact(v2, new Uint8Array([4, 5]));
      await registry.commit(v2, 'source two', null, v2);
      expect(registry.current('alpha')!.version).toBe(2);
      expect((await registry.versions('alpha')).map((v) => v.version)).toEqual([2, 1]);
      expect(await registry.source('alpha', 1)).toBe('source one');
      expect(await registry.source('alpha', 9)).toBeNull();
      expect(await registry.version('alpha', 9)).toBeUndefined();
      expect([...(await registry.readArtifact(v1))]).toEqual([1, 2, 3]);
      expect((await registry.version('alpha', 1))!.config.routes).toEqual(['a.example/x/*']);

      await registry.makeLive(v1, null);
      expect(registry.current('alpha')!.version).toBe(1);
      const split = [
        { version: 2, percent: 90 },
        { version: 1, percent: 10 },
      ];
      await registry.makeLive(v2, split);
      expect(registry.current('alpha')).toMatchObject({ version: 2, split });

      await registry.deleteVersion('alpha', 1);
      await registry.removeArtifact(v1);
      expect((await registry.versions('alpha')).map((v) => v.version)).toEqual([2]);
      await expect(registry.readArtifact(v1)).rejects.toThrow();

      expect(await registry.remove('alpha')).toBe(true);
      expect(await registry.remove('alpha')).toBe(false);
      expect(registry.current('alpha')).toBeUndefined();
      // Numbers keep counting after a delete: a version number never names two artifacts.
      expect(await registry.nextVersion('alpha')).toBe(3);
    });

    it('registry: listing by tenant and pages by name', async () => {
      const { registry } = s;
      for (const [name, tenant] of [
        ['p-a', 'default'],
        ['p-b', 'other'],
        ['p-c', 'default'],
        ['q-a', 'default'],
      ] as const) {
        const r = record(name, 1, {}, tenant);
        await registry.writeArtifact(r, new Uint8Array([9]));
        await registry.commit(r, null, null, r);
      }
      expect(registry.list('other').map((f) => f.name)).toEqual(['p-b']);
      expect(registry.count('default')).toBe(3);
      expect(registry.page({ limit: 2, prefix: 'p-' }).map((f) => f.name)).toEqual(['p-a', 'p-b']);
      expect(registry.page({ limit: 10, prefix: 'p-', cursor: 'p-a' }).map((f) => f.name)).toEqual(['p-b', 'p-c']);
      expect(registry.page({ limit: 10, tenant: 'default' }).map((f) => f.name)).toEqual(['p-a', 'p-c', 'q-a']);
    });

    it('registry: garbage collection removes only artifacts no version names', async () => {
      const { registry } = s;
      const orphan = record('orphan', 1);
      await registry.writeArtifact(orphan, new Uint8Array([7]));
      const kept = record('kept', 1);
      await registry.writeArtifact(kept, new Uint8Array([8]));
      await registry.commit(kept, null, null, kept);
      const removed = await registry.collectGarbage(Date.now() + 60_000);
      expect(removed).toContain(orphan.artifact);
      expect(removed).not.toContain(kept.artifact);
      expect([...(await registry.readArtifact(kept))]).toEqual([8]);
    });

    it('tenants: create, quotas, tokens, revocation, delete', async () => {
      const { tenants } = s;
      expect(tenants.get('default')).toBeDefined();
      await tenants.create('acme');
      await expect(Promise.resolve().then(() => tenants.create('acme'))).rejects.toMatchObject({ code: 'conflict' });
      await expect(Promise.resolve().then(() => tenants.create('Bad Name'))).rejects.toMatchObject({ code: 'bad_request' });
      await tenants.setQuota('acme', { functions: 3, kvBytes: 100 });
      expect(tenants.get('acme')!.quota).toEqual({ functions: 3, kvBytes: 100 });
      await expect(Promise.resolve().then(() => tenants.setQuota('nope', {}))).rejects.toMatchObject({ code: 'not_found' });
      const { token, info } = await tenants.issueToken('acme', 'ci');
      expect(tenants.authenticate(token)).toEqual({ kind: 'tenant', tenant: 'acme', tokenId: info.id });
      expect(tenants.authenticate(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
      expect(tenants.tokens('acme').map((t) => t.id)).toEqual([info.id]);
      expect(await tenants.revokeToken('acme', info.id)).toBe(true);
      expect(await tenants.revokeToken('acme', info.id)).toBe(false);
      expect(tenants.authenticate(token)).toBeUndefined();
      await tenants.remove('acme');
      expect(tenants.get('acme')).toBeUndefined();
      await expect(Promise.resolve().then(() => tenants.remove('default'))).rejects.toMatchObject({ code: 'bad_request' });
    });

    it('usage: rows add up per hour, tenant and function', async () => {
      const { usage } = s;
      const hour = '2026-01-01T10:00:00.000Z';
      const row = { hour, tenant: 'default', function: 'f', invocations: 2, errors: 1, cpuMs: 1.5, wallMs: 3, egressBytes: 10, kvOps: 4 };
      await usage.write([row]);
      await usage.write([row, { ...row, function: 'g' }]);
      const rows = await usage.query({ from: hour, function: 'f' });
      expect(rows).toEqual([{ ...row, invocations: 4, errors: 2, cpuMs: 3, wallMs: 6, egressBytes: 20, kvOps: 8 }]);
      expect(await usage.query({ to: hour })).toEqual([]);
      expect((await usage.query({ tenant: 'default' })).length).toBe(2);
    });

    it('audit: newest first, by tenant, paged', async () => {
      const { audit } = s;
      for (let i = 0; i < 3; i++) {
        await audit.insert({ at: new Date().toISOString(), tenant: i === 1 ? 'x' : 'y', token: 'root', action: `a${i}`, target: null, outcome: 'ok', detail: i === 2 ? { n: i } : null });
      }
      const all = await audit.list({ before: Number.MAX_SAFE_INTEGER, limit: 10 });
      expect(all.map((e) => e.action)).toEqual(['a2', 'a1', 'a0']);
      expect(all[0]!.detail).toEqual({ n: 2 });
      expect((await audit.list({ tenant: 'x', before: Number.MAX_SAFE_INTEGER, limit: 10 })).map((e) => e.action)).toEqual(['a1']);
      expect((await audit.list({ before: all[0]!.id, limit: 1 })).map((e) => e.action)).toEqual(['a1']);
    });

    it('kv: values, metadata, listing with cursors, expiry, quotas', async () => {
      const { kv, clock } = s;
      const text = (v: { value: ArrayBuffer } | null) => (v ? Buffer.from(v.value).toString() : null);
      await kv.put('NS', 'k1', Buffer.from('one'), { metadata: { a: 1 } });
      expect(text(await kv.get('NS', 'k1'))).toBe('one');
      expect((await kv.get('NS', 'k1'))!.metadata).toEqual({ a: 1 });
      expect(await kv.get('OTHER', 'k1')).toBeNull();
      for (const k of ['b/1', 'b/2', 'b/3', 'c']) await kv.put('NS', k, Buffer.from(k));
      const first = await kv.list('NS', { prefix: 'b/', limit: 2 });
      expect(first.keys.map((k) => k.name)).toEqual(['b/1', 'b/2']);
      expect(first.list_complete).toBe(false);
      const rest = await kv.list('NS', { prefix: 'b/', limit: 2, cursor: first.cursor });
      expect(rest).toEqual({ keys: [{ name: 'b/3' }], list_complete: true });
      await kv.delete('NS', 'c');
      expect(await kv.get('NS', 'c')).toBeNull();

      await kv.put('NS', 'ttl', Buffer.from('x'), { expirationTtl: 60 });
      expect(text(await kv.get('NS', 'ttl'))).toBe('x');
      clock.now += 61_000;
      expect(await kv.get('NS', 'ttl')).toBeNull();
      expect((await kv.list('NS')).keys.map((k) => k.name)).not.toContain('ttl');
      expect(await kv.purgeExpired()).toBe(1);
      await expect(Promise.resolve().then(() => kv.put('NS', 'bad', Buffer.from('x'), { expirationTtl: 0 }))).rejects.toThrow(/expirationTtl/);
      await expect(Promise.resolve().then(() => kv.get('NS', ''))).rejects.toThrow(/empty/);

      await kv.setQuota('q', 20);
      await kv.put('q/NS', 'a', Buffer.from('0123456789'));
      expect(await kv.bytesOf('q')).toBe(11);
      await expect(Promise.resolve().then(() => kv.put('q/NS', 'b', Buffer.from('0123456789')))).rejects.toThrow(/quota/);
      await kv.delete('q/NS', 'a');
      expect(await kv.bytesOf('q')).toBe(0);
    });
  });
}
