import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server, ServerOptions } from 'node:http';
import { serve } from '@hono/node-server';
import { FaasError } from '../contract/errors.ts';
import { Runtime, type EngineName, type GuestLogEntry, type Isolation, type RuntimeOptions } from '../runtime/index.ts';
import type { FunctionHost } from '../runtime/index.ts';
import { WorkerPool, type WorkerEvent } from '../runtime/index.ts';
import { loadSigningKey, SIGNING_KEY_ENV } from '../contract/signing-key.ts';
import { createApp } from './app.ts';
import { BodyBudget } from './body.ts';
import { DirectorySync, DirectoryWatcher, type DirSyncReport, type SyncOutcome } from './functions-dir.ts';
import { Lifecycle, type Phase } from './lifecycle.ts';
import { createLogger, guestLogSink, type Logger } from './observability/logger.ts';
import { GatewayMetrics } from './observability/metrics.ts';
import { Registry, type LoadReport } from './registry/registry.ts';
import { ControlPlane } from './control-plane.ts';
import { Scheduler, type SchedulerOptions } from './scheduler/scheduler.ts';
import { join } from 'node:path';
import type { KvBackend } from '../bindings/kv/store.ts';
import { openKv } from '../bindings/kv/host.ts';
import { isPostgresUrl } from '../contract/pg.ts';
import { openClusterStore, type ClusterStore } from './store/cluster.ts';
import { claimFiring } from './store/postgres.ts';
import { attachGatewayParts, bindingOpsModules, closeAll, mergeOps, openBindingHosts } from './bindings.ts';
import type { OpsProvider } from '../runtime/index.ts';
import type { CronTriggers } from '../bindings/cron/triggers.ts';
import { gatewayOps, workerOpsModule } from './workers/ops.ts';
import { EgressCounters } from '../runtime/index.ts';
import { MetricsSampler, type SamplerOptions } from './observability/sampler.ts';
import { SessionStore, type SessionOptions } from './console/sessions.ts';
import { SqliteSessions } from './console/sqlite-sessions.ts';
import type { McpOptions } from './mcp/index.ts';
import { resolveRunCodeLimits } from './mcp/run-code.ts';
import { every } from '../contract/timers.ts';
import type { ProcessGroup } from './processes/member.ts';
import type { ChangeKind } from './store/postgres.ts';

