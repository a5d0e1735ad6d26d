import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import { migrate, type Migration } from '../../contract/sqlite-migrations.ts';
import type { FunctionConfig } from '../../contract/config.ts';
import { DEFAULT_TENANT } from '../../contract/tenants.ts';
import { FaasError } from '../../contract/errors.ts';
import type { RegistryBackend } from '../store/types.ts';
import { ArtifactFiles } from './artifacts.ts';

/** One immutable deployed version of a function. */
export interface VersionRecord {
  name: string;
  version: number;
  /** The artifact's payload hash (its header's sha256). */
  sha256: string;
  bytecodeBytes: number;
  /** ISO 8601. */
  deployedAt: string;
  /** Includes secrets: never hand this record out unfiltered. */
  config: FunctionConfig;
  /** Artifact file, relative to the data directory. */
  artifact: string;
  /** 'api' for admin deploys, 'dir' for entries of the functions directory. */
  origin: 'api' | 'dir';
  filename: string;
  /** For 'dir' entries: hash of the bundle and config, to skip recompiling unchanged files at start. */
  sourceHash: string | null;
  /** The tenant the function belongs to. */
  tenant: string;
  /** Who deployed it: "root", "dir", or the id of the tenant token used. */
  deployedBy: string | null;
}

/** A share of a function's traffic: the live deployment is a list of these, summing to 100. */
export interface SplitEntry {
  version: number;
  percent: number;
}

/** The live version of a function (its primary one: the record `functions` holds) and its traffic split. */
export type LiveRecord = VersionRecord & { split: SplitEntry[] | null };

/** `artifacts/<name>/<version>-<sha256 prefix>.qbc`, as ArtifactFiles.pathFor() names a version's file. */
const ARTIFACT_FILE = /^artifacts\/([a-z0-9][a-z0-9-]*)\/([1-9][0-9]*)-[0-9a-f]+\.qbc$/;

/** The registry's schema, one entry per version (contract/sqlite-migrations.ts). */
export const REGISTRY_MIGRATIONS: Migration[] = [
  {
    name: 'functions and versions',
    sql: `
CREATE TABLE IF NOT EXISTS versions (
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
  PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS functions (
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
  FOREIGN KEY (name, version) REFERENCES versions (name, version)
);
`,
  },
  {
    name: 'tenants, tokens, traffic splits, usage and the audit log',
    sql: `
CREATE TABLE tenants (
  name TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  quota TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO tenants (name, created_at) VALUES ('${DEFAULT_TENANT}', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
CREATE TABLE tokens (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL REFERENCES tenants (name),
  label TEXT,
  hash TEXT NOT NULL,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
ALTER TABLE versions ADD COLUMN tenant TEXT NOT NULL DEFAULT '${DEFAULT_TENANT}';
ALTER TABLE versions ADD COLUMN deployed_by TEXT;
ALTER TABLE functions ADD COLUMN tenant TEXT NOT NULL DEFAULT '${DEFAULT_TENANT}';
ALTER TABLE functions ADD COLUMN deployed_by TEXT;
ALTER TABLE functions ADD COLUMN split TEXT;
CREATE INDEX functions_tenant ON functions (tenant, name);
CREATE TABLE usage (
  hour TEXT NOT NULL,
  tenant TEXT NOT NULL,
  function TEXT NOT NULL,
  invocations INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  cpu_ms REAL NOT NULL DEFAULT 0,
  wall_ms REAL NOT NULL DEFAULT 0,
  egress_bytes INTEGER NOT NULL DEFAULT 0,
  kv_ops INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, tenant, function)
);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  tenant TEXT,
  token TEXT,
  action TEXT NOT NULL,
  target TEXT,
  outcome TEXT NOT NULL,
  detail TEXT
);
CREATE INDEX audit_tenant ON audit (tenant, id);
`,
  },
  {
    name: 'functions directory fingerprints',
    sql: `
CREATE TABLE dir_entries (
  name TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  source_hash TEXT NOT NULL
);
`,
  },
  {
    // Start-up reads the routed and the scheduled functions (the route table, the cron triggers):
    // partial indexes on the lists' JSON, kept by SQLite itself on every write of a row, so those reads
    // visit only such rows instead of parsing every function's config. See INDEXED_LISTS.
    name: 'indexes of routed and scheduled functions',
    sql: `
CREATE INDEX functions_routed ON functions (name) WHERE json_array_length(config, '$.routes') > 0;
CREATE INDEX functions_scheduled ON functions (name) WHERE json_array_length(config, '$.crons') > 0;
`,
  },
  {
    // Keyed by the SHA-256 of the session id (never the id); tenant NULL is the operator. Times in ms.
    name: 'console sessions',
    sql: `
CREATE TABLE console_sessions (
  key TEXT PRIMARY KEY,
  tenant TEXT,
  token_id TEXT,
  created_at INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_lru ON console_sessions (last_seen, created_at);
`,
  },
];

