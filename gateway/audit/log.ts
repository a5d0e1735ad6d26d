/**
 * The audit log: every admin action (deploy, rollback, split, delete, tenant created or deleted,
 * token issued or revoked, quota changed) with its time, tenant, token id and outcome, in the
 * registry's database, readable through the admin API (the operator sees all, a tenant its own).
 */
import type Database from 'better-sqlite3';
import type { AuditSink } from '../store/types.ts';
import type { Principal } from '../tenants/store.ts';

export interface AuditEntry {
  id: number;
  at: string;
  /** The tenant acted on (or acting). */
  tenant: string | null;
  /** "root", or the id of the tenant token used. */
  token: string | null;
  action: string;
  target: string | null;
  /** "ok" or the error code. */
  outcome: string;
  detail: Record<string, unknown> | null;
}

export class AuditLog {
  private readonly sink: AuditSink;

  /** `db`: the SQLite database (the default), or another store's sink (PostgreSQL). */
  constructor(db: Database.Database | AuditSink) {
    this.sink = 'prepare' in db ? new SqliteAuditSink(db) : db;
  }

  /** Written in the background: an audit row that cannot be written is logged by the sink, never thrown at the action. */
  record(by: Principal, action: string, target: { tenant: string | null; name?: string | null }, outcome: string, detail?: Record<string, unknown>): void {
    const entry = {
      at: new Date().toISOString(),
      tenant: target.tenant,
      token: by.kind === 'root' ? 'root' : by.tokenId,
      action,
      target: target.name ?? null,
      outcome,
      detail: detail ?? null,
    };
    const done = this.sink.insert(entry);
    if (done instanceof Promise) done.catch(() => {});
  }

  /** Newest first; `before` is an id for paging. */
  list(options: { tenant?: string; before?: number; limit?: number } = {}): AuditEntry[] | Promise<AuditEntry[]> {
    const before = options.before ?? Number.MAX_SAFE_INTEGER;
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    return this.sink.list({ tenant: options.tenant, before, limit });
  }
}

export class SqliteAuditSink implements AuditSink {
  private readonly stmts;

  constructor(db: Database.Database) {
    this.stmts = {
      insert: db.prepare<[string, string | null, string | null, string, string | null, string, string | null]>(
        'INSERT INTO audit (at, tenant, token, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      all: db.prepare<[number, number], AuditRow>('SELECT * FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?'),
      tenant: db.prepare<[string, number, number], AuditRow>('SELECT * FROM audit WHERE tenant = ? AND id < ? ORDER BY id DESC LIMIT ?'),
    };
  }

  insert(e: Omit<AuditEntry, 'id'>): void {
    this.stmts.insert.run(e.at, e.tenant, e.token, e.action, e.target, e.outcome, e.detail ? JSON.stringify(e.detail) : null);
  }

  list(options: { tenant?: string; before: number; limit: number }): AuditEntry[] {
    const { before, limit } = options;
    const rows = options.tenant === undefined ? this.stmts.all.all(before, limit) : this.stmts.tenant.all(options.tenant, before, limit);
    return rows.map((r) => ({ ...r, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null }));
  }
}

type AuditRow = Omit<AuditEntry, 'detail'> & { detail: string | null };
