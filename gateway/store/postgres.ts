/**
 * The PostgreSQL store: one database shared by a cluster of gateways. The registry (functions,
 * versions, stored sources, artifacts as bytes), tenants, tokens and quotas, usage and the audit log
 * live in it; every change to functions or tenants also appends a row to `changes` and sends a
 * NOTIFY in the same transaction, which the other gateways apply (gateway/store/changes.ts).
 *
 * The synchronous reads (live functions, tenants, tokens) come from an in-memory mirror of those
 * tables, loaded at start and refreshed row by row from the change feed: the request path never waits
 * for the database, and keeps serving the functions it has while the database is away.
 */
import type pg from 'pg';
import { FaasError } from '../../contract/errors.ts';
import type { FunctionConfig } from '../../contract/config.ts';
import { inTransaction, isConnectionError, migratePg, unavailable, type Migration } from '../../contract/pg.ts';
import { DEFAULT_TENANT, TENANT_NAME } from '../../contract/tenants.ts';
import type { AuditEntry } from '../audit/log.ts';
import { fromFunctionRow, fromRow, type FunctionRow, type VersionRow, type LiveRecord, type SplitEntry, type VersionRecord } from '../registry/store.ts';
import { hash, matchToken, newToken, notFound, TOKEN, type Principal, type Quota, type Tenant, type TokenInfo } from '../tenants/store.ts';
import type { UsageRow } from '../usage/meter.ts';
import type { AuditSink, RegistryBackend, SessionBackend, SessionRecord, TenantBackend, UsageSink } from './types.ts';
import { fromSessionRow, SESSION_EVICT, SESSION_SELECT, SESSION_SWEEP_WHERE, SESSION_TOUCH, sessionValues, type SessionRow } from '../console/sqlite-sessions.ts';

/** The channel every gateway LISTENs on; the payload is `{ seq, kind, name, origin }`. */
export const CHANGES_CHANNEL = 'faas_changes';

export type ChangeKind = 'function' | 'tenant';

/** The registry and control-plane schema in PostgreSQL, one entry per version (contract/pg.ts). */
export const PG_REGISTRY_MIGRATIONS: Migration[] = [
  {
    name: 'functions, versions, artifacts, tenants, tokens, usage, audit, changes',
    sql: `
CREATE TABLE versions (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  bytecode_bytes INTEGER NOT NULL,
  deployed_at TEXT NOT NULL,
  config TEXT NOT NULL,
  artifact TEXT NOT NULL,
  origin TEXT NOT NULL,
  filename TEXT NOT NULL,
  source TEXT,
  source_hash TEXT,
  tenant TEXT NOT NULL DEFAULT '${DEFAULT_TENANT}',
  deployed_by TEXT,
  PRIMARY KEY (name, version)
);
CREATE TABLE functions (
  name TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  bytecode_bytes INTEGER NOT NULL,
  deployed_at TEXT NOT NULL,
  config TEXT NOT NULL,
  artifact TEXT NOT NULL,
  origin TEXT NOT NULL,
  filename TEXT NOT NULL,
  source_hash TEXT,
  tenant TEXT NOT NULL DEFAULT '${DEFAULT_TENANT}',
  deployed_by TEXT,
  split TEXT,
  FOREIGN KEY (name, version) REFERENCES versions (name, version)
);
CREATE TABLE artifacts (
  path TEXT PRIMARY KEY,
  bytes BYTEA NOT NULL,
  written_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE tenants (
  name TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  quota TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO tenants (name, created_at) VALUES ('${DEFAULT_TENANT}', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL REFERENCES tenants (name),
  label TEXT,
  hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE TABLE usage (
  hour TEXT NOT NULL,
  tenant TEXT NOT NULL,
  function TEXT NOT NULL,
  invocations BIGINT NOT NULL DEFAULT 0,
  errors BIGINT NOT NULL DEFAULT 0,
  cpu_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
  wall_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
  egress_bytes BIGINT NOT NULL DEFAULT 0,
  kv_ops BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, tenant, function)
);
CREATE TABLE audit (
  id BIGSERIAL PRIMARY KEY,
  at TEXT NOT NULL,
  tenant TEXT,
  token TEXT,
  action TEXT NOT NULL,
  target TEXT,
  outcome TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX audit_tenant ON audit (tenant, id);
CREATE TABLE changes (
  seq BIGSERIAL PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT,
  origin TEXT NOT NULL,
  at TIMESTAMPTZ NOT NULL DEFAULT now()
);
`,
  },
  {
    name: 'cron firings and leases',
    sql: `
CREATE TABLE cron_firings (
  function TEXT NOT NULL,
  cron TEXT NOT NULL,
  scheduled_at BIGINT NOT NULL,
  gateway TEXT NOT NULL,
  fired_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (function, cron, scheduled_at)
);
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL
);
`,
  },
  {
    // As in SQLite (gateway/registry/store.ts): keyed by the SHA-256 of the session id, times in ms.
    name: 'console sessions',
    sql: `
CREATE TABLE console_sessions (
  key TEXT PRIMARY KEY,
  tenant TEXT,
  token_id TEXT,
  created_at BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_lru ON console_sessions (last_seen, created_at);
`,
  },
];

