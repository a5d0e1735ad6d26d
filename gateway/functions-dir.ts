import { createHash } from 'node:crypto';
import { existsSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { basename, extname, join, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { defaultConfigPath, readConfigFile } from '../contract/config.ts';
import { bundleEntry } from '../compiler/index.ts';
import { bundleSource } from './bundle-source.ts';
import { canonicalJson } from '../contract/artifact.ts';
import { FUNCTION_NAME, parseFunctionConfig } from '../contract/config.ts';
import { DEFAULT_TENANT } from '../contract/tenants.ts';
import { FaasError, isFaasError } from '../contract/errors.ts';
import type { Registry } from './registry/registry.ts';

const ENTRY = /\.(?:ts|js)$/;
/** Entries checked (or built) at once when the directory is synced. */
const SYNC_CONCURRENCY = 16;
/** The background sync yields to the event loop (requests, timers) after each batch of this many entries. */
const SYNC_BATCH = 64;

export interface DirEntry {
  name: string;
  path: string;
}

export type SyncOutcome =
  | { name: string; outcome: 'deployed'; version: number }
  | { name: string; outcome: 'unchanged'; version: number }
  | { name: string; outcome: 'removed' }
  | { name: string; outcome: 'error'; error: FaasError };

/**
 * The functions directory: every `<name>.ts|js` is a function, configured by `<name>.faas.json`
 * beside it. Files starting with `_` (deliberately bad examples, shared helpers) and type
 * declarations are not functions.
 */
export function listEntries(dir: string, logger?: Logger): DirEntry[] {
  return entriesOf(dir, readdirSync(dir), logger);
}

/** Plain string work per file (no path functions): a directory of 100,000 files is read in tens of ms. */
function entriesOf(dir: string, files: string[], logger?: Logger): DirEntry[] {
  const byName = new Map<string, DirEntry>();
  // join() keeps the trailing separator: `prefix + file` is join(dir, file) for a plain file name
  const prefix = join(dir, sep);
  for (const file of files.sort()) {
    if (!isEntryFile(file)) continue;
    const name = file.slice(0, -3); // ENTRY: ".ts" or ".js"
    if (!FUNCTION_NAME.test(name)) {
      logger?.warn({ file: prefix + file }, `not served: "${name}" is not a valid function name (${FUNCTION_NAME.source})`);
      continue;
    }
    const existing = byName.get(name);
    // hello.ts and hello.js side by side: the TypeScript one is the source, the JS one likely its output.
    if (existing?.path.endsWith('.ts')) continue;
    byName.set(name, { name, path: prefix + file });
  }
  return [...byName.values()];
}

function isEntryFile(file: string): boolean {
  return ENTRY.test(file) && !file.startsWith('_') && !file.startsWith('.') && !file.endsWith('.d.ts');
}

/**
 * Deploys a directory entry unless the registry already has exactly this bundle and config live.
 * A restart does not even bundle an entry whose files (the entry, everything it bundled, its config)
 * have the size and modification time recorded when it was last built: with many functions, start-up
 * costs a few stat calls per function instead of a bundle each. Otherwise it is bundled (cheap) and
 * compiled only if the bundle or config changed (not cheap).
 */
export function syncEntry(registry: Registry, entry: DirEntry, check?: (path: string) => Promise<unknown>, changedSince?: ReadonlySet<string>): Promise<SyncOutcome> {
  // one sync of a name at a time: the background pass after start and the watcher may meet on one
  let chains = syncing.get(registry);
  if (!chains) syncing.set(registry, (chains = new Map()));
  const run = (chains.get(entry.name) ?? Promise.resolve()).then(() => syncEntryNow(registry, entry, check, changedSince));
  chains.set(entry.name, run);
  void run.then(() => {
    if (chains.get(entry.name) === run) chains.delete(entry.name);
  });
  return run;
}

const syncing = new WeakMap<Registry, Map<string, Promise<SyncOutcome>>>();

/**
 * `changedSince`: the background check after start passes the names deployed or deleted (through the
 * API, another process or gateway) since the gateway started. Those were changed after the files were
 * read as the truth: a deploy made after ready stays, a function deleted after ready stays deleted.
 */
async function syncEntryNow(registry: Registry, entry: DirEntry, check?: (path: string) => Promise<unknown>, changedSince?: ReadonlySet<string>): Promise<SyncOutcome> {
  const leftAlone = () => {
    if (changedSince?.has(entry.name)) {
      throw new FaasError('conflict', `function "${entry.name}" was deployed or deleted since the gateway started: its file in the functions directory was not deployed over that (restart, or touch the file under faas dev, to deploy it)`);
    }
  };
  try {
    leftAlone();
    const current = registry.get(entry.name);
    const recorded = registry.dirEntry(entry.name);
    if (current && recorded && current.origin === 'dir' && current.sourceHash === recorded.sourceHash && (await fingerprintOf(recorded.fingerprint)) === recorded.fingerprint) {
      return { name: entry.name, outcome: 'unchanged', version: current.version };
    }
    // a FIFO (or a device) would hold the bundler, and with it start-up or the background check, until written
    if (!(await stat(entry.path)).isFile()) throw new FaasError('bad_request', `${entry.path}: not a regular file`);
    const config = parseFunctionConfig(readConfigFile(entry.path));
    await check?.(entry.path);
    const bundle = await bundleEntry(entry.path);
    const sourceHash = createHash('sha256').update(bundle.code).update('\0').update(bundle.map).update('\0').update(canonicalJson(config)).digest('hex');
    const files = [...bundle.inputs.map((i) => resolve(i)), defaultConfigPath(entry.path)];
    const fingerprint = await fingerprintOf(JSON.stringify(files.map((f) => [f])));
    if (current && current.sourceHash === sourceHash) {
      registry.setDirEntry(entry.name, fingerprint, sourceHash);
      return { name: entry.name, outcome: 'unchanged', version: current.version };
    }
    const rec = await registry.deploy(entry.name, { entry: entry.path, source: bundleSource(bundle), filename: bundle.fileName, origin: 'dir', sourceHash }, config, {
      tenant: DEFAULT_TENANT,
      precondition: leftAlone,
    });
    registry.setDirEntry(entry.name, fingerprint, sourceHash);
    return { name: entry.name, outcome: 'deployed', version: rec.version };
  } catch (err) {
    return { name: entry.name, outcome: 'error', error: isFaasError(err) ? err : new FaasError('internal_error', (err as Error).message) };
  }
}

/**
 * `[[path, size, mtimeMs] …]` for the files a recorded fingerprint lists (a missing file is `null`),
 * as the JSON text it is compared as.
 */
async function fingerprintOf(recorded: string): Promise<string> {
  let files: [string][];
  try {
    files = (JSON.parse(recorded) as unknown[][]).map((f) => [String(f[0])]);
  } catch {
    return '';
  }
  const stats = await Promise.all(files.map(([f]) => stat(f).then((s) => [f, s.size, s.mtimeMs] as const, () => [f, null, null] as const)));
  return JSON.stringify(stats);
}

/** Syncs `entries`, SYNC_CONCURRENCY at a time (mostly stat calls on a restart; compiles still queue on the compile thread). */
async function syncAll(
  registry: Registry,
  entries: readonly DirEntry[],
  check?: (path: string) => Promise<unknown>,
  stopped = () => false,
  changedSince?: ReadonlySet<string>,
): Promise<SyncOutcome[]> {
  const outcomes: SyncOutcome[] = [];
  let next = 0;
  const lane = async () => {
    while (next < entries.length && !stopped()) {
      const i = next++;
      outcomes[i] = await syncEntry(registry, entries[i]!, check, changedSince);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SYNC_CONCURRENCY, entries.length) }, lane));
  return outcomes.filter((o) => o !== undefined);
}

