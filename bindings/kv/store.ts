import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrate, type Migration } from '../../contract/sqlite-migrations.ts';
import { DEFAULT_TENANT } from '../../contract/tenants.ts';
import { every } from '../../contract/timers.ts';

export interface KvLimits {
  maxKeyBytes: number;
  maxValueBytes: number;
  maxMetadataBytes: number;
  maxListLimit: number;
}

export const DEFAULT_KV_LIMITS: KvLimits = {
  maxKeyBytes: 512,
  maxValueBytes: 1024 * 1024,
  maxMetadataBytes: 1024,
  maxListLimit: 1000,
};

export interface KvPutOptions {
  expirationTtl?: number;
  expiration?: number;
  metadata?: unknown;
}

export interface KvListResult {
  keys: { name: string; expiration?: number; metadata?: unknown }[];
  list_complete: boolean;
  cursor?: string;
}

/** Errors a guest caused (bad key, value too large …): surfaced in the guest as the given error name. */
export class KvError extends Error {
  constructor(message: string, name = 'TypeError') {
    super(message);
    this.name = name;
  }
}

/** What both KV stores (SQLite here, PostgreSQL in pg-store.ts) offer the binding's ops and the gateway. */
export interface KvBackend {
  get(ns: string, key: string): Awaitable<{ value: ArrayBuffer; metadata: unknown } | null>;
  put(ns: string, key: string, value: Uint8Array, options?: KvPutOptions): Awaitable<void>;
  delete(ns: string, key: string): Awaitable<void>;
  list(ns: string, options?: { prefix?: string; limit?: number; cursor?: string }): Awaitable<KvListResult>;
  /** A whole entry, its expiration included (the admin KV browser). */
  entry(ns: string, key: string): Awaitable<KvEntry | null>;
  /** The namespaces of `tenant` that hold keys, as its functions name them (without the tenant prefix). */
  namespaces(tenant: string, limit?: number): Awaitable<string[]>;
  setQuota(tenant: string, maxBytes: number | null): Awaitable<void>;
  bytesOf(tenant: string): Awaitable<number>;
  purgeExpired(): Awaitable<number>;
  close(): Awaitable<void>;
}

type Awaitable<T> = T | Promise<T>;

export interface KvEntry {
  value: Uint8Array;
  metadata: unknown;
  expiration: number | null;
}

/** What a row costs against its tenant's kvBytes quota. */
const ROW_BYTES = 'length(CAST(key AS BLOB)) + length(value) + COALESCE(length(CAST(metadata AS BLOB)), 0)';

/**
 * The namespace a function's binding `ns` names in the file: the default tenant's namespaces keep
 * their bare names (as before tenants existed), every other tenant's are `<tenant>/<ns>`, so two
 * tenants that both bind "SESSIONS" never share one.
 */
export function scopedNamespace(tenant: string, ns: string): string {
  return tenant === DEFAULT_TENANT ? ns : `${tenant}/${ns}`;
}

export function tenantOf(namespace: string): string {
  const slash = namespace.indexOf('/');
  return slash < 0 ? DEFAULT_TENANT : namespace.slice(0, slash);
}

/** The KV file's schema, one entry per version (contract/sqlite-migrations.ts). */
export const KV_MIGRATIONS: Migration[] = [
  {
    name: 'kv table',
    sql: `CREATE TABLE IF NOT EXISTS kv (
      namespace TEXT NOT NULL,
      key TEXT NOT NULL,
      value BLOB NOT NULL,
      metadata TEXT,
      expiration INTEGER,
      PRIMARY KEY (namespace, key)
    ) WITHOUT ROWID`,
  },
  {
    // Bytes stored per tenant (key + value + metadata, expired-but-not-yet-purged rows included) and
    // the tenant's kvBytes quota, kept in the KV file itself so that every thread that writes checks it.
    name: 'bytes per tenant',
    sql: `CREATE TABLE kv_tenants (
      tenant TEXT PRIMARY KEY,
      bytes INTEGER NOT NULL DEFAULT 0,
      max_bytes INTEGER
    ) WITHOUT ROWID;
    INSERT INTO kv_tenants (tenant, bytes)
      SELECT CASE WHEN instr(namespace, '/') > 0 THEN substr(namespace, 1, instr(namespace, '/') - 1) ELSE '${DEFAULT_TENANT}' END,
             SUM(${ROW_BYTES})
      FROM kv GROUP BY 1;`,
  },
];

/**
 * Workers-KV-shaped storage in SQLite (WAL). A put is committed before its promise resolves, so it
 * survives a SIGKILL of the process right after. Expired keys are filtered on every read and purged
 * in the background.
 */
export class KvStore implements KvBackend {
  private readonly db: Database.Database;
  private readonly stmts;
  private purgeTimer: NodeJS.Timeout | undefined;
  private readonly putTx;
  private readonly deleteTx;
  private readonly purgeTx;

