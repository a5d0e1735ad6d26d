/**
 * A gateway's part of a cluster (`faas serve --store postgres://…`, FAAS_STORE): the shared
 * PostgreSQL store, its change feed, and whether the database is reachable (/readyz).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Logger } from 'pino';
import { openPool } from '../../contract/pg.ts';
import { ChangeFeed } from './changes.ts';
import { openPgStore, type ChangeKind, type PgAudit, type PgRegistry, type PgSessions, type PgTenants, type PgUsage } from './postgres.ts';
import { every } from '../../contract/timers.ts';

export interface ClusterStore {
  readonly url: string;
  readonly pool: pg.Pool;
  /** This gateway's id in the cluster (change origins, cron firings, leases). */
  readonly id: string;
  readonly registry: PgRegistry;
  readonly tenants: PgTenants;
  readonly usage: PgUsage;
  readonly audit: PgAudit;
  /** Console sign-in sessions (read from the database on every check: no mirror). */
  readonly sessions: PgSessions;
  readonly feed: ChangeFeed;
  /** Sets what applies another gateway's changes (the registry and the control plane exist after the store). */
  onRemote(apply: (kind: ChangeKind, names: string[]) => Promise<void>, reloaded: () => void): void;
  /** Undefined when the database is reachable, else why not. */
  problem(): string | undefined;
  /** Gateways alive in the cluster now (heartbeat rows younger than MEMBER_TTL_MS), this one included. */
  members(): number;
  /** Called when the number of live gateways changes. */
  onMembers(fn: (n: number) => void): void;
  close(): Promise<void>;
}

/** A gateway that has not beaten for this long no longer counts (it died, or lost the database). */
const MEMBER_TTL_MS = 5000;
const HEARTBEAT_MS = 1000;

export interface ClusterOptions {
  /** Catch-up poll interval of the change feed (default 1000 ms). */
  pollMs?: number;
}

export async function openClusterStore(url: string, logger: Logger, options: ClusterOptions = {}): Promise<ClusterStore> {
  const id = `${hostname().slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const pool = openPool(url, { max: 8, onError: (err) => logger.warn({ err: err.message }, 'cluster database: idle connection lost') });
  let applyRemote: (kind: ChangeKind, names: string[]) => Promise<void> = async () => {};
  let onReloaded: () => void = () => {};
  try {
    const stores = await openPgStore(pool, id, (err) => logger.warn({ err: (err as Error).message }, 'audit entry could not be written to the cluster database'));
    let healthy = true;
    const feed = new ChangeFeed({
      url,
      pool,
      origin: id,
      logger,
      pollMs: options.pollMs ?? 1000,
      apply: async (kind, names) => {
        if (kind === 'function') for (const n of names) await stores.registry.refresh(n);
        else await stores.tenants.reload();
        await applyRemote(kind, names);
      },
      reloadAll: async () => {
        await stores.registry.reload();
        await stores.tenants.reload();
        onReloaded();
      },
      onHealth: (h) => {
        healthy = h;
        logger[h ? 'info' : 'warn']({ healthy: h }, h ? 'cluster database reachable' : 'cluster database unreachable');
      },
    });
    await feed.init();
    // Loaded after the feed's start point: a change between the two is applied twice, never missed.
    await stores.registry.reload();
    await stores.tenants.reload();
    await feed.start();
    // Heartbeats: how many gateways share the cluster-wide limits.
    let members = 1;
    let membersChanged: (n: number) => void = () => {};
    const beat = async () => {
      await pool.query(
        `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, now() + interval '${MEMBER_TTL_MS} milliseconds')
         ON CONFLICT (name) DO UPDATE SET expires_at = excluded.expires_at`,
        [`gateway:${id}`, id],
      );
      const { rows } = await pool.query<{ n: string }>(`SELECT COUNT(*) AS n FROM leases WHERE name LIKE 'gateway:%' AND expires_at > now()`);
      const n = Math.max(1, Number(rows[0]!.n));
      if (n !== members) {
        members = n;
        membersChanged(n);
      }
    };
    await beat();
    const heart = every(HEARTBEAT_MS, beat);
    logger.info({ gateway: id, functions: stores.registry.count() }, 'cluster store opened');
    return {
      url,
      pool,
      id,
      ...stores,
      feed,
      onRemote(apply, reloaded) {
        applyRemote = apply;
        onReloaded = reloaded;
      },
      problem: () => (healthy && feed.isHealthy ? undefined : 'the cluster database is unreachable'),
      members: () => members,
      onMembers(fn) {
        membersChanged = fn;
        fn(members);
      },
      async close() {
        clearInterval(heart);
        await pool.query('DELETE FROM leases WHERE name = $1', [`gateway:${id}`]).catch(() => {});
        await feed.stop();
        await pool.end().catch(() => {});
      },
    };
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
}