/** What the functions directory's sync at start did, once it finished (see DirectorySync). */
export interface DirSyncReport {
  /** Entries in the directory. */
  entries: number;
  /** Of those, new ones (no function of that name in the registry), synced before the gateway was ready. */
  beforeReady: number;
  /** Entries found unchanged (a few stat calls each). */
  unchanged: number;
  /** Every entry that was deployed or failed, before ready or after. */
  changed: SyncOutcome[];
  /** From the start of the sync to its end. */
  ms: number;
  /** The gateway closed (or drained) before the sync got through the directory. */
  stopped: boolean;
}

/**
 * The functions directory at start, without making readiness wait for it. Entries whose name the
 * registry does not have (new files) are deployed before the gateway is ready, since nothing could
 * serve them otherwise; every other entry is served at once by the registry's version and checked
 * in the background, in batches that yield to the event loop, so requests are served meanwhile. An
 * entry whose files changed while the gateway was down is redeployed when the background pass
 * reaches it: until then its requests get the version the registry had.
 */
export class DirectorySync {
  /** Outcomes of the new entries, synced before ready. */
  beforeReady: SyncOutcome[] = [];
  /** Entries the background pass has not checked yet. */
  pending = 0;
  /** Settles (never rejects) when the background pass is done, or stopped. */
  readonly finished: Promise<DirSyncReport>;
  private stopped = false;
  private resolveFinished!: (report: DirSyncReport) => void;
  private readonly started = performance.now();
  /** Names deployed or deleted since the sync started, by anything but the sync itself: the background check leaves them as they are. */
  private readonly changes: { changed: ReadonlySet<string>; stop(): void };

  private constructor(
    private readonly registry: Registry,
    private readonly logger: Logger,
    private readonly check?: (path: string) => Promise<unknown>,
  ) {
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.changes = registry.watchChanges();
  }