export interface GatewayOptions {
  /** 0 picks a free port. Default 8080. */
  port?: number;
  host?: string;
  /**
   * Every `<name>.ts|js` in it is compiled (if changed) and deployed at start: new entries before the
   * gateway is ready, the others (served by the registry meanwhile) in the background (see DirectorySync).
   */
  functionsDir?: string;
  /** Signing key, registry database and artifacts. */
  dataDir: string;
  engine?: RuntimeOptions['engine'];
  isolation?: Isolation;
  /**
   * Worker threads for guest execution, each with its own runtime; 0 (the default here) runs guests
   * on the gateway thread. `faas serve` defaults to one per core.
   */
  workers?: number;
  /** Default: $FAAS_ADMIN_TOKEN, else a random token (see `adminTokenGenerated`). */
  adminToken?: string;
  /** Recompile and hot-swap functions when files in functionsDir change (`faas dev`). */
  watch?: boolean;
  /**
   * Checks a functions-directory entry before it is bundled (`faas dev`'s typecheck); a rejection
   * (a compile_error) fails that entry like a compile error, and the old version keeps serving.
   */
  checkEntry?: (path: string) => Promise<unknown>;
  /** Versions kept per function; older ones are pruned with their artifact files. Default 10. */
  keepVersions?: number;
  /**
   * A function without a request for this long leaves the runtime's memory (its metadata; instances
   * and artifacts go sooner, see the runtime's idleTtlMs): it stays deployed and loads again on its
   * next request. Default 10 minutes.
   */
  functionIdleTtlMs?: number;
  /**
   * Where state lives: "sqlite" (the default: files in `dataDir`) or a `postgres://` URL, shared by a
   * cluster of gateways (registry, tenants, usage, audit, KV, cron leadership).
   */
  store?: string;
  /** With a cluster store: how often the change feed polls for changes it was not notified of (default 1000 ms). */
  clusterPollMs?: number;
  /** Cap on a function request body. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Cap on a deploy request body. Default 16 MiB. */
  maxDeployBytes?: number;
  /**
   * A request body (function or deploy) must have fully arrived this many ms after the gateway starts
   * reading it, else 408 `request_timeout` and the connection is closed. Default 30 s.
   */
  bodyTimeoutMs?: number;
  /**
   * Request body bytes the gateway holds while receiving them, over all connections at once (each
   * body alone is capped by maxBodyBytes / maxDeployBytes); a body that would go over is refused with
   * 503 `overloaded` and its connection closed. Default 128 MiB.
   */
  maxBufferedBodyBytes?: number;
  scheduler?: SchedulerOptions;
  /** The MCP server at /mcp: run_code's limits and egress (default: 1 MiB, 100 ms CPU, 1 s, no egress). */
  mcp?: McpOptions;
  /**
   * Fraction (0..1) of successful requests written to the access log (one JSON line each); requests
   * that fail (status 400 and up) are always logged. Default 1 (every request).
   */
  accessLogSample?: number;
  /** Tuning passed to the runtime (pool size, instance limits …). */
  runtime?: Omit<RuntimeOptions, 'engine' | 'isolation' | 'log' | 'ops'>;
  logger?: Logger;
  /**
   * Serve the web console (/console) only on this host name, and no function on it, so no function's
   * page shares the console's origin. Default: $FAAS_CONSOLE_HOST, else the console answers on any host.
   */
  consoleHost?: string;
  /** Console sign-in sessions (kept in faas.db or the cluster store): idle and absolute expiry, how many at most, how often lastSeen is written. */
  sessions?: SessionOptions;
  /** The in-memory window of metrics the console charts (default: one hour at 5 s). */
  sampler?: SamplerOptions;
  /**
   * This process's part in `faas serve --processes <n>`: changes made here reach the other processes
   * before they are answered, theirs are applied here, /metrics covers every process.
   */
  group?: ProcessGroup;
  /** Called once the port is bound, before functions are loaded (readyz is 503 until then). */
  onListening?: (url: string) => void;
  /** Each result of a watched change (deployed, unchanged, removed, compile error). */
  onWatch?: (outcome: SyncOutcome) => void;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  /** Where guest code runs: the in-process Runtime (`workers: 0`) or a WorkerPool. */
  readonly runtime: FunctionHost;
  /** The worker pool when `workers` > 0. */
  readonly workers: WorkerPool | undefined;
  readonly registry: Registry;
  /** Tenants, tokens, quotas, usage, audit log, live logs, routes and rate limits. */
  readonly plane: ControlPlane;
  /** Cron triggers of the deployed functions (`fire()` runs one firing now). */
  readonly cron: CronTriggers;
  readonly kv: KvBackend;
  /** The last hour of metrics the console charts (`sample()` takes one now). */
  readonly sampler: MetricsSampler;
  /** The cluster store when the gateway runs with `store: postgres://…`. */
  readonly cluster: ClusterStore | undefined;
  readonly adminToken: string;
  /** True when the token was generated here: the caller should show it once. */
  readonly adminTokenGenerated: boolean;
  readonly startup: {
    registry: LoadReport;
    /** The functions directory's new entries (no function of that name was deployed), synced before ready. */
    functionsDir: SyncOutcome[];
    /** The whole directory's sync, when it finished: the entries above and the background check of the others. */
    functionsDirSynced: Promise<DirSyncReport>;
  };
  readonly phase: Phase;
  /** Resolves when the directory watcher has handled every change seen so far (no-op without watch). */
  settled(): Promise<void>;
  /** Stops at once: waiting requests get 503, open connections are cut. */
  close(): Promise<void>;
  /** readyz turns 503 and new requests get 503 `unavailable`; in-flight work gets `graceMs` to finish; then close(). */
  drain(graceMs: number): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_MAX_DEPLOY_BYTES = 16 * 1024 * 1024;
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;
export const DEFAULT_FUNCTION_IDLE_TTL_MS = 10 * 60_000;
export const DEFAULT_MAX_BUFFERED_BODY_BYTES = 128 * 1024 * 1024;

function accessLogSample(v: number | undefined): number {
  if (v === undefined) return 1;
  if (!Number.isFinite(v) || v < 0 || v > 1) throw new FaasError('bad_request', `accessLogSample must be a number from 0 to 1 (got ${v})`);
  return v;
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const logSample = accessLogSample(opts.accessLogSample);
  const logger = opts.logger ?? createLogger();
  mkdirSync(opts.dataDir, { recursive: true });
  const signingKey = loadSigningKey(opts.dataDir);
  const envToken = process.env.FAAS_ADMIN_TOKEN?.trim();
  const adminTokenGenerated = !opts.adminToken && !envToken;
  const adminToken = opts.adminToken || envToken || randomBytes(24).toString('base64url');
  const bodyTimeoutMs = opts.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  if (!Number.isInteger(bodyTimeoutMs) || bodyTimeoutMs <= 0) throw new FaasError('bad_request', `bodyTimeoutMs must be a positive integer (got ${bodyTimeoutMs})`);
  resolveRunCodeLimits(opts.mcp?.runCode); // a bad MCP option fails before anything is started

  // Opened (and put in WAL mode) before any worker opens its own connection to the same file; the
  // gateway keeps this connection for itself (admin reads), guests use their binding host's.
  if (opts.store !== undefined && opts.store !== 'sqlite' && !isPostgresUrl(opts.store)) {
    throw new FaasError('bad_request', `store must be "sqlite" or a postgres:// URL (got "${String(opts.store).replace(/\/\/[^@/]*@/, '//…@').slice(0, 100)}")`);
  }
  const storeUrl = isPostgresUrl(opts.store) ? opts.store : undefined;
  // Every gateway verifies artifacts another one compiled: they must share the key.
  if (storeUrl && !process.env[SIGNING_KEY_ENV]?.trim()) {
    throw new FaasError('bad_request', `a cluster store needs ${SIGNING_KEY_ENV}: the same signing key on every gateway (generate one with: openssl rand -hex 32)`);
  }
  const cluster = storeUrl ? await openClusterStore(storeUrl, logger, { pollMs: opts.clusterPollMs }) : undefined;
  const kv = openKv({ dataDir: opts.dataDir, store: storeUrl }, 4);
  let runtimeRef: FunctionHost | undefined;
  let metricsRef: GatewayMetrics | undefined;
  let plane: ControlPlane;
  const closeStores = async () => {
    await plane?.close();
    await kv.close();
    await cluster?.close();
  };
  try {
    plane = new ControlPlane(opts.dataDir, kv, (fn, tenant, scope) => metricsRef?.rateLimited(fn, tenant, scope), cluster);
  } catch (err) {
    await kv.close();
    await cluster?.close();
    throw err;
  }
  let registryRef: Registry | undefined;
  const log = guestLogSink(
    logger,
    () => runtimeRef,
    (fn, n) => metricsRef?.guestLogsDropped(fn, n),
    (entry, text) => {
      const fn = String(entry.fn);
      const version = typeof entry.version === 'number' ? entry.version : null;
      // whose line it is: the version's tenant (a retired version's is in the registry), never just the name's current owner
      const tenant = version === null ? undefined : (runtimeRef?.get(fn, version)?.tenant ?? registryRef?.tenantOf(fn, version));
      plane.logs.log(fn, tenant, version, typeof entry.requestId === 'string' ? entry.requestId : undefined, String(entry.level), String(entry.source), text);
    },
  );
  const egress = new EgressCounters();
  let runtime: FunctionHost;
  const bindingHosts: OpsProvider[] = [];
  try {
    runtime = runtimeRef = await createFunctionHost(opts, log, logger, egress, bindingHosts);
  } catch (err) {
    await closeAll(bindingHosts);
    await closeStores();
    throw err;
  }
  const lifecycle = new Lifecycle();
  const scheduler = new Scheduler(opts.scheduler);
  const group = opts.group;
  let dirSync: DirectorySync | undefined;
  const metrics = (metricsRef = new GatewayMetrics({
    runtime,
    scheduler,
    egress,
    usage: plane.usage,
    deployed: () => registry.count(),
    processGroup: group !== undefined,
    dirPending: () => dirSync?.pending ?? 0,
  }));
  if (group) {
    group.metricsFrom(() => metrics.json());
    metrics.scrape = () => group.scrape();
  }
  const sampler = new MetricsSampler({ metrics, runtime, scheduler }, opts.sampler);
  plane.usage.onFlush = (rows) => sampler.addUsage(rows);
  sampler.start();
  // In the store every process and gateway shares: faas.db, or the cluster's database.
  const sessions = new SessionStore(
    cluster ? cluster.sessions : new SqliteSessions(plane.db!),
    // The store's row is read joined to its token (authoritative on every process and gateway); this
    // gateway's view refuses a token it knows revoked. A token it does not know yet (a cluster's mirror a
    // moment behind a sign-in on another gateway) is left to the store.
    (p) => p.kind === 'root' || !plane.tenants.tokens(p.tenant).some((t) => t.id === p.tokenId && t.revokedAt !== null),
    opts.sessions,
    (err) => logger.warn({ err: (err as Error)?.message }, 'console sessions: the store failed'),
  );
  const consoleHost = (opts.consoleHost ?? process.env.FAAS_CONSOLE_HOST)?.trim().toLowerCase() || undefined;
  // Bindings' gateway parts read the registry (a function is not in the runtime until it is used).
  const parts = await attachGatewayParts({
    runtime: {
      withList: (key) => registryRef!.withList(key),
      lookup: (name) => registryRef!.get(name),
      resolve: (name) => registryRef!.materialize(name),
      scheduled: (name, controller, options) => runtime.scheduled(name, controller, options),
    },
    acquire: (ticket, deadline) => scheduler.acquire(ticket, deadline),
    recordScheduled: (fn, outcome, seconds) => metrics.scheduled(fn, outcome, seconds),
    logger,
    // A cluster claims each firing in the database (once across every gateway and process); processes
    // on one machine leave it to the lowest slot serving.
    claimFiring: cluster ? (fn, cron, at) => claimFiring(cluster.pool, cluster.id, fn, cron, at) : group ? async () => group.leadsCron() : undefined,
  });
  const cron = parts.get('cron') as CronTriggers;
  const registry = (registryRef = new Registry({
    dataDir: opts.dataDir,
    db: plane.db,
    store: cluster?.registry,
    tenants: plane.tenants,
    keepVersions: opts.keepVersions,
    runtime,
    signingKey,
    logger,
    onDeploy: (o) => metrics.deploy(o),
    onChange: (names) => {
      plane.changed(names, registry);
      for (const part of parts.values()) part.sync(names);
    },
    announce: group ? (names) => group.announce('function', names) : undefined,
    onMaterialize: (live) => plane.loaded(live),
    onForget: (name) => plane.forget(name),
  }));
  // Changes another gateway (a cluster store's feed) or another process (--processes) made: re-read what they name.
  const applyRemote = async (kind: ChangeKind, names: string[]) => {
    if (kind === 'function') await registry.applyRemote(names);
    else plane.tenantsChanged(names);
  };
  // Rate limits: each gateway of a cluster, and each process of a gateway, admits its share.
  let gateways = 1;
  let processes = 1;
  const share = () => plane.limits.setShare(gateways * processes);
  if (cluster) {
    lifecycle.problem = () => cluster.problem();
    cluster.onMembers((n) => {
      gateways = n;
      share();
    });
    cluster.onRemote(applyRemote, () => {
      plane.tenantsChanged(plane.tenants.list().map((t) => t.name));
      void registry.applyRemote([...new Set([...registry.loadedNames(), ...registry.list().map((f) => f.name)])]);
    });
  }
  if (group) {
    plane.announceTenants = (names) => group.announce('tenant', names);
    group.relayLogs(plane.logs);
    group.onSize((n) => {
      processes = n;
      share();
    });
    group.onRemote(applyRemote);
  }
  const app = createApp({
    runtime,
    registry,
    plane,
    scheduler,
    metrics,
    lifecycle,
    logger,
    adminToken,
    maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    maxDeployBytes: opts.maxDeployBytes ?? DEFAULT_MAX_DEPLOY_BYTES,
    bodyTimeoutMs,
    bodyBudget: new BodyBudget(opts.maxBufferedBodyBytes ?? DEFAULT_MAX_BUFFERED_BODY_BYTES),
    kv,
    sampler,
    sessions,
    signingKey,
    consoleHost,
    mcp: opts.mcp,
    accessLogSample: logSample,
    processSlot: group?.slot,
  });

  let server: Server;
  try {
    server = await listen(app.fetch, opts.port ?? 8080, opts.host ?? '127.0.0.1', bodyTimeoutMs);
  } catch (err) {
    sampler.stop();
    sessions.stop();
    for (const part of parts.values()) part.stop();
    await runtime.close();
    await closeAll(bindingHosts);
    await closeStores();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const host = opts.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url }, 'listening');
  opts.onListening?.(url);