/**
 * Config lists with a partial index (migration 4, above): their query must spell the index's
 * condition with the same literal path for the planner to use it.
 */
const INDEXED_LISTS = ['routes', 'crons'] as const;

/** A `versions` row as the SQL drivers return it (the PostgreSQL store reads the same columns). */
export interface VersionRow {
  name: string;
  version: number;
  sha256: string;
  bytecode_bytes: number;
  deployed_at: string;
  config: string;
  artifact: string;
  origin: 'api' | 'dir';
  filename: string;
  source_hash: string | null;
  tenant: string;
  deployed_by: string | null;
}

export type FunctionRow = VersionRow & { split: string | null };

/** The database behind the registry and the control plane (tenants, tokens, usage, audit): one file, WAL. */
export function openRegistryDb(path: string): Database.Database {
  const db = new Database(path);
  // Config rows carry secrets, token rows their hashes.
  chmodSync(path, 0o600);
  db.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before the runtime swaps the new version in.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, `registry ${path}`, REGISTRY_MIGRATIONS);
  return db;
}

/**
 * SQLite metadata for the registry. `functions` holds the live (primary) version of each name and
 * its traffic split, `versions` every version kept (with its source); a deploy writes both in one
 * transaction, a rollback or a split changes `functions` alone.
 */
export class RegistryStore implements RegistryBackend {
  private readonly stmts;
  private readonly files: ArtifactFiles | undefined;

  /** `dataDir`: where artifact files are (without it, the artifact methods are not usable). */
  constructor(
    readonly db: Database.Database,
    dataDir?: string,
  ) {
    this.files = dataDir === undefined ? undefined : new ArtifactFiles(dataDir);
    this.stmts = {
      current: db.prepare<[string], FunctionRow>('SELECT * FROM functions WHERE name = ?'),
      list: db.prepare<[], FunctionRow>('SELECT * FROM functions ORDER BY name'),
      listTenant: db.prepare<[string], FunctionRow>('SELECT * FROM functions WHERE tenant = ? ORDER BY name'),
      version: db.prepare<[string, number], VersionRow>('SELECT * FROM versions WHERE name = ? AND version = ?'),
      versions: db.prepare<[string], VersionRow>('SELECT * FROM versions WHERE name = ? ORDER BY version DESC'),
      tenant: db.prepare<[string, number], { tenant: string }>('SELECT tenant FROM versions WHERE name = ? AND version = ?'),
      source: db.prepare<[string, number], { source: string | null }>('SELECT source FROM versions WHERE name = ? AND version = ?'),
      nextVersion: db.prepare<[string], { next: number }>('SELECT COALESCE(MAX(version), 0) + 1 AS next FROM versions WHERE name = ?'),
      artifacts: db.prepare<[], { artifact: string }>('SELECT artifact FROM versions'),
      insertVersion: db.prepare(
        `INSERT INTO versions (name, version, sha256, bytecode_bytes, deployed_at, config, artifact, origin, filename, source, source_hash, tenant, deployed_by)
         VALUES (@name, @version, @sha256, @bytecodeBytes, @deployedAt, @config, @artifact, @origin, @filename, @source, @sourceHash, @tenant, @deployedBy)`,
      ),
      upsertFunction: db.prepare(
        `INSERT INTO functions (name, version, sha256, bytecode_bytes, deployed_at, config, artifact, origin, filename, source_hash, tenant, deployed_by, split)
         VALUES (@name, @version, @sha256, @bytecodeBytes, @deployedAt, @config, @artifact, @origin, @filename, @sourceHash, @tenant, @deployedBy, @split)
         ON CONFLICT (name) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256,
           bytecode_bytes = excluded.bytecode_bytes, deployed_at = excluded.deployed_at, config = excluded.config,
           artifact = excluded.artifact, origin = excluded.origin, filename = excluded.filename, source_hash = excluded.source_hash,
           tenant = excluded.tenant, deployed_by = excluded.deployed_by, split = excluded.split`,
      ),
      setSplit: db.prepare<[string | null, string]>('UPDATE functions SET split = ? WHERE name = ?'),
      remove: db.prepare<[string]>('DELETE FROM functions WHERE name = ?'),
      deleteVersion: db.prepare<[string, number]>('DELETE FROM versions WHERE name = ? AND version = ?'),
      countTenant: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM functions WHERE tenant = ?'),
      countAll: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM functions'),
      names: db.prepare<[], string>('SELECT name FROM functions').pluck(),
      page: db.prepare<[{ cursor: string; prefix: string; tenant: string | null; limit: number }], FunctionRow>(
        `SELECT * FROM functions WHERE name > @cursor AND name >= @prefix AND substr(name, 1, length(@prefix)) = @prefix
           AND (@tenant IS NULL OR tenant = @tenant) ORDER BY name LIMIT @limit`,
      ),
      withList: db.prepare<[string], FunctionRow>(`SELECT * FROM functions WHERE json_array_length(config, ?) > 0 ORDER BY name`),
      withIndexedList: new Map<string, Database.Statement<[], FunctionRow>>(
        INDEXED_LISTS.map((key) => [key, db.prepare<[], FunctionRow>(`SELECT * FROM functions WHERE json_array_length(config, '$.${key}') > 0 ORDER BY name`)]),
      ),
      referenced: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM versions WHERE artifact = ?'),
      referencedAt: db.prepare<[string, number, string], { n: number }>('SELECT COUNT(*) AS n FROM versions WHERE name = ? AND version = ? AND artifact = ?'),
      dirEntry: db.prepare<[string], { fingerprint: string; source_hash: string }>('SELECT fingerprint, source_hash FROM dir_entries WHERE name = ?'),
      setDirEntry: db.prepare<[string, string, string]>(
        'INSERT INTO dir_entries (name, fingerprint, source_hash) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint, source_hash = excluded.source_hash',
      ),
    };
  }

