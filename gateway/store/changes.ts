/**
 * The change feed of a cluster store: every change to functions or tenants is a row in `changes`
 * (seq ascending) and a NOTIFY on CHANGES_CHANNEL, sent in the transaction that made it. Each gateway
 * LISTENs on its own connection and, on a notification or every `pollMs` (the catch-up poll: a lost
 * notification, a reconnect, a gateway started late), reads the rows after the last seq it applied
 * and applies those other gateways made. A gateway too far behind (its seq pruned) reloads everything.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { CHANGES_CHANNEL, type ChangeKind } from './postgres.ts';
import { every } from '../../contract/timers.ts';

export interface ChangeFeedOptions {
  url: string;
  pool: pg.Pool;
  /** This gateway's id: its own changes are already applied. */
  origin: string;
  logger: Logger;
  /** Catch-up poll interval (default 2000 ms). */
  pollMs?: number;
  /** Changes of other gateways, by kind, each name once, in order. */
  apply: (kind: ChangeKind, names: string[]) => Promise<void>;
  /** Everything changed (too far behind): reload all. */
  reloadAll: () => Promise<void>;
  /** Connection state: true when the listener is connected and the last read succeeded. */
  onHealth?: (healthy: boolean) => void;
}

/** Rows of `changes` kept for late gateways (older ones are pruned: such a gateway reloads everything). */
const KEEP_CHANGES_MS = 60 * 60_000;

export class ChangeFeed {
  private lastSeq = 0;
  private listener: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private healthy = false;
  private reconnecting: NodeJS.Timeout | undefined;
  private polls = 0;

  constructor(private readonly opts: ChangeFeedOptions) {}

  /** Where the feed starts: before the mirrors are loaded, so nothing between is missed. */
  async init(): Promise<void> {
    const { rows } = await this.opts.pool.query<{ seq: string }>('SELECT COALESCE(MAX(seq), 0) AS seq FROM changes');
    this.lastSeq = Number(rows[0]!.seq);
  }

  async start(): Promise<void> {
    await this.listen().catch((err: unknown) => this.lost(err));
    this.timer = every(this.opts.pollMs ?? 2000, () => this.poke());
  }

  get isHealthy(): boolean {
    return this.healthy;
  }

  /** Reads and applies what is new (single flight: a poke during a run runs once more after it). */
  poke(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.catchUp();
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.reconnecting);
    await this.running?.catch(() => {});
    await this.listener?.end().catch(() => {});
  }

  private async catchUp(): Promise<void> {
    const { pool, origin } = this.opts;
    try {
      const { rows } = await pool.query<{ seq: string; kind: ChangeKind; name: string | null; origin: string }>(
        'SELECT seq, kind, name, origin FROM changes WHERE seq > $1 ORDER BY seq LIMIT 10000',
        [this.lastSeq],
      );
      const oldest = rows.length ? Number(rows[0]!.seq) : 0;
      if (rows.length && oldest > this.lastSeq + 1 && this.lastSeq > 0) {
        const { rows: gap } = await pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM changes WHERE seq > $1 AND seq < $2', [this.lastSeq, oldest]);
        // Sequence numbers are never reused but may skip (rolled-back transactions): only pruned rows mean a gap.
        if (Number(gap[0]!.n) === 0 && (await this.pruned())) {
          await this.opts.reloadAll();
          this.lastSeq = Number(rows[rows.length - 1]!.seq);
          this.setHealth(this.listener !== undefined);
          return;
        }
      }
      const byKind = new Map<ChangeKind, string[]>();
      let last = this.lastSeq;
      for (const r of rows) {
        last = Math.max(last, Number(r.seq));
        if (r.origin === origin || r.name === null) continue;
        const names = byKind.get(r.kind) ?? [];
        if (!names.includes(r.name)) names.push(r.name);
        byKind.set(r.kind, names);
      }
      // Advanced only once applied: a failure part-way is read and applied again (applying is idempotent).
      for (const [kind, names] of byKind) await this.opts.apply(kind, names);
      this.lastSeq = last;
      this.setHealth(this.listener !== undefined);
      if (++this.polls % 300 === 0) {
        await pool.query(`DELETE FROM changes WHERE at < now() - interval '${KEEP_CHANGES_MS / 1000} seconds'`).catch(() => {});
        await pool.query(`DELETE FROM cron_firings WHERE fired_at < now() - interval '1 day'`).catch(() => {});
      }
    } catch (err) {
      this.setHealth(false);
      this.opts.logger.warn({ err: (err as Error).message }, 'cluster change feed: catch-up failed');
    }
  }

  /** True when rows this gateway has not seen were pruned (it was away longer than KEEP_CHANGES_MS). */
  private async pruned(): Promise<boolean> {
    const { rows } = await this.opts.pool.query<{ min: string | null }>('SELECT MIN(seq) AS min FROM changes');
    return rows[0]!.min !== null && Number(rows[0]!.min) > this.lastSeq + 1;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.url, connectionTimeoutMillis: 3000, keepAlive: true, application_name: 'faas-listen' });
    client.on('error', (err) => this.lost(err, client));
    client.on('end', () => this.lost(new Error('connection ended'), client));
    client.on('notification', () => void this.poke());
    await client.connect();
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    this.listener = client;
    // Whatever happened while not listening.
    await this.poke();
  }

  private lost(err: unknown, client?: pg.Client): void {
    // A late event of a connection already replaced.
    if (this.stopped || (client && this.listener && this.listener !== client)) return;
    const old = this.listener;
    this.listener = undefined;
    old?.removeAllListeners('end');
    void old?.end().catch(() => {});
    this.setHealth(false);
    if (this.reconnecting) return;
    this.opts.logger.warn({ err: (err as Error)?.message }, 'cluster change feed: listener lost; reconnecting');
    this.reconnecting = setTimeout(() => {
      this.reconnecting = undefined;
      if (this.stopped) return;
      this.listen().then(
        () => this.opts.logger.info('cluster change feed: listening again'),
        (e: unknown) => this.lost(e),
      );
    }, 1000);
    this.reconnecting.unref();
  }

  private setHealth(healthy: boolean): void {
    if (healthy === this.healthy) return;
    this.healthy = healthy;
    this.opts.onHealth?.(healthy);
  }
}
