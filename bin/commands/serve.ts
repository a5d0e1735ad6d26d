import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { FaasError } from '../../contract/errors.ts';
import type { Isolation, RuntimeOptions } from '../../runtime/index.ts';
import { startGateway, type Gateway } from '../../gateway/server.ts';
import type { SyncOutcome } from '../../gateway/functions-dir.ts';
import { exitWithError } from './shared.ts';
import { assertTypes } from '../../kit/typecheck.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import { ProcessGroup } from '../../gateway/processes/member.ts';
import { SYNC_ENV } from '../../gateway/processes/messages.ts';
import { superviseGateways } from '../../gateway/processes/supervisor.ts';

export interface ServeOptions {
  port: string;
  host: string;
  functions: string;
  data: string;
  engine: NonNullable<RuntimeOptions['engine']>;
  isolation?: Isolation;
  workers?: string;
  bodyTimeout?: string;
  keepVersions?: string;
  memoryBudgetMb?: string;
  artifactCacheMb?: string;
  snapshotCacheMb?: string;
  functionIdleTtl?: string;
  consoleHost?: string;
  runCodeAllowedHosts?: string;
  /** "sqlite" or a postgres:// URL (--store, FAAS_STORE). */
  store?: string;
  accessLogSample?: string;
  /** Gateway processes sharing the port: an integer, or "auto" (one per core); --processes, FAAS_PROCESSES. */
  processes?: string;
  watch: boolean;
  /** `faas dev`: typecheck TypeScript entries that have a tsconfig.json (false: --no-check). */
  check?: boolean;
}

const MIB = 1024 * 1024;

/** How long SIGTERM/SIGINT give in-flight requests before the process exits anyway. */
const DRAIN_GRACE_MS = Number(process.env.FAAS_DRAIN_GRACE_MS ?? 10_000);

// Human-readable status goes to stderr; stdout carries the JSON logs.
const say = (line: string) => process.stderr.write(`${line}\n`);

