/**
 * Usage metering: per function and tenant, per hour, what an operator bills from: invocations,
 * errors, guest CPU ms, wall ms, egress bytes, KV operations. Counted in memory on the request path
 * and written to the registry's database every few seconds (and on close), so it survives restarts;
 * read back summed over a time range.
 */
import type Database from 'better-sqlite3';
import type { UsageSink } from '../store/types.ts';
import { every } from '../../contract/timers.ts';

export interface UsageFigures {
  invocations: number;
  errors: number;
  cpuMs: number;
  wallMs: number;
  egressBytes: number;
  kvOps: number;
}

export interface UsageRow extends UsageFigures {
  /** Start of the hour, ISO 8601. */
  hour: string;
  tenant: string;
  function: string;
}

const ZERO: UsageFigures = { invocations: 0, errors: 0, cpuMs: 0, wallMs: 0, egressBytes: 0, kvOps: 0 };

function addTo(row: UsageFigures, f: Partial<UsageFigures>): void {
  row.invocations += f.invocations ?? 0;
  row.errors += f.errors ?? 0;
  row.cpuMs += f.cpuMs ?? 0;
  row.wallMs += f.wallMs ?? 0;
  row.egressBytes += f.egressBytes ?? 0;
  row.kvOps += f.kvOps ?? 0;
}

export class UsageMeter {
  private pending = new Map<string, UsageRow>();
  /** Since this process started, per tenant: what the metrics show. */
  readonly sinceStart = new Map<string, UsageFigures>();
  private readonly timer: NodeJS.Timeout;
  private readonly sink: UsageSink;
  private hourStart = 0;
  private hourEnd = 0;
  private hour = '';
  /** Told of every batch written (the console's per-minute charts). */
  onFlush: ((rows: readonly UsageRow[]) => void) | undefined;

  /** `db`: the SQLite database (the default), or another store's sink (PostgreSQL). */
  constructor(db: Database.Database | UsageSink, flushEveryMs = 5000) {
    this.sink = 'prepare' in db ? new SqliteUsageSink(db) : db;
    this.timer = every(flushEveryMs, () => this.flush());
  }

  /** Adds to the current hour's figures of `fn` (cheap: two map updates). */
  add(tenant: string, fn: string, figures: Partial<UsageFigures>, at = Date.now()): void {
    if (at >= this.hourEnd || at < this.hourStart) {
      this.hourStart = Math.floor(at / 3_600_000) * 3_600_000;
      this.hourEnd = this.hourStart + 3_600_000;
      this.hour = new Date(this.hourStart).toISOString();
    }
    const hour = this.hour;
    const key = `${hour}|${tenant}|${fn}`;
    let row = this.pending.get(key);
    if (!row) this.pending.set(key, (row = { hour, tenant, function: fn, ...ZERO }));
    addTo(row, figures);
    let total = this.sinceStart.get(tenant);
    if (!total) this.sinceStart.set(tenant, (total = { ...ZERO }));
    addTo(total, figures);
  }

  /**
   * Writes what was counted since the last flush. When the store fails (a full disk, a locked file, the
   * database away) its write rolled back: the rows are pending again, so nothing is lost or counted
   * twice, and the failure is thrown to the caller (the timer drops it).
   */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const rows = [...this.pending.values()];
    this.pending = new Map();
    try {
      await this.sink.write(rows);
    } catch (err) {
      for (const r of rows) {
        const key = `${r.hour}|${r.tenant}|${r.function}`;
        const now = this.pending.get(key);
        if (now) addTo(now, r);
        else this.pending.set(key, r);
      }
      throw err;
    }
    this.onFlush?.(rows);
  }

  /** Hourly rows in [from, to), optionally one tenant's, flushed first so the answer is current. */
  async query(options: { from?: string; to?: string; tenant?: string; function?: string }): Promise<UsageRow[]> {
    await this.flush();
    return this.sink.query(options);
  }

  /** Stops the timer and writes what is pending; shutting down, what cannot be written is lost. */
  close(): Promise<void> {
    clearInterval(this.timer);
    return this.flush().catch(() => {});
  }
}

export class SqliteUsageSink implements UsageSink {
  private readonly upsert;

  constructor(private readonly db: Database.Database) {
    this.upsert = db.prepare(
      `INSERT INTO usage (hour, tenant, function, invocations, errors, cpu_ms, wall_ms, egress_bytes, kv_ops)
       VALUES (@hour, @tenant, @function, @invocations, @errors, @cpuMs, @wallMs, @egressBytes, @kvOps)
       ON CONFLICT (hour, tenant, function) DO UPDATE SET invocations = invocations + excluded.invocations,
         errors = errors + excluded.errors, cpu_ms = cpu_ms + excluded.cpu_ms, wall_ms = wall_ms + excluded.wall_ms,
         egress_bytes = egress_bytes + excluded.egress_bytes, kv_ops = kv_ops + excluded.kv_ops`,
    );
  }

  write(rows: readonly UsageRow[]): void {
    if (!this.db.open) return;
    this.db.transaction(() => {
      for (const r of rows) this.upsert.run(r);
    })();
  }

  query(options: { from?: string; to?: string; tenant?: string; function?: string }): UsageRow[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (options.from) (where.push('hour >= ?'), params.push(options.from));
    if (options.to) (where.push('hour < ?'), params.push(options.to));
    if (options.tenant) (where.push('tenant = ?'), params.push(options.tenant));
    if (options.function) (where.push('function = ?'), params.push(options.function));
    const sql = `SELECT hour, tenant, function, invocations, errors, cpu_ms AS cpuMs, wall_ms AS wallMs, egress_bytes AS egressBytes, kv_ops AS kvOps
                 FROM usage ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY hour, tenant, function LIMIT 100000`;
    return this.db.prepare(sql).all(...params) as UsageRow[];
  }
}

/** Sums rows into totals per key (tenant, or tenant/function). */
export function totals(rows: readonly UsageRow[], by: 'tenant' | 'function'): Record<string, UsageFigures> {
  const out: Record<string, UsageFigures> = {};
  for (const r of rows) {
    const key = by === 'tenant' ? r.tenant : `${r.tenant}/${r.function}`;
    addTo((out[key] ??= { ...ZERO }), r);
  }
  return out;
}