  /** Reads the directory and deploys its new entries; the rest is checked in the background (see `finished`). */
  static async start(registry: Registry, dir: string, logger: Logger, check?: (path: string) => Promise<unknown>): Promise<DirectorySync> {
    const sync = new DirectorySync(registry, logger, check);
    if (!existsSync(dir)) {
      logger.warn({ dir }, 'functions directory does not exist; serving registered functions only');
      sync.finish(0, []);
      return sync;
    }
    const entries = entriesOf(dir, await readdir(dir), logger);
    // one read of the names (an index, no config parsed), not a row per entry
    const known = new Set(registry.names());
    const fresh = entries.filter((e) => !known.has(e.name));
    const rest = entries.filter((e) => known.has(e.name));
    known.clear();
    sync.beforeReady = await syncAll(registry, fresh, check);
    sync.pending = rest.length;
    void sync.background(entries.length, rest);
    return sync;
  }

  /** Stops the background pass after the entries under way; resolves when it has stopped. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.finished;
  }

  private async background(total: number, entries: DirEntry[]): Promise<void> {
    const changed = this.beforeReady.filter((o) => o.outcome !== 'unchanged');
    let unchanged = this.beforeReady.length - changed.length;
    try {
      for (let from = 0; from < entries.length && !this.stopped; from += SYNC_BATCH) {
        await nextTurn();
        const batch = entries.slice(from, from + SYNC_BATCH);
        for (const o of await syncAll(this.registry, batch, this.check, () => this.stopped, this.changes.changed)) {
          if (o.outcome === 'unchanged') unchanged++;
          else {
            changed.push(o);
            if (o.outcome === 'error') this.logger.error({ function: o.name, error: o.error.code }, o.error.message);
          }
        }
        this.pending = Math.max(0, entries.length - from - batch.length);
      }
    } catch (err) {
      // syncEntry turns every failure into an outcome: this is a bug, logged, not a crash
      this.logger.error({ err: (err as Error).message }, 'functions directory sync failed');
    }
    this.finish(total, changed, unchanged);
  }

  private finish(entries: number, changed: SyncOutcome[], unchanged = 0): void {
    this.changes.stop();
    const report: DirSyncReport = { entries, beforeReady: this.beforeReady.length, unchanged, changed, ms: Math.round(performance.now() - this.started), stopped: this.stopped };
    if (!this.stopped) this.pending = 0;
    const deployed = changed.filter((o) => o.outcome === 'deployed').length;
    this.logger.info({ entries, beforeReady: report.beforeReady, unchanged, deployed, errors: changed.length - deployed, ms: report.ms, stopped: report.stopped || undefined }, 'functions directory synced');
    this.resolveFinished(report);
  }
}

/**
 * `faas dev`: recompiles and hot-swaps a function when its entry or config changes. Events are
 * debounced per function (editors write a file in several steps) and handled one at a time per
 * function, so the last write always wins.
 */
export class DirectoryWatcher {
  private readonly watcher: FSWatcher;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly chains = new Map<string, Promise<void>>();
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly registry: Registry,
    private readonly onOutcome: (outcome: SyncOutcome) => void,
    private readonly debounceMs = 75,
    private readonly check?: (path: string) => Promise<unknown>,
  ) {
    this.watcher = watch(dir, (_event, file) => {
      if (file) this.touched(file.toString());
    });
  }

  /** Resolves when every change seen so far has been handled. */
  async settled(): Promise<void> {
    while (this.timers.size > 0 || this.chains.size > 0) {
      await Promise.all([...this.chains.values(), new Promise((r) => setTimeout(r, this.debounceMs))]);
    }
  }

  close(): void {
    this.closed = true;
    this.watcher.close();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private touched(file: string): void {
    if (file.endsWith('.faas.json')) return this.schedule(file.slice(0, -'.faas.json'.length));
    if (isEntryFile(file)) return this.schedule(basename(file, extname(file)));
    // A helper such as `_shared.ts` may be imported by any function: recheck them all (unchanged
    // bundles are skipped by their hash).
    if (ENTRY.test(file)) for (const e of listEntries(this.dir)) this.schedule(e.name);
  }

  private schedule(name: string): void {
    if (!FUNCTION_NAME.test(name)) return;
    clearTimeout(this.timers.get(name));
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        const previous = this.chains.get(name) ?? Promise.resolve();
        const next = previous.then(() => this.handle(name));
        this.chains.set(name, next);
        void next.finally(() => {
          if (this.chains.get(name) === next) this.chains.delete(name);
        });
      }, this.debounceMs),
    );
  }

  private async handle(name: string): Promise<void> {
    if (this.closed) return;
    const entry = listEntries(this.dir).find((e) => e.name === name);
    if (entry) {
      this.onOutcome(await syncEntry(this.registry, entry, this.check));
      return;
    }
    // The entry is gone: stop serving it, but only if it came from this directory.
    if (this.registry.get(name)?.origin === 'dir' && (await this.registry.remove(name))) this.onOutcome({ name, outcome: 'removed' });
  }
}
