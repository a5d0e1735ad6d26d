/**
 * KV in PostgreSQL, for a cluster of gateways (`--store postgres://…`): the same namespaces, limits,
 * expiry and kvBytes quotas as the SQLite store (store.ts), shared by every gateway and worker thread.
 * A put is committed before its promise resolves, so a read on any gateway after it sees it (stronger
 * than Workers KV's eventual consistency, which it therefore satisfies). Expired keys are filtered on
 * every read; purging them runs on one gateway at a time (a transaction-scoped advisory lock).
 */
import type pg from 'pg';
import { guardClient, isConnectionError, migratePg, openPool, unavailable } from '../../contract/pg.ts';
import { DEFAULT_TENANT } from '../../contract/tenants.ts';
import { DEFAULT_KV_LIMITS, KvError, type KvBackend, type KvEntry, type KvLimits, type KvListResult, type KvPutOptions, checkKvKey, encodeCursor, decodeCursor, expirationOf, tenantOf } from './store.ts';
import { every } from '../../contract/timers.ts';

/** Arbitrary, fixed: held by the one gateway purging expired keys. */
const PURGE_LOCK = 7_242_002;

const ROW_BYTES = 'octet_length(key) + octet_length(value) + COALESCE(octet_length(metadata), 0)';

/**
 * Keys are stored as their UTF-8 bytes: any string a guest can send (NUL included, which a TEXT column
 * refuses) round-trips, and keys order by bytes, as SQLite orders them, so cursors mean the same.
 */
const keyBytes = (key: string): Buffer => Buffer.from(key, 'utf8');

export const PG_KV_MIGRATIONS = [
  {
    name: 'kv and bytes per tenant',
    sql: `
CREATE TABLE kv (
  namespace TEXT NOT NULL,
  key BYTEA NOT NULL,
  value BYTEA NOT NULL,
  metadata TEXT,
  expiration BIGINT,
  PRIMARY KEY (namespace, key)
);
CREATE INDEX kv_expiration ON kv (expiration) WHERE expiration IS NOT NULL;
CREATE TABLE kv_tenants (
  tenant TEXT PRIMARY KEY,
  bytes BIGINT NOT NULL DEFAULT 0,
  max_bytes BIGINT
);`,
  },
];

export class PgKvStore implements KvBackend {
  private readonly pool: pg.Pool;
  private readonly ready: Promise<void>;
  private readonly purgeTimer: NodeJS.Timeout;

  constructor(
    url: string,
    private readonly limits: KvLimits = DEFAULT_KV_LIMITS,
    private readonly now: () => number = () => Date.now(),
    poolSize = 4,
  ) {
    this.pool = openPool(url, { max: poolSize });
    this.ready = migratePg(this.pool, 'kv', PG_KV_MIGRATIONS).then(() => undefined);
    // Not fatal here: every operation awaits it and reports the failure to its caller.
    this.ready.catch(() => {});
    this.purgeTimer = every(60_000, () => this.purgeExpired());
  }

  async get(ns: string, key: string): Promise<{ value: ArrayBuffer; metadata: unknown } | null> {
    checkKvKey(key, this.limits);
    const { rows } = await this.query<{ value: Buffer; metadata: string | null }>(
      'SELECT value, metadata FROM kv WHERE namespace = $1 AND key = $2 AND (expiration IS NULL OR expiration > $3)',
      [ns, keyBytes(key), this.nowSeconds()],
    );
    const row = rows[0];
    if (!row) return null;
    const value = row.value.buffer.slice(row.value.byteOffset, row.value.byteOffset + row.value.byteLength) as ArrayBuffer;
    return { value, metadata: row.metadata === null ? null : JSON.parse(row.metadata) };
  }

