/** The shared store suite (test/helpers/store-suite.ts) on PostgreSQL, and its migrations. */
import { describe, expect, inject, it } from 'vitest';
import { PgKvStore } from '../../bindings/kv/pg-store.ts';
import { migratePg, openPool } from '../../contract/pg.ts';
import { openPgStore, PG_REGISTRY_MIGRATIONS } from '../../gateway/store/postgres.ts';
import { freshDatabase } from '../helpers/postgres.ts';
import { storeSuite } from '../helpers/store-suite.ts';

storeSuite('postgres', async () => {
  const url = await freshDatabase(inject('pg'));
  const pool = openPool(url);
  const stores = await openPgStore(pool, 'test-gateway', () => {});
  const clock = { now: Date.now() };
  const kv = new PgKvStore(url, undefined, () => clock.now);
  return {
    ...stores,
    kv,
    clock,
    async close() {
      await kv.close();
      await pool.end();
    },
  };
});

describe('postgres migrations', () => {
  it('apply once when several gateways start together, and refuse a newer schema', async () => {
    const url = await freshDatabase(inject('pg'));
    const pools = [openPool(url), openPool(url), openPool(url)];
    try {
      const versions = await Promise.all(pools.map((p) => migratePg(p, 'registry', PG_REGISTRY_MIGRATIONS)));
      expect(versions).toEqual(versions.map(() => PG_REGISTRY_MIGRATIONS.length));
      const { rows } = await pools[0]!.query('SELECT version FROM faas_schema WHERE store = $1', ['registry']);
      expect(rows[0].version).toBe(PG_REGISTRY_MIGRATIONS.length);
      await pools[0]!.query('UPDATE faas_schema SET version = 99 WHERE store = $1', ['registry']);
      await expect(migratePg(pools[1]!, 'registry', PG_REGISTRY_MIGRATIONS)).rejects.toThrow(/newer than this faas knows/);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});
