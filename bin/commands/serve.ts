import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { FaasError } from '../../contract/errors.ts';
import type { Isolation, RuntimeOptions } from '../../runtime/index.ts';
import { startGateway, type Gateway } from '../../gateway/server.ts';
import type { SyncOutcome } from '../../gateway/functions-dir.ts';
import { exitWithError } from './shared.ts';
import { assertTypes } from '../../kit/typecheck.ts';

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
  try {
    const port = parseInteger('--port', opts.port, 0, 65535);
    // One worker thread per core by default; 0 runs guests on the gateway thread.
    workers = opts.workers === undefined ? availableParallelism() : parseInteger('--workers', opts.workers, 0, 256);
    const bodyTimeoutMs = opts.bodyTimeout === undefined ? undefined : parseInteger('--body-timeout', opts.bodyTimeout, 1, 3_600_000);
    gateway = await startGateway({
      port,
      host: opts.host,
      functionsDir: resolve(opts.functions),
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
      onListening: (url) => say(`faas gateway listening on ${url} (loading functions…)`),
      onWatch: (o) => say(describe(o)),
    });
  } catch (err) {
    exitWithError(err);
  }
  for (const o of gateway.startup.functionsDir) if (o.outcome !== 'unchanged') say(describe(o));
  if (gateway.adminTokenGenerated) say(`admin token (generated; set FAAS_ADMIN_TOKEN to choose one): ${gateway.adminToken}`);
  const threads = workers === 0 ? 'guests on the gateway thread' : `${workers} worker thread${workers === 1 ? '' : 's'}`;
  say(`ready: ${gateway.registry.count()} function(s) at ${gateway.url}/fn/<name> (${threads})${opts.watch ? `; watching ${opts.functions}` : ''}`);
  say(`console: ${consoleUrl(gateway.url, opts.consoleHost ?? process.env.FAAS_CONSOLE_HOST)} (sign in with the admin token or a tenant token)`);

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
