import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import { migrate, type Migration } from '../../contract/sqlite-migrations.ts';
import type { FunctionConfig } from '../../contract/config.ts';

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
}

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
];

interface FunctionRow {
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
}

/**
 * SQLite metadata for the registry. `functions` holds the live version of each name, `versions`
 * every version ever deployed (with its source); a deploy writes both in one transaction.
 */
export class RegistryStore {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(path: string) {
    this.db = new Database(path);
    // Config rows carry secrets.
    chmodSync(path, 0o600);
    this.db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before the runtime swaps the new version in.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    migrate(this.db, `registry ${path}`, REGISTRY_MIGRATIONS);
    this.stmts = {
      current: this.db.prepare<[string], FunctionRow>('SELECT * FROM functions WHERE name = ?'),
      list: this.db.prepare<[], FunctionRow>('SELECT * FROM functions ORDER BY name'),
      source: this.db.prepare<[string, number], { source: string | null }>('SELECT source FROM versions WHERE name = ? AND version = ?'),
      nextVersion: this.db.prepare<[string], { next: number }>('SELECT COALESCE(MAX(version), 0) + 1 AS next FROM versions WHERE name = ?'),
      artifacts: this.db.prepare<[], { artifact: string }>('SELECT artifact FROM versions'),
      insertVersion: this.db.prepare(
        `INSERT INTO versions (name, version, sha256, bytecode_bytes, deployed_at, config, artifact, origin, filename, source, source_hash)
         VALUES (@name, @version, @sha256, @bytecodeBytes, @deployedAt, @config, @artifact, @origin, @filename, @source, @sourceHash)`,
      ),
      upsertFunction: this.db.prepare(
        `INSERT INTO functions (name, version, sha256, bytecode_bytes, deployed_at, config, artifact, origin, filename, source_hash)
         VALUES (@name, @version, @sha256, @bytecodeBytes, @deployedAt, @config, @artifact, @origin, @filename, @sourceHash)
         ON CONFLICT (name) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256,
           bytecode_bytes = excluded.bytecode_bytes, deployed_at = excluded.deployed_at, config = excluded.config,
           artifact = excluded.artifact, origin = excluded.origin, filename = excluded.filename, source_hash = excluded.source_hash`,
      ),
      remove: this.db.prepare<[string]>('DELETE FROM functions WHERE name = ?'),
    };
  }

  current(name: string): VersionRecord | undefined {
    const row = this.stmts.current.get(name);
    return row && fromRow(row);
  }

  list(): VersionRecord[] {
    return this.stmts.list.all().map(fromRow);
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

  /** Records the version and makes it the live one, atomically. */
  commit(record: VersionRecord, source: string | null): void {
    const params = { ...record, source, config: JSON.stringify(record.config) };
    this.db.transaction(() => {
      this.stmts.insertVersion.run(params);
      this.stmts.upsertFunction.run(params);
    })();
  }

  remove(name: string): boolean {
    return this.stmts.remove.run(name).changes > 0;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function fromRow(row: FunctionRow): VersionRecord {
  return {
    name: row.name,
    version: row.version,
    sha256: row.sha256,
    bytecodeBytes: row.bytecode_bytes,
    deployedAt: row.deployed_at,
    config: JSON.parse(row.config) as FunctionConfig,
    artifact: row.artifact,
    origin: row.origin,
    filename: row.filename,
    sourceHash: row.source_hash,
  };
}
