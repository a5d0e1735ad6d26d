/**
 * The multi-tenant control plane's state, kept beside the registry in its database: tenants and
 * their tokens and quotas, the audit log, usage metering, live logs, and what the request path reads
 * on every request (host routes, traffic splits, rate limits), rebuilt whenever the live functions
 * or a tenant's quota change so that the request path only does map lookups.
 */
import type Database from 'better-sqlite3';
import { join } from 'node:path';
import type { KvBackend } from '../bindings/kv/store.ts';
import { AuditLog } from './audit/log.ts';
import { RateLimits, type RateScope } from './limits/rate-limits.ts';
import { LogHub } from './logs/hub.ts';
import { openRegistryDb, type LiveRecord } from './registry/store.ts';
import { RouteTable } from './routing/routes.ts';
import { TrafficSplit } from './routing/split.ts';
import type { ClusterStore } from './store/cluster.ts';
import type { TenantBackend } from './store/types.ts';
import { TenantStore, type Tenant } from './tenants/store.ts';

/** The registry as the control plane reads it. */
export interface LiveFunctions {
  get(name: string): LiveRecord | undefined;
  withList(key: string): LiveRecord[];
}
import { UsageMeter } from './usage/meter.ts';

export class ControlPlane {
  /** The SQLite database (the default store); undefined with a cluster store. */
  readonly db: Database.Database | undefined;
  readonly tenants: TenantBackend;
  readonly audit: AuditLog;
  readonly usage: UsageMeter;
  readonly logs = new LogHub();
  readonly limits: RateLimits;
  /** Host-and-path routes of the live functions. */
  routes = new RouteTable([]);
  private routeOwners = new Set<string>();
  /** Traffic splits of the functions in a gradual rollout. */
  splits = new Map<string, TrafficSplit>();
  /** A tenant's quota set or the tenant deleted here: the other processes of `--processes` apply it before this resolves. */
  announceTenants: (names: readonly string[]) => Promise<void> = async () => {};

  constructor(
    dataDir: string,
    private readonly kv: KvBackend,
    onLimited: (fn: string, tenant: string, scope: RateScope) => void,
    cluster?: ClusterStore,
  ) {
    if (cluster) {
      this.db = undefined;
      this.tenants = cluster.tenants;
      this.audit = new AuditLog(cluster.audit);
      this.usage = new UsageMeter(cluster.usage);
    } else {
      const db = (this.db = openRegistryDb(join(dataDir, 'faas.db')));
      this.tenants = new TenantStore(db);
      this.audit = new AuditLog(db);
      this.usage = new UsageMeter(db);
    }
    this.limits = new RateLimits(onLimited);
    for (const t of this.tenants.list()) Promise.resolve(this.quotaHere(t)).catch(() => {});
  }

  /** Tenants changed on another gateway (a quota set, a tenant deleted): the request path's limits follow. */
  tenantsChanged(names: readonly string[]): void {
    for (const name of names) {
      const t = this.tenants.get(name);
      if (t) this.limits.setTenant(t.name, t.quota.requestsPerSecond === undefined ? undefined : { requestsPerSecond: t.quota.requestsPerSecond, burst: t.quota.burst });
      else this.limits.setTenant(name, undefined);
    }
  }

  /** At start: the host routes of every live function (the only per-function state needed before any request). */
  init(registry: LiveFunctions): void {
    this.routes = new RouteTable(registry.withList('routes'));
    this.routeOwners = new Set(this.routes.owners);
  }

  /** After changes to live functions (deploy, rollback, split, delete), by name. */
  changed(names: readonly string[], registry: LiveFunctions): void {
    let routesChanged = false;
    for (const name of names) {
      const live = registry.get(name);
      if (this.routeOwners.has(name) || (live?.config.routes.length ?? 0) > 0) routesChanged = true;
      if (live) this.loaded(live);
      else this.forget(name);
      // deleted, or now another tenant's: its buffer and followers go
      this.logs.recheck(name);
    }
    if (routesChanged) this.init(registry);
  }

  /** A function was put into the runtime (first request): what the request path reads for it. */
  loaded(live: LiveRecord): void {
    if (live.split && live.split.length > 1) this.splits.set(live.name, new TrafficSplit(live.split));
    else this.splits.delete(live.name);
    this.limits.setFunction(live.name, live.config.rateLimit);
  }

  /** A function left the runtime (idle, or deleted). */
  forget(name: string): void {
    this.splits.delete(name);
    this.limits.setFunction(name, undefined);
  }

  /** After a tenant was created or its quota set: its request rate and its KV bytes. */
  async applyQuota(t: Tenant): Promise<void> {
    await this.quotaHere(t);
    await this.announceTenants([t.name]);
  }

  private quotaHere(t: Tenant): Promise<void> | void {
    const q = t.quota;
    this.limits.setTenant(t.name, q.requestsPerSecond === undefined ? undefined : { requestsPerSecond: q.requestsPerSecond, burst: q.burst });
    return this.kv.setQuota(t.name, q.kvBytes ?? null);
  }

  /** Bytes the tenant's KV namespaces hold. */
  kvBytes(tenant: string): number | Promise<number> {
    return this.kv.bytesOf(tenant);
  }

  async forgetTenant(name: string): Promise<void> {
    this.limits.setTenant(name, undefined);
    await this.kv.setQuota(name, null);
    await this.announceTenants([name]);
  }

  /** Ends live log streams (a drain must not wait for followers). */
  stopStreams(): void {
    this.logs.close();
  }

  async close(): Promise<void> {
    this.logs.close();
    const flushed = this.usage.close();
    if (this.db?.open) this.db.close();
    await flushed.catch(() => {});
  }
}