  async put(ns: string, key: string, value: Uint8Array, options: KvPutOptions = {}): Promise<void> {
    checkKvKey(key, this.limits);
    if (value.byteLength > this.limits.maxValueBytes) {
      throw new KvError(`KV put() failed: value of ${value.byteLength} bytes exceeds the limit of ${this.limits.maxValueBytes} bytes`, 'RangeError');
    }
    let metadata: string | null = null;
    if (options.metadata !== undefined && options.metadata !== null) {
      metadata = JSON.stringify(options.metadata);
      if (Buffer.byteLength(metadata) > this.limits.maxMetadataBytes) {
        throw new KvError(`KV put() failed: metadata exceeds ${this.limits.maxMetadataBytes} bytes when serialized`, 'RangeError');
      }
    }
    const expiration = expirationOf(options, this.nowSeconds());
    const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const tenant = tenantOf(ns);
    await this.transaction(async (client) => {
      // The tenant's row, locked: the size check and the write it allows are one step across the cluster.
      await client.query('INSERT INTO kv_tenants (tenant) VALUES ($1) ON CONFLICT (tenant) DO NOTHING', [tenant]);
      const t = (await client.query<{ bytes: string; max_bytes: string | null }>('SELECT bytes, max_bytes FROM kv_tenants WHERE tenant = $1 FOR UPDATE', [tenant])).rows[0]!;
      const old = (await client.query<{ bytes: number }>(`SELECT ${ROW_BYTES} AS bytes FROM kv WHERE namespace = $1 AND key = $2`, [ns, keyBytes(key)])).rows[0]?.bytes ?? 0;
      const delta = Buffer.byteLength(key) + buf.byteLength + (metadata === null ? 0 : Buffer.byteLength(metadata)) - Number(old);
      if (delta > 0 && t.max_bytes !== null && Number(t.bytes) + delta > Number(t.max_bytes)) {
        throw new KvError(
          `KV put() failed: tenant "${tenant}" is over its KV storage quota (kvBytes: ${t.bytes} bytes used, this put adds ${delta}, ${t.max_bytes} allowed)`,
          'RangeError',
        );
      }
      await client.query(
        `INSERT INTO kv (namespace, key, value, metadata, expiration) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata, expiration = excluded.expiration`,
        [ns, keyBytes(key), buf, metadata, expiration],
      );
      if (delta !== 0) await client.query('UPDATE kv_tenants SET bytes = bytes + $2 WHERE tenant = $1', [tenant, delta]);
    });
  }

  async entry(ns: string, key: string): Promise<KvEntry | null> {
    checkKvKey(key, this.limits);
    const { rows } = await this.query<{ value: Buffer; metadata: string | null; expiration: string | null }>(
      'SELECT value, metadata, expiration FROM kv WHERE namespace = $1 AND key = $2 AND (expiration IS NULL OR expiration > $3)',
      [ns, keyBytes(key), this.nowSeconds()],
    );
    const row = rows[0];
    if (!row) return null;
    return { value: new Uint8Array(row.value), metadata: row.metadata === null ? null : JSON.parse(row.metadata), expiration: row.expiration === null ? null : Number(row.expiration) };
  }

  async namespaces(tenant: string, limit = 1000): Promise<string[]> {
    if (tenant === DEFAULT_TENANT) {
      const { rows } = await this.query<{ namespace: string }>("SELECT DISTINCT namespace FROM kv WHERE position('/' in namespace) = 0 ORDER BY namespace LIMIT $1", [limit]);
      return rows.map((r) => r.namespace);
    }
    // '0' is the character after '/': every "<tenant>/…" sorts between the two bounds (byte order, as in SQLite).
    const { rows } = await this.query<{ namespace: string }>(
      'SELECT DISTINCT namespace FROM kv WHERE namespace COLLATE "C" > $1 AND namespace COLLATE "C" < $2 ORDER BY 1 LIMIT $3',
      [`${tenant}/`, `${tenant}0`, limit],
    );
    return rows.map((r) => r.namespace.slice(tenant.length + 1));
  }

  async delete(ns: string, key: string): Promise<void> {
    checkKvKey(key, this.limits);
    await this.transaction(async (client) => {
      const { rows } = await client.query<{ bytes: number }>(`DELETE FROM kv WHERE namespace = $1 AND key = $2 RETURNING ${ROW_BYTES} AS bytes`, [ns, keyBytes(key)]);
      if (rows[0]) await client.query('UPDATE kv_tenants SET bytes = bytes - $2 WHERE tenant = $1', [tenantOf(ns), Number(rows[0].bytes)]);
    });
  }

