/**
 * The state a gateway keeps, behind one interface with two implementations: SQLite files in the data
 * directory (the default: one machine) and PostgreSQL (`--store postgres://…`: a cluster of gateways
 * sharing one database).
 *
 * The shape: reads the request path or a synchronous caller needs (the live functions, tenants and
 * tokens) stay synchronous; everything else is `Awaitable`. SQLite (better-sqlite3) answers all of it
 * synchronously, so the default path is unchanged; PostgreSQL answers the synchronous reads from an
 * in-memory mirror of those small tables, kept current by LISTEN/NOTIFY and a catch-up poll
 * (gateway/store/changes.ts), and everything else with a round trip.
 */
import type { AuditEntry } from '../audit/log.ts';
import type { LiveRecord, SplitEntry, VersionRecord } from '../registry/store.ts';
import type { Principal, Quota, Tenant, TokenInfo } from '../tenants/store.ts';
import type { UsageRow } from '../usage/meter.ts';

export type Awaitable<T> = T | Promise<T>;

/** Functions, their versions, stored sources and artifacts. */
export interface RegistryBackend {
  // Synchronous: answered from the database (SQLite) or the mirror of `functions` (PostgreSQL).
  current(name: string): LiveRecord | undefined;
  list(tenant?: string): LiveRecord[];
  count(tenant?: string): number;
  /** The names of all live functions (start-up tells new functions-directory entries from known ones). */
  names(): string[];
  page(options: { cursor?: string; limit: number; prefix?: string; tenant?: string }): LiveRecord[];
  withList(key: string): LiveRecord[];
  dirEntry(name: string): { fingerprint: string; sourceHash: string } | undefined;
  setDirEntry(name: string, fingerprint: string, sourceHash: string): void;

  /** The tenant of a kept version, when the backend can answer at once (SQLite); else the live record's is used. */
  tenantOf?(name: string, version: number): string | undefined;
  version(name: string, version: number): Awaitable<VersionRecord | undefined>;
  versions(name: string): Awaitable<VersionRecord[]>;
  source(name: string, version: number): Awaitable<string | null>;
  nextVersion(name: string): Awaitable<number>;
  /** Stores a version's artifact before its commit (a file, or a row). */
  writeArtifact(rec: VersionRecord, bytes: Uint8Array): Awaitable<void>;
  /** The bytes recorded for a version (verified by the caller: signature and sha256). */
  readArtifact(rec: VersionRecord): Promise<Uint8Array>;
  removeArtifact(rec: VersionRecord): Awaitable<void>;
  commit(record: VersionRecord, source: string | null, split: SplitEntry[] | null, primary: VersionRecord): Awaitable<void>;
  makeLive(record: VersionRecord, split: SplitEntry[] | null): Awaitable<void>;
  remove(name: string): Awaitable<boolean>;
  deleteVersion(name: string, version: number): Awaitable<void>;
  /** Removes artifacts written before `before` (ms since the epoch) that no version names; returns them. */
  collectGarbage(before: number): Promise<string[]>;
}

/** Tenants, quotas and tokens. */
export interface TenantBackend {
  get(name: string): Tenant | undefined;
  list(): Tenant[];
  tokens(tenant: string): TokenInfo[];
  authenticate(presented: string): Principal | undefined;
  create(name: string): Awaitable<Tenant>;
  setQuota(name: string, quota: Quota): Awaitable<void>;
  remove(name: string): Awaitable<void>;
  issueToken(tenant: string, label: string | null): Awaitable<{ token: string; info: TokenInfo }>;
  revokeToken(tenant: string, id: string): Awaitable<boolean>;
}

/** Where the usage meter writes its hourly rows and reads them back. */
export interface UsageSink {
  write(rows: readonly UsageRow[]): Awaitable<void>;
  query(options: { from?: string; to?: string; tenant?: string; function?: string }): Awaitable<UsageRow[]>;
}

export interface AuditSink {
  insert(entry: Omit<AuditEntry, 'id'>): Awaitable<void>;
  list(options: { tenant?: string; before: number; limit: number }): Awaitable<AuditEntry[]>;
}

/** A console sign-in session as stored: keyed by the SHA-256 of its id (the id itself is never stored). */
export interface SessionRecord {
  /** base64url SHA-256 of the session id. */
  key: string;
  principal: Principal;
  /** ms since the epoch, all three. */
  createdAt: number;
  /** Refreshed at most about once a minute (gateway/console/sessions.ts). */
  lastSeen: number;
  expiresAt: number;
}

/**
 * Console sessions, in the store every process and gateway shares (faas.db, or PostgreSQL), so a
 * session works wherever its next request lands and survives restarts.
 */
export interface SessionBackend {
  /** Stores a new session, then ends the least recently used ones beyond `maxSessions`. */
  insert(record: SessionRecord, maxSessions: number): Awaitable<void>;
  /** The session and whether its credential stands (root, or a tenant token neither revoked nor deleted), read together. */
  get(key: string): Awaitable<{ record: SessionRecord; credentialLive: boolean } | undefined>;
  touch(key: string, lastSeen: number): Awaitable<void>;
  delete(key: string): Awaitable<void>;
  /** Deletes sessions past `expiresAt`, unused since `idleBefore`, or whose token no longer stands; returns how many. */
  sweep(now: number, idleBefore: number): Awaitable<number>;
  count(): Awaitable<number>;
}