interface TenantRow {
  name: string;
  created_at: string;
  quota: string;
}
interface TokenRow {
  id: string;
  tenant: string;
  label: string | null;
  hash: string;
  created_at: string;
  revoked_at: string | null;
}

const VERSION_COLUMNS = 'name, version, sha256, bytecode_bytes, deployed_at, config, artifact, origin, filename, source_hash, tenant, deployed_by';

/** Runs a statement; a lost connection becomes `unavailable` (503, retry), anything else is rethrown. */
async function run<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isConnectionError(err)) throw unavailable(err);
    throw err;
  }
}

/** Appends to the change feed and notifies, inside the caller's transaction (delivered on commit). */
async function announce(client: pg.PoolClient, kind: ChangeKind, name: string | null, origin: string): Promise<void> {
  const { rows } = await client.query<{ seq: string }>('INSERT INTO changes (kind, name, origin) VALUES ($1, $2, $3) RETURNING seq', [kind, name, origin]);
  await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify({ seq: Number(rows[0]!.seq), kind, name, origin })]);
}

/** Functions, versions and artifacts in PostgreSQL; `functions` mirrored in memory. */
export class PgRegistry implements RegistryBackend {
  private readonly live = new Map<string, LiveRecord>();
  private readonly dir = new Map<string, { fingerprint: string; sourceHash: string }>();
  private sorted: LiveRecord[] | undefined;

  constructor(
    private readonly pool: pg.Pool,
    /** This gateway's id, recorded with its changes (so it skips its own notifications). */
    private readonly origin: string,
  ) {}

  /** Loads the whole mirror (start, and a gateway that fell too far behind the change feed). */
  async reload(): Promise<void> {
    const { rows } = await this.pool.query<FunctionRow>(`SELECT ${VERSION_COLUMNS}, split FROM functions`);
    this.live.clear();
    for (const row of rows) this.live.set(row.name, fromFunctionRow(row));
    this.sorted = undefined;
  }

  /** Reads one function's row again (a change announced for it). */
  async refresh(name: string): Promise<void> {
    const { rows } = await this.pool.query<FunctionRow>(`SELECT ${VERSION_COLUMNS}, split FROM functions WHERE name = $1`, [name]);
    this.setLive(name, rows[0] ? fromFunctionRow(rows[0]) : undefined);
  }

  current(name: string): LiveRecord | undefined {
    return this.live.get(name);
  }

  list(tenant?: string): LiveRecord[] {
    const all = this.all();
    return tenant === undefined ? [...all] : all.filter((f) => f.tenant === tenant);
  }

  count(tenant?: string): number {
    return tenant === undefined ? this.live.size : this.list(tenant).length;
  }

  names(): string[] {
    return [...this.live.keys()];
  }

  page(options: { cursor?: string; limit: number; prefix?: string; tenant?: string }): LiveRecord[] {
    const cursor = options.cursor ?? '';
    const prefix = options.prefix ?? '';
    const out: LiveRecord[] = [];
    for (const f of this.all()) {
      if (out.length >= options.limit) break;
      if (f.name > cursor && f.name.startsWith(prefix) && (options.tenant === undefined || f.tenant === options.tenant)) out.push(f);
    }
    return out;
  }