export async function serveCommand(opts: ServeOptions): Promise<void> {
  let gateway: Gateway;
  let workers: number;
  let processes: number;
  let group: ProcessGroup | undefined;
  try {
    processes = parseProcesses(opts.processes);
    const port = parseInteger('--port', opts.port, 0, 65535);
    // One worker thread per core by default (shared by the processes); 0 runs guests on the gateway thread.
    workers = opts.workers === undefined ? Math.max(1, Math.floor(availableParallelism() / processes)) : parseInteger('--workers', opts.workers, 0, 256);
    if (processes > 1 && opts.watch) throw new FaasError('bad_request', '--processes is for faas serve; faas dev runs one process');
    if (processes > 1 && cluster.isPrimary) return supervise(opts, processes, workers);
    const logger = createLogger();
    group = ProcessGroup.join(logger);
    const sync = !group || process.env[SYNC_ENV] === '1';
    const bodyTimeoutMs = opts.bodyTimeout === undefined ? undefined : parseInteger('--body-timeout', opts.bodyTimeout, 1, 3_600_000);
    gateway = await startGateway({
      port,
      host: opts.host,
      // With --processes, the first process alone builds the functions directory (the others are told of its deploys).
      functionsDir: sync ? resolve(opts.functions) : undefined,
      dataDir: resolve(opts.data),
      engine: opts.engine,
      isolation: opts.isolation,
      workers,
      bodyTimeoutMs,
      keepVersions: opts.keepVersions === undefined ? undefined : parseInteger('--keep-versions', opts.keepVersions, 1, 1000),
      functionIdleTtlMs: opts.functionIdleTtl === undefined ? undefined : parseInteger('--function-idle-ttl', opts.functionIdleTtl, 1000, 7 * 86_400_000),
      runtime: {
        memoryBudgetBytes: opts.memoryBudgetMb === undefined ? undefined : parseInteger('--memory-budget-mb', opts.memoryBudgetMb, 8, 1_048_576) * MIB,
        artifactCacheBytes: opts.artifactCacheMb === undefined ? undefined : parseInteger('--artifact-cache-mb', opts.artifactCacheMb, 1, 1_048_576) * MIB,
        snapshotCacheBytes: opts.snapshotCacheMb === undefined ? undefined : parseInteger('--snapshot-cache-mb', opts.snapshotCacheMb, 0, 1_048_576) * MIB,
      },
      store: opts.store,
      accessLogSample: opts.accessLogSample === undefined ? undefined : parseFraction('--access-log-sample', opts.accessLogSample),
      watch: opts.watch,
      consoleHost: opts.consoleHost,
      checkEntry: opts.watch && opts.check !== false ? (path) => assertTypes(path) : undefined,
      ...(opts.runCodeAllowedHosts ? { mcp: { runCode: { allowedHosts: opts.runCodeAllowedHosts.split(',').map((h) => h.trim()).filter(Boolean) } } } : {}),
      logger: group ? logger.child({ process: group.slot }) : logger,
      group,
      onListening: (url) => (group ? group.send({ t: 'listening', url }) : say(`faas gateway listening on ${url} (loading functions…)`)),
      onWatch: (o) => say(describe(o)),
    });
  } catch (err) {
    exitWithError(err);
  }
  if (group) return member(gateway, group);
  for (const o of gateway.startup.functionsDir) if (o.outcome !== 'unchanged') say(describe(o));
  if (gateway.adminTokenGenerated) say(`admin token (generated; set FAAS_ADMIN_TOKEN to choose one): ${gateway.adminToken}`);
  const threads = workers === 0 ? 'guests on the gateway thread' : `${workers} worker thread${workers === 1 ? '' : 's'}`;
  say(`ready: ${gateway.registry.count()} function(s) at ${gateway.url}/fn/<name> (${threads})${opts.watch ? `; watching ${opts.functions}` : ''}`);
  say(`console: ${consoleUrl(gateway.url, opts.consoleHost ?? process.env.FAAS_CONSOLE_HOST)} (sign in with the admin token or a tenant token)`);
  // the directory's entries the registry already had are checked after ready (served by the registry meanwhile)
  void gateway.startup.functionsDirSynced.then((r) => {
    for (const o of r.changed) if (!gateway.startup.functionsDir.includes(o)) say(describe(o));
    const deployed = r.changed.filter((o) => o.outcome === 'deployed').length;
    say(
      `functions directory ${r.stopped ? 'sync stopped' : 'synced'}: ${r.entries} entr${r.entries === 1 ? 'y' : 'ies'}, ${r.unchanged} unchanged, ${deployed} deployed, ${r.changed.length - deployed} failed, in ${r.ms} ms`,
    );
  });

  let signalled = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) {
      say(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    signalled = true;
    say(`${signal}: draining (up to ${DRAIN_GRACE_MS} ms)`);
    gateway.drain(DRAIN_GRACE_MS).then(
      () => process.exit(0),
      (err) => exitWithError(err),
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

/** `--processes n`: this process supervises n gateway processes and serves nothing itself. */
function supervise(opts: ServeOptions, processes: number, workers: number): void {
  const envToken = process.env.FAAS_ADMIN_TOKEN?.trim();
  // One token for every process, chosen here when none was given.
  const adminToken = envToken || randomBytes(24).toString('base64url');
  superviseGateways({
    processes,
    logger: createLogger().child({ supervisor: true }),
    say,
    graceMs: DRAIN_GRACE_MS,
    ackMs: process.env.FAAS_PROCESS_ACK_MS ? parseInteger('FAAS_PROCESS_ACK_MS', process.env.FAAS_PROCESS_ACK_MS, 100, 600_000) : undefined,
    env: { FAAS_ADMIN_TOKEN: adminToken },
    onReady: (url, functions) => {
      if (!envToken) say(`admin token (generated; set FAAS_ADMIN_TOKEN to choose one): ${adminToken}`);
      const threads = workers === 0 ? 'guests on each process\'s thread' : `${workers} worker thread${workers === 1 ? '' : 's'} each`;
      say(`ready: ${functions} function(s) at ${url}/fn/<name> (${processes} processes, ${threads})`);
      say(`console: ${consoleUrl(url, opts.consoleHost ?? process.env.FAAS_CONSOLE_HOST)} (sign in with the admin token or a tenant token)`);
    },
  });
}

/** A gateway process of `--processes n`: it reports to the supervisor, and drains when told to (or when the supervisor is gone). */
function member(gateway: Gateway, group: ProcessGroup): void {
  for (const o of gateway.startup.functionsDir) if (o.outcome !== 'unchanged') say(describe(o));
  let draining = false;
  const drain = (graceMs: number) => {
    if (draining) return;
    draining = true;
    gateway.drain(graceMs).then(
      () => process.exit(0),
      (err) => exitWithError(err),
    );
  };
  group.onDrain = (graceMs) => drain(graceMs ?? DRAIN_GRACE_MS);
  // Ctrl-C reaches every process of the terminal's group: each drains, as the supervisor asks them to.
  process.on('SIGTERM', () => drain(DRAIN_GRACE_MS));
  process.on('SIGINT', () => drain(DRAIN_GRACE_MS));
  group.send({ t: 'ready', functions: gateway.registry.count() });
}

/** `--processes`: an integer, or "auto" for one per core. Default 1. */
function parseProcesses(raw: string | undefined): number {
  if (raw === undefined) return 1;
  if (raw.trim() === 'auto') return availableParallelism();
  return parseInteger('--processes', raw, 1, 256);
}

function describe(o: SyncOutcome): string {
  switch (o.outcome) {
    case 'deployed':
      return `deployed ${o.name} v${o.version}`;
    case 'unchanged':
      return `unchanged ${o.name} v${o.version}`;
    case 'removed':
      return `removed ${o.name}`;
    case 'error':
      // Compile errors already read `file:line:col: message`.
      return o.error.code === 'compile_error' ? o.error.message : `error: ${o.name}: ${o.error.code}: ${o.error.message}`;
  }
}

function parseFraction(flag: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new FaasError('bad_request', `${flag} must be a number from 0 to 1 (got "${raw}")`);
  return n;
}

function parseInteger(flag: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new FaasError('bad_request', `${flag} must be an integer ${min}-${max} (got "${raw}")`);
  return n;
}

/** Where the web console answers: on the console host when one is set (same port), else on the gateway's URL. */
function consoleUrl(url: string, host: string | undefined): string {
  if (!host?.trim()) return `${url}/console`;
  const u = new URL(url);
  u.hostname = host.trim();
  return `${u.origin}/console`;
}