  let watcher: DirectoryWatcher | undefined;
  let forgetter: NodeJS.Timeout | undefined;
  const functionIdleTtlMs = opts.functionIdleTtlMs ?? DEFAULT_FUNCTION_IDLE_TTL_MS;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      lifecycle.phase = 'closed';
      sampler.stop();
      sessions.stop();
      clearInterval(forgetter);
      plane.stopStreams();
      watcher?.close();
      await dirSync?.stop();
      for (const part of parts.values()) part.stop();
      scheduler.rejectWaiting(new FaasError('unavailable', 'the gateway is shutting down', { retryAfterSeconds: 1 }));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await runtime.close();
      await closeAll(bindingHosts);
      await closeStores();
      logger.info('closed');
    })());

  let startup: Gateway['startup'];
  try {
    const loaded = registry.start();
    plane.init(registry);
    // a log line's buffer belongs to the function's tenant: loaded functions answer from memory
    plane.logs.ownerOf = (fn) => runtime.get(fn)?.tenant ?? registry.get(fn)?.tenant;
    for (const part of parts.values()) part.sync();
    dirSync = opts.functionsDir ? await DirectorySync.start(registry, opts.functionsDir, logger, opts.checkEntry) : undefined;
    const fromDir = dirSync?.beforeReady ?? [];
    for (const o of fromDir) {
      if (o.outcome === 'error') logger.error({ function: o.name, error: o.error.code }, o.error.message);
    }
    startup = {
      registry: loaded,
      functionsDir: fromDir,
      functionsDirSynced: dirSync?.finished ?? Promise.resolve({ entries: 0, beforeReady: 0, unchanged: 0, changed: [], ms: 0, stopped: false }),
    };
    lifecycle.functionsDir = () => (dirSync ? (dirSync.pending > 0 ? 'syncing' : 'synced') : undefined);
    if (opts.watch && opts.functionsDir) {
      watcher = new DirectoryWatcher(opts.functionsDir, registry, (o) => {
        if (o.outcome === 'error') logger.error({ function: o.name, error: o.error.code }, o.error.message);
        opts.onWatch?.(o);
      }, undefined, opts.checkEntry);
    }
  } catch (err) {
    await close();
    throw err;
  }
  // Changes other processes made while this one started are applied before it serves.
  await group?.caughtUp();
  if (lifecycle.phase === 'starting') lifecycle.phase = 'ready';
  logger.info({ functions: registry.count() }, 'ready');
  // Functions nobody asked for in a while leave the runtime (they stay deployed; see Registry.materialize).
  forgetter = every(Math.min(60_000, functionIdleTtlMs), () => registry.forgetIdle(functionIdleTtlMs));

  return {
    url,
    port,
    runtime,
    workers: runtime instanceof WorkerPool ? runtime : undefined,
    registry,
    plane,
    cron,
    kv,
    sampler,
    cluster,
    adminToken,
    adminTokenGenerated,
    startup,
    get phase() {
      return lifecycle.phase;
    },
    settled: () => watcher?.settled() ?? Promise.resolve(),
    close,
    async drain(graceMs: number) {
      if (lifecycle.phase === 'closed') return close();
      lifecycle.phase = 'draining';
      watcher?.close();
      void dirSync?.stop();
      for (const part of parts.values()) part.stop();
      plane.stopStreams();
      logger.info({ inflight: lifecycle.busy, graceMs }, 'draining');
      let timer: NodeJS.Timeout | undefined;
      const expired = await Promise.race([
        lifecycle.idle().then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
      ]);
      clearTimeout(timer);
      if (expired) logger.warn({ inflight: lifecycle.busy }, 'grace period over; closing with work in flight');
      await close();
    },
  };
}