  async list(ns: string, options: { prefix?: string; limit?: number; cursor?: string } = {}): Promise<KvListResult> {
    const prefix = options.prefix ?? '';
    const limit = options.limit ?? this.limits.maxListLimit;
    if (!Number.isInteger(limit) || limit < 1 || limit > this.limits.maxListLimit) {
      throw new KvError(`KV list() failed: limit must be an integer from 1 to ${this.limits.maxListLimit}`, 'RangeError');
    }
    const after = options.cursor ? decodeCursor(options.cursor) : '';
    const p = keyBytes(prefix);
    const { rows: raw } = await this.query<{ key: Buffer; metadata: string | null; expiration: string | null }>(
      `SELECT key, metadata, expiration FROM kv WHERE namespace = $1 AND key > $2 AND substring(key from 1 for $3) = $4
       AND (expiration IS NULL OR expiration > $5) ORDER BY key LIMIT $6`,
      [ns, keyBytes(after), p.byteLength, p, this.nowSeconds(), limit + 1],
    );
    const rows = raw.map((r) => ({ ...r, key: r.key.toString('utf8') }));
    const page = rows.slice(0, limit);
    const keys = page.map((r) => ({
      name: r.key,
      ...(r.expiration !== null ? { expiration: Number(r.expiration) } : {}),
      ...(r.metadata !== null ? { metadata: JSON.parse(r.metadata) } : {}),
    }));
    const complete = rows.length <= limit;
    return complete ? { keys, list_complete: true } : { keys, list_complete: false, cursor: encodeCursor(page[page.length - 1]!.key) };
  }

  async setQuota(tenant: string, maxBytes: number | null): Promise<void> {
    await this.query('INSERT INTO kv_tenants (tenant, max_bytes) VALUES ($1, $2) ON CONFLICT (tenant) DO UPDATE SET max_bytes = excluded.max_bytes', [tenant, maxBytes]);
  }

  async bytesOf(tenant: string): Promise<number> {
    const { rows } = await this.query<{ bytes: string }>('SELECT bytes FROM kv_tenants WHERE tenant = $1', [tenant]);
    return Number(rows[0]?.bytes ?? 0);
  }

  /** Deletes expired keys, on one gateway at a time (others skip: 0). */
  async purgeExpired(): Promise<number> {
    return this.transaction(async (client) => {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [PURGE_LOCK]);
      if (!rows[0]!.locked) return 0;
      const now = this.nowSeconds();
      const freed = await client.query<{ namespace: string; bytes: string }>(
        `SELECT namespace, SUM(${ROW_BYTES}) AS bytes FROM kv WHERE expiration IS NOT NULL AND expiration <= $1 GROUP BY namespace`,
        [now],
      );
      const { rowCount } = await client.query('DELETE FROM kv WHERE expiration IS NOT NULL AND expiration <= $1', [now]);
      const byTenant = new Map<string, number>();
      for (const r of freed.rows) byTenant.set(tenantOf(r.namespace), (byTenant.get(tenantOf(r.namespace)) ?? 0) + Number(r.bytes));
      for (const [tenant, bytes] of byTenant) await client.query('UPDATE kv_tenants SET bytes = bytes - $2 WHERE tenant = $1', [tenant, bytes]);
      return rowCount ?? 0;
    });
  }

  async close(): Promise<void> {
    clearInterval(this.purgeTimer);
    await this.pool.end().catch(() => {});
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    await this.ready;
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      throw isConnectionError(err) ? kvUnavailable(err) : err;
    }
  }

  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.ready;
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw kvUnavailable(err);
    }
    const guard = guardClient(client);
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw isConnectionError(err) ? kvUnavailable(err) : err;
    } finally {
      guard.release();
    }
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }
}

/** The guest sees an Error it can catch; the gateway answers nothing on its behalf. */
function kvUnavailable(err: unknown): KvError {
  return new KvError(`KV is unavailable: ${unavailable(err).message}`, 'Error');
}