  constructor(
    path: string,
    private readonly limits: KvLimits = DEFAULT_KV_LIMITS,
    private readonly now: () => number = () => Date.now(),
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db, `KV store ${path}`, KV_MIGRATIONS);
    this.stmts = {
      get: this.db.prepare('SELECT value, metadata FROM kv WHERE namespace = ? AND key = ? AND (expiration IS NULL OR expiration > ?)'),
      put: this.db.prepare('INSERT OR REPLACE INTO kv (namespace, key, value, metadata, expiration) VALUES (?, ?, ?, ?, ?)'),
      del: this.db.prepare('DELETE FROM kv WHERE namespace = ? AND key = ?'),
      list: this.db.prepare(
        `SELECT key, metadata, expiration FROM kv WHERE namespace = ? AND key >= ? AND key > ? AND substr(key, 1, length(?)) = ?
         AND (expiration IS NULL OR expiration > ?) ORDER BY key LIMIT ?`,
      ),
      purge: this.db.prepare('DELETE FROM kv WHERE expiration IS NOT NULL AND expiration <= ?'),
      expiredBytes: this.db.prepare(`SELECT namespace, SUM(${ROW_BYTES}) AS bytes FROM kv WHERE expiration IS NOT NULL AND expiration <= ? GROUP BY namespace`),
      rowBytes: this.db.prepare(`SELECT ${ROW_BYTES} AS bytes FROM kv WHERE namespace = ? AND key = ?`),
      tenant: this.db.prepare('SELECT bytes, max_bytes FROM kv_tenants WHERE tenant = ?'),
      addBytes: this.db.prepare('INSERT INTO kv_tenants (tenant, bytes) VALUES (?, ?) ON CONFLICT (tenant) DO UPDATE SET bytes = bytes + excluded.bytes'),
      setMax: this.db.prepare('INSERT INTO kv_tenants (tenant, max_bytes) VALUES (?, ?) ON CONFLICT (tenant) DO UPDATE SET max_bytes = excluded.max_bytes'),
      bareNamespaces: this.db.prepare("SELECT DISTINCT namespace FROM kv WHERE instr(namespace, '/') = 0 ORDER BY namespace LIMIT ?"),
      tenantNamespaces: this.db.prepare('SELECT DISTINCT namespace FROM kv WHERE namespace > ? AND namespace < ? ORDER BY namespace LIMIT ?'),
      entry: this.db.prepare('SELECT value, metadata, expiration FROM kv WHERE namespace = ? AND key = ? AND (expiration IS NULL OR expiration > ?)'),
    };
    // IMMEDIATE: the size check and the write it allows are one step for every connection to the file.
    this.putTx = this.db.transaction((ns: string, key: string, value: Buffer, metadata: string | null, expiration: number | null) => {
      const tenant = tenantOf(ns);
      const old = (this.stmts.rowBytes.get(ns, key) as { bytes: number } | undefined)?.bytes ?? 0;
      const delta = Buffer.byteLength(key) + value.byteLength + (metadata === null ? 0 : Buffer.byteLength(metadata)) - old;
      if (delta > 0) {
        const t = this.stmts.tenant.get(tenant) as { bytes: number; max_bytes: number | null } | undefined;
        if (t && t.max_bytes !== null && t.bytes + delta > t.max_bytes) {
          throw new KvError(
            `KV put() failed: tenant "${tenant}" is over its KV storage quota (kvBytes: ${t.bytes} bytes used, this put adds ${delta}, ${t.max_bytes} allowed)`,
            'RangeError',
          );
        }
      }
      this.stmts.put.run(ns, key, value, metadata, expiration);
      if (delta !== 0) this.stmts.addBytes.run(tenant, delta);
    });
    this.deleteTx = this.db.transaction((ns: string, key: string) => {
      const old = (this.stmts.rowBytes.get(ns, key) as { bytes: number } | undefined)?.bytes;
      if (old === undefined) return;
      this.stmts.del.run(ns, key);
      this.stmts.addBytes.run(tenantOf(ns), -old);
    });
    this.purgeTx = this.db.transaction((now: number) => {
      const freed = new Map<string, number>();
      for (const r of this.stmts.expiredBytes.all(now) as { namespace: string; bytes: number }[]) {
        freed.set(tenantOf(r.namespace), (freed.get(tenantOf(r.namespace)) ?? 0) + r.bytes);
      }
      const removed = this.stmts.purge.run(now).changes;
      for (const [tenant, bytes] of freed) this.stmts.addBytes.run(tenant, -bytes);
      return removed;
    });
    // the file busy past busy_timeout (other threads writing) or failing: the next run purges
    this.purgeTimer = every(60_000, () => this.purgeExpired());
  }

  get(ns: string, key: string): { value: ArrayBuffer; metadata: unknown } | null {
    this.checkKey(key);
    const row = this.stmts.get.get(ns, key, this.nowSeconds()) as { value: Buffer; metadata: string | null } | undefined;
    if (!row) return null;
    const value = row.value.buffer.slice(row.value.byteOffset, row.value.byteOffset + row.value.byteLength) as ArrayBuffer;
    return { value, metadata: row.metadata === null ? null : JSON.parse(row.metadata) };
  }

  /** A key's value, metadata and expiration (seconds since the epoch), for the admin API. */
  entry(ns: string, key: string): KvEntry | null {
    this.checkKey(key);
    const row = this.stmts.entry.get(ns, key, this.nowSeconds()) as { value: Buffer; metadata: string | null; expiration: number | null } | undefined;
    return row ? { value: new Uint8Array(row.value), metadata: row.metadata === null ? null : JSON.parse(row.metadata), expiration: row.expiration } : null;
  }

  /** The namespaces of `tenant` that hold keys, as its functions name them (without the tenant prefix). */
  namespaces(tenant: string, limit = 1000): string[] {
    if (tenant === DEFAULT_TENANT) return (this.stmts.bareNamespaces.all(limit) as { namespace: string }[]).map((r) => r.namespace);
    // '0' is the character after '/': every "<tenant>/…" sorts between the two bounds.
    const rows = this.stmts.tenantNamespaces.all(`${tenant}/`, `${tenant}0`, limit) as { namespace: string }[];
    return rows.map((r) => r.namespace.slice(tenant.length + 1));
  }

  put(ns: string, key: string, value: Uint8Array, options: KvPutOptions = {}): void {
    this.checkKey(key);
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
    this.putTx.immediate(ns, key, Buffer.from(value.buffer, value.byteOffset, value.byteLength), metadata, this.expirationOf(options));
  }

  delete(ns: string, key: string): void {
    this.checkKey(key);
    this.deleteTx.immediate(ns, key);
  }

  /** Sets (or, with null, lifts) a tenant's kvBytes quota: puts that would go over it are refused. */
  setQuota(tenant: string, maxBytes: number | null): void {
    this.stmts.setMax.run(tenant, maxBytes);
  }

  /** Bytes a tenant's namespaces hold (expired rows count until purged, within a minute). */
  bytesOf(tenant: string): number {
    return (this.stmts.tenant.get(tenant) as { bytes: number } | undefined)?.bytes ?? 0;
  }

  list(ns: string, options: { prefix?: string; limit?: number; cursor?: string } = {}): KvListResult {
    const prefix = options.prefix ?? '';
    const limit = options.limit ?? this.limits.maxListLimit;
    if (!Number.isInteger(limit) || limit < 1 || limit > this.limits.maxListLimit) {
      throw new KvError(`KV list() failed: limit must be an integer from 1 to ${this.limits.maxListLimit}`, 'RangeError');
    }
    const after = options.cursor ? decodeCursor(options.cursor) : '';
    const rows = this.stmts.list.all(ns, prefix, after, prefix, prefix, this.nowSeconds(), limit + 1) as {
      key: string;
      metadata: string | null;
      expiration: number | null;
    }[];
    const page = rows.slice(0, limit);
    const keys = page.map((r) => ({
      name: r.key,
      ...(r.expiration !== null ? { expiration: r.expiration } : {}),
      ...(r.metadata !== null ? { metadata: JSON.parse(r.metadata) } : {}),
    }));
    const complete = rows.length <= limit;
    return complete ? { keys, list_complete: true } : { keys, list_complete: false, cursor: encodeCursor(page[page.length - 1]!.key) };
  }

  purgeExpired(): number {
    return this.purgeTx.immediate(this.nowSeconds()) as number;
  }

  close(): void {
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.db.close();
  }

  private checkKey(key: string): void {
    checkKvKey(key, this.limits);
  }

  private expirationOf(options: KvPutOptions): number | null {
    return expirationOf(options, this.nowSeconds());
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }
}

