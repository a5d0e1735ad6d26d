/**
 * PostgreSQL for a cluster of gateways (`faas serve --store postgres://…`): a connection pool and
 * versioned migrations. Each store (registry, KV) has an ordered list of migrations and a row in
 * `faas_schema` saying how many are applied; they are applied at start under a session advisory lock,
 * so that gateways starting together apply each one once, and a database written by a newer faas is
 * refused instead of being misread (as contract/sqlite-migrations.ts does for SQLite files).
 */
import pg from 'pg';
import { FaasError } from './errors.ts';
import type { Migration } from './sqlite-migrations.ts';

export type { Migration } from './sqlite-migrations.ts';

/** Arbitrary, fixed: the advisory lock key every gateway takes while migrating. */
const MIGRATION_LOCK = 7_242_001;

/** A `postgres://` or `postgresql://` URL: what `--store` / FAAS_STORE take for the cluster store. */
export function isPostgresUrl(spec: string | undefined): spec is string {
  return !!spec && /^postgres(ql)?:\/\//.test(spec);
}

/** A pool whose idle-client errors (the server restarting) are logged by the caller, never thrown. */
export function openPool(url: string, options: { max?: number; onError?: (err: Error) => void } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 8,
    // A database that is away must fail a request within seconds, not hang it.
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30_000,
    query_timeout: 10_000,
    application_name: 'faas',
  });
  pool.on('error', (err) => options.onError?.(err));
  return pool;
}

/** Applies the missing migrations of `store` (one transaction each) under the migration lock. */
export async function migratePg(pool: pg.Pool, store: string, migrations: readonly Migration[]): Promise<number> {
  const client = await pool.connect();
  const guard = guardClient(client);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS faas_schema (store TEXT PRIMARY KEY, version INTEGER NOT NULL)');
      const row = await client.query<{ version: number }>('SELECT version FROM faas_schema WHERE store = $1', [store]);
      const current = row.rows[0]?.version ?? 0;
      if (current > migrations.length) {
        throw new FaasError('internal_error', `the ${store} schema in PostgreSQL has version ${current}, newer than this faas knows (${migrations.length}): upgrade faas`);
      }
      for (let v = current; v < migrations.length; v++) {
        await client.query('BEGIN');
        try {
          await client.query(migrations[v]!.sql);
          await client.query(
            'INSERT INTO faas_schema (store, version) VALUES ($1, $2) ON CONFLICT (store) DO UPDATE SET version = excluded.version',
            [store, v + 1],
          );
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new FaasError('internal_error', `${store} migration ${v + 1} (${migrations[v]!.name}) failed: ${(err as Error).message}`);
        }
      }
      return migrations.length;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    guard.release();
  }
}

/** Runs `fn` in one transaction on one client of the pool. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const guard = guardClient(client);
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    guard.release();
  }
}

/**
 * While a client is checked out of a pg pool it has no 'error' listener: the server ending the
 * connection between two of its queries (a restart, `pg_ctl stop`, a failover) would be an uncaught
 * exception, ending the process. This listens for it (the next query on the client fails, and is
 * handled by its caller), and `release()` hands a broken client back to be discarded, not reused.
 */
export function guardClient(client: pg.PoolClient): { release(): void } {
  let lost: Error | undefined;
  const onError = (err: Error) => (lost = err);
  client.on('error', onError);
  return {
    release() {
      client.off('error', onError);
      client.release(lost);
    },
  };
}

/** The error a caller sees when the database cannot be reached: `unavailable`, retry later. */
export function unavailable(err: unknown): FaasError {
  return new FaasError('unavailable', `the cluster database is unavailable (${(err as Error)?.message ?? String(err)}); retry shortly`, { retryAfterSeconds: 1 });
}

/** True for errors that mean "the database is away" rather than "the statement is wrong". */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === 'string' && /^(08|57P0)/.test(e.code)) return true;
  if (typeof e?.code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(e.code)) return true;
  return /Connection terminated|timeout exceeded|connect ECONNREFUSED|Client has encountered a connection error|not queryable/i.test(e?.message ?? '');
}
