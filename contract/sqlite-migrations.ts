/**
 * Versioned schemas for the SQLite files (registry, KV): an ordered list of migrations, the file's
 * `PRAGMA user_version` saying how many are applied. Opening a file applies the missing ones in one
 * transaction each; a file written by a newer faas (a version beyond the list) is refused instead of
 * being misread. Migration 1 of each store is its original schema written idempotently, so files from
 * before versioning (user_version 0) upgrade in place.
 */
import type Database from 'better-sqlite3';
import { FaasError } from './errors.ts';

export interface Migration {
  /** What it changes, for the error message when it fails. */
  name: string;
  sql: string;
}

export function migrate(db: Database.Database, what: string, migrations: readonly Migration[]): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new FaasError('internal_error', `${what} has schema version ${current}, newer than this faas knows (${migrations.length}): upgrade faas`);
  }
  for (let v = current; v < migrations.length; v++) {
    // IMMEDIATE, and the version read again inside: several threads (workers) may open the file at once.
    db.transaction(() => {
      const now = db.pragma('user_version', { simple: true }) as number;
      if (now !== v) return;
      db.exec(migrations[v]!.sql);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return migrations.length;
}
