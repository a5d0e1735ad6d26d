/**
 * The audit log: every admin action (deploy, rollback, split, delete, tenant created or deleted,
 * token issued or revoked, quota changed) with its time, tenant, token id and outcome, in the
 * registry's database, readable through the admin API (the operator sees all, a tenant its own).
 */
import type Database from 'better-sqlite3';
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

  record(by: Principal, action: string, target: { tenant: string | null; name?: string | null }, outcome: string, detail?: Record<string, unknown>): void {
    this.stmts.insert.run(
      new Date().toISOString(),
      target.tenant,
      by.kind === 'root' ? 'root' : by.tokenId,
      action,
      target.name ?? null,
      outcome,
      detail ? JSON.stringify(detail) : null,
    );
  }

  /** Newest first; `before` is an id for paging. */
  list(options: { tenant?: string; before?: number; limit?: number } = {}): AuditEntry[] {
    const before = options.before ?? Number.MAX_SAFE_INTEGER;
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    const rows = options.tenant === undefined ? this.stmts.all.all(before, limit) : this.stmts.tenant.all(options.tenant, before, limit);
    return rows.map((r) => ({ ...r, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null }));
  }
}

type AuditRow = Omit<AuditEntry, 'detail'> & { detail: string | null };