  current(name: string): LiveRecord | undefined {
    const row = this.stmts.current.get(name);
    return row && fromFunctionRow(row);
  }

  /** Live functions, all of them or one tenant's. */
  list(tenant?: string): LiveRecord[] {
    return (tenant === undefined ? this.stmts.list.all() : this.stmts.listTenant.all(tenant)).map(fromFunctionRow);
  }

  count(tenant?: string): number {
    return (tenant === undefined ? this.stmts.countAll.get() : this.stmts.countTenant.get(tenant))!.n;
  }

  names(): string[] {
    return this.stmts.names.all();
  }

  /** Live functions by name after `cursor`, at most `limit`, optionally by name prefix and tenant. */
  page(options: { cursor?: string; limit: number; prefix?: string; tenant?: string }): LiveRecord[] {
    const prefix = options.prefix ?? '';
    return this.stmts.page.all({ cursor: options.cursor ?? '', prefix, tenant: options.tenant ?? null, limit: options.limit }).map(fromFunctionRow);
  }

  /** Live functions whose config has a non-empty list under `key` (e.g. "routes", "crons"). */
  withList(key: string): LiveRecord[] {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(key)) throw new Error(`not a config key: ${key}`);
    const indexed = this.stmts.withIndexedList.get(key);
    return (indexed ? indexed.all() : this.stmts.withList.all(`$.${key}`)).map(fromFunctionRow);
  }

  /** What the functions directory's files of `name` looked like (stat fingerprint) when it last built it, and the bundle's hash. */
  dirEntry(name: string): { fingerprint: string; sourceHash: string } | undefined {
    const row = this.stmts.dirEntry.get(name);
    return row && { fingerprint: row.fingerprint, sourceHash: row.source_hash };
  }

  setDirEntry(name: string, fingerprint: string, sourceHash: string): void {
    this.stmts.setDirEntry.run(name, fingerprint, sourceHash);
  }

  isReferenced(artifact: string): boolean {
    // A version's file is named after its (name, version) key, the primary key: one lookup, where
    // a search by path would scan every version (start-up's clean-up asks once per file). The
    // registry never serves a row whose path is not the one its key names (Registry.recordedPath).
    const keyed = ARTIFACT_FILE.exec(artifact);
    return (keyed ? this.stmts.referencedAt.get(keyed[1]!, Number(keyed[2]), artifact) : this.stmts.referenced.get(artifact))!.n > 0;
  }

  version(name: string, version: number): VersionRecord | undefined {
    const row = this.stmts.version.get(name, version);
    return row && fromRow(row);
  }

  /** Every kept version of a function, newest first. */
  versions(name: string): VersionRecord[] {
    return this.stmts.versions.all(name).map(fromRow);
  }

  tenantOf(name: string, version: number): string | undefined {
    return this.stmts.tenant.get(name, version)?.tenant;
  }

  /** What a version compiled (kept so an artifact the engine no longer accepts can be rebuilt). */
  source(name: string, version: number): string | null {
    return this.stmts.source.get(name, version)?.source ?? null;
  }

  /** Versions keep counting across delete and redeploy: a number never names two artifacts. */
  nextVersion(name: string): number {
    return this.stmts.nextVersion.get(name)!.next;
  }

  /** Every artifact path any version refers to (relative to the data directory). */
  referencedArtifacts(): Set<string> {
    return new Set(this.stmts.artifacts.all().map((r) => r.artifact));
  }

  /**
   * Records the version and makes it live, atomically: alone, or in `split` with `primary` (default:
   * this version) as the record `functions` holds.
   */
  commit(record: VersionRecord, source: string | null, split: SplitEntry[] | null = null, primary: VersionRecord = record): void {
    this.db.transaction(() => {
      try {
        this.stmts.insertVersion.run({ ...record, source, config: JSON.stringify(record.config) });
      } catch (err) {
        // another process of --processes (its own lock is its own) took this version number first
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
          throw new FaasError('conflict', `version ${record.version} of function "${record.name}" was just deployed by another process: retry the deploy`);
        }
        throw err;
      }
      this.stmts.upsertFunction.run({ ...primary, config: JSON.stringify(primary.config), split: split && JSON.stringify(split) });
    })();
  }

  /** Makes a kept version the live one again (a rollback), with `split` or alone: one statement, atomic. */
  makeLive(record: VersionRecord, split: SplitEntry[] | null): void {
    this.stmts.upsertFunction.run({ ...record, config: JSON.stringify(record.config), split: split && JSON.stringify(split) });
  }

  setSplit(name: string, split: SplitEntry[] | null): void {
    this.stmts.setSplit.run(split && JSON.stringify(split), name);
  }

  remove(name: string): boolean {
    return this.stmts.remove.run(name).changes > 0;
  }

  /** Forgets a version that is no longer kept (its artifact file is the caller's to delete). */
  deleteVersion(name: string, version: number): void {
    this.stmts.deleteVersion.run(name, version);
  }

  /** Durable when it resolves (file and directory fsynced). */
  async writeArtifact(rec: VersionRecord, bytes: Uint8Array): Promise<void> {
    await this.artifactFiles().write(rec.artifact, bytes);
  }

  /** Only the path this registry would have written for the version: a row cannot point elsewhere. */
  async readArtifact(rec: VersionRecord): Promise<Uint8Array> {
    const files = this.artifactFiles();
    const expected = files.pathFor(rec.name, rec.version, rec.sha256);
    if (rec.artifact !== expected) {
      throw new FaasError('artifact_invalid', `the database names artifact "${rec.artifact.slice(0, 200)}" for version ${rec.version}, not ${expected}`);
    }
    return files.read(expected);
  }

  removeArtifact(rec: VersionRecord): void {
    this.artifactFiles().remove(rec.artifact);
  }

  collectGarbage(before: number): Promise<string[]> {
    return this.artifactFiles().collectGarbageAsync((path) => this.isReferenced(path), before);
  }

  private artifactFiles(): ArtifactFiles {
    if (!this.files) throw new Error('RegistryStore opened without a data directory');
    return this.files;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** A versions row as a record; both stores use it (PostgreSQL hands BIGINT columns over as strings). */
export function fromRow(row: VersionRow): VersionRecord {
  return {
    name: row.name,
    version: Number(row.version),
    sha256: row.sha256,
    bytecodeBytes: Number(row.bytecode_bytes),
    deployedAt: row.deployed_at,
    config: storedConfig(row.config),
    artifact: row.artifact,
    origin: row.origin,
    filename: row.filename,
    sourceHash: row.source_hash,
    tenant: row.tenant,
    deployedBy: row.deployed_by,
  };
}

/**
 * A version's config as stored. One stored before `stripPrefix` existed ran seeing the whole
 * `/fn/<name>/…` path, so it keeps doing so (a gateway upgrade must not change what a deployed
 * version sees); every config stored since names `stripPrefix` (the schema's default fills it in).
 */
function storedConfig(json: string): FunctionConfig {
  const config = JSON.parse(json) as FunctionConfig;
  return (config as Partial<FunctionConfig>).stripPrefix === undefined ? { ...config, stripPrefix: false } : config;
}

export function fromFunctionRow(row: FunctionRow): LiveRecord {
  return { ...fromRow(row), split: row.split ? (JSON.parse(row.split) as SplitEntry[]) : null };
}
