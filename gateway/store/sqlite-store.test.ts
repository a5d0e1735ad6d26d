/** The shared store suite (test/helpers/store-suite.ts) on the default store: SQLite files in a data directory. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { KvStore } from '../../bindings/kv/store.ts';
import { tempDir } from '../../test/helpers/gateway.ts';
import { storeSuite } from '../../test/helpers/store-suite.ts';
import { SqliteAuditSink } from '../audit/log.ts';
import { openRegistryDb, RegistryStore } from '../registry/store.ts';
import { TenantStore } from '../tenants/store.ts';
import { SqliteUsageSink } from '../usage/meter.ts';

storeSuite('sqlite', async () => {
  const dir = tempDir('faas-store-');
  const db = openRegistryDb(join(dir, 'faas.db'));
  const clock = { now: Date.now() };
  const kv = new KvStore(join(dir, 'kv.db'), undefined, () => clock.now);
  return {
    registry: new RegistryStore(db, dir),
    tenants: new TenantStore(db),
    usage: new SqliteUsageSink(db),
    audit: new SqliteAuditSink(db),
    kv,
    clock,
    async close() {
      kv.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