  withList(key: string): LiveRecord[] {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(key)) throw new Error(`not a config key: ${key}`);
    return this.all().filter((f) => {
      const v = (f.config as unknown as Record<string, unknown>)[key];
      return Array.isArray(v) && v.length > 0;
    });
  }

  /** The functions directory is per gateway: its fingerprints stay in memory (a restart recompiles it once). */
  dirEntry(name: string): { fingerprint: string; sourceHash: string } | undefined {
    return this.dir.get(name);
  }

  setDirEntry(name: string, fingerprint: string, sourceHash: string): void {
    this.dir.set(name, { fingerprint, sourceHash });
  }

  version(name: string, version: number): Promise<VersionRecord | undefined> {
    return run(async () => {
      const { rows } = await this.pool.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM versions WHERE name = $1 AND version = $2`, [name, version]);
      return rows[0] && fromRow(rows[0]);
    });
  }

  versions(name: string): Promise<VersionRecord[]> {
    return run(async () => {
      const { rows } = await this.pool.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM versions WHERE name = $1 ORDER BY version DESC`, [name]);
      return rows.map(fromRow);
    });
  }

  source(name: string, version: number): Promise<string | null> {
    return run(async () => {
      const { rows } = await this.pool.query<{ source: string | null }>('SELECT source FROM versions WHERE name = $1 AND version = $2', [name, version]);
      return rows[0]?.source ?? null;
    });
  }

  nextVersion(name: string): Promise<number> {
    return run(async () => {
      const { rows } = await this.pool.query<{ next: number }>('SELECT COALESCE(MAX(version), 0) + 1 AS next FROM versions WHERE name = $1', [name]);
      return Number(rows[0]!.next);
    });
  }

  writeArtifact(rec: VersionRecord, bytes: Uint8Array): Promise<void> {
    return run(async () => {
      await this.pool.query('INSERT INTO artifacts (path, bytes) VALUES ($1, $2) ON CONFLICT (path) DO UPDATE SET bytes = excluded.bytes, written_at = now()', [
        rec.artifact,
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      ]);
    });
  }

  readArtifact(rec: VersionRecord): Promise<Uint8Array> {
    return run(async () => {
      const { rows } = await this.pool.query<{ bytes: Buffer }>('SELECT bytes FROM artifacts WHERE path = $1', [rec.artifact]);
      if (!rows[0]) throw new FaasError('artifact_invalid', `the artifact of version ${rec.version} of function "${rec.name}" is missing from the database`);
      return new Uint8Array(rows[0].bytes.buffer, rows[0].bytes.byteOffset, rows[0].bytes.byteLength);
    });
  }

  removeArtifact(rec: VersionRecord): Promise<void> {
    return run(async () => {
      await this.pool.query('DELETE FROM artifacts WHERE path = $1 AND NOT EXISTS (SELECT 1 FROM versions WHERE artifact = $1)', [rec.artifact]);
    });
  }

  async commit(record: VersionRecord, source: string | null, split: SplitEntry[] | null, primary: VersionRecord): Promise<void> {
    await run(() =>
      inTransaction(this.pool, async (client) => {
        try {
          await client.query(
            `INSERT INTO versions (${VERSION_COLUMNS}, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
            [...versionValues(record), source],
          );
        } catch (err) {
          if ((err as { code?: string }).code === '23505') {
            throw new FaasError('conflict', `version ${record.version} of function "${record.name}" was just deployed by another gateway: retry the deploy`);
          }
          throw err;
        }
        await upsertFunction(client, primary, split);
        await announce(client, 'function', record.name, this.origin);
      }),
    );
    this.setLive(record.name, { ...primary, split });
  }

  async makeLive(record: VersionRecord, split: SplitEntry[] | null): Promise<void> {
    await run(() =>
      inTransaction(this.pool, async (client) => {
        await upsertFunction(client, record, split);
        await announce(client, 'function', record.name, this.origin);
      }),
    );
    this.setLive(record.name, { ...record, split });
  }

  async remove(name: string): Promise<boolean> {
    const removed = await run(() =>
      inTransaction(this.pool, async (client) => {
        const { rowCount } = await client.query('DELETE FROM functions WHERE name = $1', [name]);
        await announce(client, 'function', name, this.origin);
        return (rowCount ?? 0) > 0;
      }),
    );
    this.setLive(name, undefined);
    return removed;
  }

  deleteVersion(name: string, version: number): Promise<void> {
    return run(async () => {
      await this.pool.query('DELETE FROM versions WHERE name = $1 AND version = $2', [name, version]);
    });
  }

  /** Artifact rows no version names (a deploy that failed between its artifact and its commit), older than `before`. */
  async collectGarbage(before: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ path: string }>(
      `DELETE FROM artifacts a WHERE a.written_at < to_timestamp($1::double precision / 1000)
         AND NOT EXISTS (SELECT 1 FROM versions v WHERE v.artifact = a.path) RETURNING path`,
      [before],
    );
    return rows.map((r) => r.path);
  }

  private setLive(name: string, rec: LiveRecord | undefined): void {
    if (rec) this.live.set(name, rec);
    else this.live.delete(name);
    this.sorted = undefined;
  }

  private all(): LiveRecord[] {
    return (this.sorted ??= [...this.live.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
  }
}

function versionValues(r: VersionRecord): unknown[] {
  return [r.name, r.version, r.sha256, r.bytecodeBytes, r.deployedAt, JSON.stringify(r.config), r.artifact, r.origin, r.filename, r.sourceHash, r.tenant, r.deployedBy];
}

async function upsertFunction(client: pg.PoolClient, r: VersionRecord, split: SplitEntry[] | null): Promise<void> {
  await client.query(
    `INSERT INTO functions (${VERSION_COLUMNS}, split) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (name) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256, bytecode_bytes = excluded.bytecode_bytes,
       deployed_at = excluded.deployed_at, config = excluded.config, artifact = excluded.artifact, origin = excluded.origin,
       filename = excluded.filename, source_hash = excluded.source_hash, tenant = excluded.tenant, deployed_by = excluded.deployed_by,
       split = excluded.split`,
    [...versionValues(r), split && JSON.stringify(split)],
  );
}


/** Tenants and tokens in PostgreSQL, mirrored in memory (a revocation reaches every gateway through the change feed). */
export class PgTenants implements TenantBackend {
  private tenants = new Map<string, Tenant>();
  private tokenRows = new Map<string, TokenRow>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly origin: string,
  ) {}

  async reload(): Promise<void> {
    const [t, k] = await Promise.all([
      this.pool.query<TenantRow>('SELECT name, created_at, quota FROM tenants'),
      this.pool.query<TokenRow>('SELECT id, tenant, label, hash, created_at, revoked_at FROM tokens'),
    ]);
    this.tenants = new Map(t.rows.map((r) => [r.name, { name: r.name, createdAt: r.created_at, quota: JSON.parse(r.quota) as Quota }]));
    this.tokenRows = new Map(k.rows.map((r) => [r.id, r]));
  }

  get(name: string): Tenant | undefined {
    return this.tenants.get(name);
  }

  list(): Tenant[] {
    return [...this.tenants.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  tokens(tenant: string): TokenInfo[] {
    return [...this.tokenRows.values()]
      .filter((r) => r.tenant === tenant)
      .sort((a, b) => (a.created_at < b.created_at ? -1 : 1))
      .map((r) => ({ id: r.id, tenant: r.tenant, label: r.label, createdAt: r.created_at, revokedAt: r.revoked_at }));
  }

  authenticate(presented: string): Principal | undefined {
    const m = TOKEN.exec(presented);
    return m ? matchToken(presented, this.tokenRows.get(m[1]!)) : undefined;
  }

  async create(name: string): Promise<Tenant> {
    if (!TENANT_NAME.test(name)) throw new FaasError('bad_request', `invalid tenant name "${name.slice(0, 64)}": must match ${TENANT_NAME}`);
    const at = new Date().toISOString();
    await this.change(name, async (client) => {
      const { rowCount } = await client.query('INSERT INTO tenants (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, at]);
      if (!rowCount) throw new FaasError('conflict', `tenant "${name}" already exists`);
    });
    return this.tenants.get(name) ?? { name, createdAt: at, quota: {} };
  }

  async setQuota(name: string, quota: Quota): Promise<void> {
    await this.change(name, async (client) => {
      const { rowCount } = await client.query('UPDATE tenants SET quota = $1 WHERE name = $2', [JSON.stringify(quota), name]);
      if (!rowCount) throw notFound(name);
    });
  }

  async remove(name: string): Promise<void> {
    if (name === DEFAULT_TENANT) throw new FaasError('bad_request', `the "${DEFAULT_TENANT}" tenant cannot be deleted`);
    await this.change(name, async (client) => {
      await client.query('DELETE FROM tokens WHERE tenant = $1', [name]);
      const { rowCount } = await client.query('DELETE FROM tenants WHERE name = $1', [name]);
      if (!rowCount) throw notFound(name);
    });
  }

  async issueToken(tenant: string, label: string | null): Promise<{ token: string; info: TokenInfo }> {
    if (!this.get(tenant)) throw notFound(tenant);
    const { id, token } = newToken();
    const at = new Date().toISOString();
    await this.change(tenant, async (client) => {
      await client.query('INSERT INTO tokens (id, tenant, label, hash, created_at) VALUES ($1, $2, $3, $4, $5)', [id, tenant, label, hash(token), at]);
    });
    return { token, info: { id, tenant, label, createdAt: at, revokedAt: null } };
  }

  async revokeToken(tenant: string, id: string): Promise<boolean> {
    let revoked = false;
    await this.change(tenant, async (client) => {
      const { rowCount } = await client.query('UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND tenant = $3 AND revoked_at IS NULL', [new Date().toISOString(), id, tenant]);
      revoked = (rowCount ?? 0) > 0;
    });
    return revoked;
  }

  /** A change to one tenant: written and announced in one transaction, then the mirror read again. */
  private async change(tenant: string, fn: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    await run(() =>
      inTransaction(this.pool, async (client) => {
        await fn(client);
        await announce(client, 'tenant', tenant, this.origin);
      }),
    );
    await run(() => this.reload());
  }
}

export class PgUsage implements UsageSink {
  constructor(private readonly pool: pg.Pool) {}

  async write(rows: readonly UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    await run(() =>
      inTransaction(this.pool, async (client) => {
        for (const r of rows) {
          await client.query(
            `INSERT INTO usage (hour, tenant, function, invocations, errors, cpu_ms, wall_ms, egress_bytes, kv_ops)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (hour, tenant, function) DO UPDATE SET invocations = usage.invocations + excluded.invocations,
               errors = usage.errors + excluded.errors, cpu_ms = usage.cpu_ms + excluded.cpu_ms, wall_ms = usage.wall_ms + excluded.wall_ms,
               egress_bytes = usage.egress_bytes + excluded.egress_bytes, kv_ops = usage.kv_ops + excluded.kv_ops`,
            [r.hour, r.tenant, r.function, r.invocations, r.errors, r.cpuMs, r.wallMs, r.egressBytes, r.kvOps],
          );
        }
      }),
    );
  }

  async query(options: { from?: string; to?: string; tenant?: string; function?: string }): Promise<UsageRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => (params.push(v), where.push(`${sql} $${params.length}`));
    if (options.from) add('hour >=', options.from);
    if (options.to) add('hour <', options.to);
    if (options.tenant) add('tenant =', options.tenant);
    if (options.function) add('function =', options.function);
    const sql = `SELECT hour, tenant, function, invocations::float8 AS "invocations", errors::float8 AS "errors", cpu_ms AS "cpuMs", wall_ms AS "wallMs",
                 egress_bytes::float8 AS "egressBytes", kv_ops::float8 AS "kvOps"
                 FROM usage ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY hour, tenant, function LIMIT 100000`;
    return run(async () => (await this.pool.query<UsageRow>(sql, params)).rows);
  }
}

export class PgAudit implements AuditSink {
  constructor(
    private readonly pool: pg.Pool,
    private readonly onError: (err: unknown) => void,
  ) {}

  async insert(e: Omit<AuditEntry, 'id'>): Promise<void> {
    await this.pool
      .query('INSERT INTO audit (at, tenant, token, action, target, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        e.at,
        e.tenant,
        e.token,
        e.action,
        e.target,
        e.outcome,
        e.detail ? JSON.stringify(e.detail) : null,
      ])
      .catch(this.onError);
  }

  async list(options: { tenant?: string; before: number; limit: number }): Promise<AuditEntry[]> {
    const { rows } = await run(() =>
      options.tenant === undefined
        ? this.pool.query<AuditRow>('SELECT * FROM audit WHERE id < $1 ORDER BY id DESC LIMIT $2', [options.before, options.limit])
        : this.pool.query<AuditRow>('SELECT * FROM audit WHERE tenant = $1 AND id < $2 ORDER BY id DESC LIMIT $3', [options.tenant, options.before, options.limit]),
    );
    return rows.map((r) => ({ ...r, id: Number(r.id), detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null }));
  }
}

/**
 * Console sessions in PostgreSQL: every gateway of the cluster reads the row itself (no mirror), so a
 * sign-out or a revoked token on one gateway ends the session on all of them at once.
 */
export class PgSessions implements SessionBackend {
  constructor(private readonly pool: pg.Pool) {}

  async insert(record: SessionRecord, maxSessions: number): Promise<void> {
    await run(() =>
      inTransaction(this.pool, async (client) => {
        await client.query('INSERT INTO console_sessions (key, tenant, token_id, created_at, last_seen, expires_at) VALUES ($1, $2, $3, $4, $5, $6)', sessionValues(record));
        await client.query(SESSION_EVICT, [record.key, Math.max(0, maxSessions - 1)]);
      }),
    );
  }

  async get(key: string): Promise<{ record: SessionRecord; credentialLive: boolean } | undefined> {
    const { rows } = await run(() => this.pool.query<SessionRow>(`${SESSION_SELECT} WHERE s.key = $1`, [key]));
    return rows[0] && fromSessionRow(rows[0]);
  }

  async touch(key: string, lastSeen: number): Promise<void> {
    await run(() => this.pool.query(SESSION_TOUCH, [lastSeen, key, lastSeen]));
  }

  async delete(key: string): Promise<void> {
    await run(() => this.pool.query('DELETE FROM console_sessions WHERE key = $1', [key]));
  }

  async sweep(now: number, idleBefore: number): Promise<number> {
    const { rowCount } = await run(() => this.pool.query(`DELETE FROM console_sessions WHERE ${SESSION_SWEEP_WHERE}`, [now, idleBefore]));
    return rowCount ?? 0;
  }

  async count(): Promise<number> {
    const { rows } = await run(() => this.pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM console_sessions'));
    return Number(rows[0]!.n);
  }
}

type AuditRow = Omit<AuditEntry, 'detail' | 'id'> & { id: string; detail: string | null };

/** Claims one cron firing for `gateway`: true when no gateway had it yet. */
export async function claimFiring(pool: pg.Pool, gateway: string, fn: string, cron: string, scheduledTime: number): Promise<boolean> {
  const { rowCount } = await run(() =>
    pool.query('INSERT INTO cron_firings (function, cron, scheduled_at, gateway) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [fn, cron, scheduledTime, gateway]),
  );
  return (rowCount ?? 0) > 0;
}

/** Opens the PostgreSQL store's schema (migrations under the advisory lock) and loads the mirrors. */
export async function openPgStore(pool: pg.Pool, origin: string, onAuditError: (err: unknown) => void) {
  await migratePg(pool, 'registry', PG_REGISTRY_MIGRATIONS);
  const registry = new PgRegistry(pool, origin);
  const tenants = new PgTenants(pool, origin);
  await Promise.all([registry.reload(), tenants.reload()]);
  return { registry, tenants, usage: new PgUsage(pool), audit: new PgAudit(pool, onAuditError), sessions: new PgSessions(pool) };
}
