// `node bin/run-ts.js bench/sessions.ts`: the cost of one console-session check (SessionStore.resolve: a
// primary-key read joined to the tokens table; lastSeen written at most once a minute) and of a
// sign-in, on faas.db and on PostgreSQL over loopback (a server started here, as the cluster tests do).
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { SessionStore } from '../gateway/console/sessions.ts';
import { SqliteSessions } from '../gateway/console/sqlite-sessions.ts';
import { openRegistryDb } from '../gateway/registry/store.ts';
import { openPool, migratePg } from '../contract/pg.ts';
import { PG_REGISTRY_MIGRATIONS, PgSessions } from '../gateway/store/postgres.ts';
import { startPostgres, stopPostgres, freshDatabase } from '../test/helpers/postgres.ts';

async function measure(what: string, store: SessionStore, n: number) {
  const ids: string[] = [];
  for (let i = 0; i < 1000; i++) ids.push((await store.create({ kind: 'root' })).id);
  for (let i = 0; i < 200; i++) await store.resolve(ids[i % ids.length]);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) if (!(await store.resolve(ids[i % ids.length]))) throw new Error('lost');
  const us = ((performance.now() - t0) / n) * 1000;
  const c0 = performance.now();
  for (let i = 0; i < 200; i++) await store.create({ kind: 'root' });
  const createUs = ((performance.now() - c0) / 200) * 1000;
  console.log(`${what}: resolve ${us.toFixed(1)} µs/check (${n} checks over 1000 sessions), create ${createUs.toFixed(0)} µs`);
  store.stop();
}

const dir = mkdtempSync(join(tmpdir(), 'faas-bench-sessions-'));
const db = openRegistryDb(join(dir, 'faas.db'));
await measure('sqlite faas.db', new SessionStore(new SqliteSessions(db), () => true), 20000);
db.close();
rmSync(dir, { recursive: true, force: true });
const server = await startPostgres();
try {
  const url = await freshDatabase(server);
  const pool = openPool(url);
  await migratePg(pool, 'registry', PG_REGISTRY_MIGRATIONS);
  await measure('postgres (loopback)', new SessionStore(new PgSessions(pool), () => true), 5000);
  await pool.end();
} finally {
  stopPostgres(server);
}