/** The cluster store's URL, if the gateway has one (bindings keep their shared state there). */
function storeOf(opts: GatewayOptions): string | undefined {
  return isPostgresUrl(opts.store) ? opts.store : undefined;
}

/** Guest execution on the gateway thread (`workers` 0) or on a pool of worker threads. */
async function createFunctionHost(
  opts: GatewayOptions,
  log: (entry: GuestLogEntry) => void,
  logger: Logger,
  egress: EgressCounters,
  bindingHosts: OpsProvider[],
): Promise<FunctionHost> {
  const runtime = { ...opts.runtime, engine: opts.engine, isolation: opts.isolation };
  const workers = opts.workers ?? 0;
  if (workers <= 0) {
    bindingHosts.push(...(await openBindingHosts({ dataDir: opts.dataDir, store: storeOf(opts) })));
    return Runtime.create({ ...runtime, log, ops: { ...gatewayOps(egress), ...mergeOps(bindingHosts) } });
  }
  const started = performance.now();
  const pool = await WorkerPool.create({
    size: workers,
    runtime,
    // Each worker opens the bindings' files itself (KV …); the signing key never leaves this thread.
    ops: [workerOpsModule({ egressCounters: egress.buffer }), ...bindingOpsModules({ dataDir: opts.dataDir, store: storeOf(opts) })],
    log,
    onEvent: (e) => onWorkerEvent(logger, e),
  });
  logger.info({ workers, ms: Math.round(performance.now() - started) }, 'worker threads ready');
  return pool;
}