export function checkKvKey(key: string, limits: KvLimits): void {
  if (key.length === 0) throw new KvError('KV key must not be empty');
  if (key === '.' || key === '..') throw new KvError(`KV key "${key}" is not allowed`);
  const bytes = Buffer.byteLength(key);
  if (bytes > limits.maxKeyBytes) {
    throw new KvError(`KV key of ${bytes} bytes exceeds the limit of ${limits.maxKeyBytes} bytes`, 'RangeError');
  }
}

/** Seconds since the epoch when a put's key expires (null: never), or the guest's error. */
export function expirationOf(options: KvPutOptions, now: number): number | null {
  if (options.expiration !== undefined) {
    if (!Number.isFinite(options.expiration) || options.expiration <= now) {
      throw new KvError('KV put() failed: expiration must be a number of seconds since the epoch, in the future', 'RangeError');
    }
    return Math.floor(options.expiration);
  }
  if (options.expirationTtl !== undefined) {
    if (!Number.isFinite(options.expirationTtl) || options.expirationTtl < 1) {
      throw new KvError('KV put() failed: expirationTtl must be at least 1 second', 'RangeError');
    }
    return now + Math.floor(options.expirationTtl);
  }
  return null;
}

export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(cursor)) throw new KvError('KV list() failed: invalid cursor');
  return Buffer.from(cursor, 'base64url').toString('utf8');
}
