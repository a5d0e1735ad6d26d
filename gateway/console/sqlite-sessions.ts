/**
 * Console sessions in the registry database (faas.db, table `console_sessions`): every process of
 * `faas serve --processes <n>` opens the same file, so a session made on one is found by the others,
 * and it outlives a restart. The PostgreSQL twin is PgSessions (gateway/store/postgres.ts).
 */
import type Database from 'better-sqlite3';
import type { SessionBackend, SessionRecord } from '../store/types.ts';

/** A `console_sessions` row as both SQL drivers return it (PostgreSQL's BIGINTs come back as strings). */
export interface SessionRow {
  key: string;
  tenant: string | null;
  token_id: string | null;
  created_at: number | string;
  last_seen: number | string;
  expires_at: number | string;
  live: number | boolean;
}

/** `live`: the session's credential stands (the operator, or a tenant token of that tenant not revoked). */
export const SESSION_SELECT = `SELECT s.key, s.tenant, s.token_id, s.created_at, s.last_seen, s.expires_at,
  (s.tenant IS NULL OR t.id IS NOT NULL) AS live
  FROM console_sessions s LEFT JOIN tokens t ON t.id = s.token_id AND t.tenant = s.tenant AND t.revoked_at IS NULL`;

/** Expired, idle, or standing on a token that is revoked or gone (its tenant deleted). */
export const SESSION_SWEEP_WHERE = `expires_at <= $1 OR last_seen <= $2 OR (tenant IS NOT NULL AND NOT EXISTS
  (SELECT 1 FROM tokens t WHERE t.id = console_sessions.token_id AND t.tenant = console_sessions.tenant AND t.revoked_at IS NULL))`;

/** Beyond the cap: every session but the new one (`$1`) and the `$2` most recently used others. */
export const SESSION_EVICT = `DELETE FROM console_sessions WHERE key IN
  (SELECT key FROM console_sessions WHERE key <> $1 ORDER BY last_seen DESC, created_at DESC OFFSET $2)`;

/** Never backwards (clocks of a cluster's gateways differ a little). */
export const SESSION_TOUCH = 'UPDATE console_sessions SET last_seen = $1 WHERE key = $2 AND last_seen < $3';

export function fromSessionRow(row: SessionRow): { record: SessionRecord; credentialLive: boolean } {
  return {
    record: {
      key: row.key,
      principal: row.tenant === null ? { kind: 'root' } : { kind: 'tenant', tenant: row.tenant, tokenId: row.token_id ?? '' },
      createdAt: Number(row.created_at),
      lastSeen: Number(row.last_seen),
      expiresAt: Number(row.expires_at),
    },
    credentialLive: row.live === true || row.live === 1,
  };
}

export function sessionValues(r: SessionRecord): [string, string | null, string | null, number, number, number] {
  const p = r.principal;
  return [r.key, p.kind === 'tenant' ? p.tenant : null, p.kind === 'tenant' ? p.tokenId : null, r.createdAt, r.lastSeen, r.expiresAt];
}

export class SqliteSessions implements SessionBackend {
  private readonly stmts;

  constructor(private readonly db: Database.Database) {
    // better-sqlite3 takes `$1`-style names as named parameters; positional `?` keeps one SQL text for both drivers.
    const positional = (sql: string) => sql.replace(/\$\d/g, '?');
    this.stmts = {
      get: db.prepare<[string], SessionRow>(`${SESSION_SELECT} WHERE s.key = ?`),
      insert: db.prepare<[string, string | null, string | null, number, number, number]>(
        'INSERT INTO console_sessions (key, tenant, token_id, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      // SQLite has no OFFSET without a LIMIT: -1 is none.
      evict: db.prepare<[string, number]>(positional(SESSION_EVICT.replace('OFFSET', 'LIMIT -1 OFFSET'))),
      touch: db.prepare<[number, string, number]>(positional(SESSION_TOUCH)),
      delete: db.prepare<[string]>('DELETE FROM console_sessions WHERE key = ?'),
      sweep: db.prepare<[number, number]>(`DELETE FROM console_sessions WHERE ${positional(SESSION_SWEEP_WHERE)}`),
      count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM console_sessions'),
    };
  }

  insert(record: SessionRecord, maxSessions: number): void {
    this.db.transaction(() => {
      this.stmts.insert.run(...sessionValues(record));
      this.stmts.evict.run(record.key, Math.max(0, maxSessions - 1));
    }).immediate();
  }

  get(key: string): { record: SessionRecord; credentialLive: boolean } | undefined {
    const row = this.stmts.get.get(key);
    return row && fromSessionRow(row);
  }

  touch(key: string, lastSeen: number): void {
    this.stmts.touch.run(lastSeen, key, lastSeen);
  }

  delete(key: string): void {
    this.stmts.delete.run(key);
  }

  sweep(now: number, idleBefore: number): number {
    return this.stmts.sweep.run(now, idleBefore).changes;
  }

  count(): number {
    return this.stmts.count.get()!.n;
  }
}