function onWorkerEvent(logger: Logger, e: WorkerEvent): void {
  switch (e.type) {
    case 'exit':
      logger.error({ worker: e.worker, reason: e.reason, failedInvocations: e.failed, uptimeMs: e.uptimeMs }, 'worker thread died; replacing it');
      return;
    case 'restarted':
      logger.info({ worker: e.worker, ms: e.startMs }, 'worker thread replaced');
      return;
    case 'restart_failed':
      logger.error({ worker: e.worker, reason: e.reason, retryInMs: e.retryInMs }, 'worker thread could not be started');
      return;
    case 'bad_message':
      logger.error({ worker: e.worker, reason: e.reason }, 'dropped a message from a worker thread that could not be handled');
      return;
  }
}

/**
 * Connection limits against slow or idle clients. Request bodies have their own, tighter timeout
 * (`bodyTimeoutMs`, answered with a JSON 408 by the routes); `requestTimeout` is Node's backstop for
 * a request that is never completely received (a body nobody reads, e.g. on a GET), answered 408 and
 * closed. Node checks both every `connectionsCheckingInterval`.
 */
export function serverLimits(bodyTimeoutMs: number): ServerOptions {
  const headersTimeout = 10_000;
  return {
    headersTimeout,
    requestTimeout: headersTimeout + bodyTimeoutMs + 5_000,
    keepAliveTimeout: 5_000,
    connectionsCheckingInterval: 1_000,
    maxHeaderSize: 16 * 1024,
  };
}

function listen(
  fetch: (req: Request, env: any) => Response | Promise<Response>,
  port: number,
  hostname: string,
  bodyTimeoutMs: number,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname, serverOptions: serverLimits(bodyTimeoutMs) }) as Server;
    // Node would answer `Expect: 100-continue` at once, inviting any body; handled as a plain request
    // instead, `100 Continue` goes out only when a route starts reading a body it accepts (readBody).
    server.on('checkContinue', (req, res) => server.emit('request', req, res));
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
