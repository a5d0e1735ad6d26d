import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { Artifact } from '../../contract/artifact.ts';
import type { FunctionConfig } from '../../contract/config.ts';
import { FaasError } from '../../contract/errors.ts';
import type { GuestLogEntry } from '../host/services.ts';
import { NO_BACKGROUND, type GuestRequest, type InvocationUsage } from '../invocation.ts';
import { LoadedFunction, isArtifactSource, type ArtifactSource } from '../loaded-function.ts';
import type { DeployOptions, FunctionStats, InvokeOptions, RuntimeCounts, RuntimeOptions } from '../runtime.ts';
import { pickWorker } from './affinity.ts';
import type { FunctionHost, HostInvokeResult, SandboxPoolStats, ThreadLoad } from '../function-host.ts';
import { toEpoch, type FromWorker, type OpsModule, type ToWorker, type WorkerInit, type WorkerReport } from './protocol.ts';
import { fromWire, toWire } from '../../contract/errors.ts';
import { StreamPort } from './stream-port.ts';
import { every } from '../../contract/timers.ts';

export interface WorkerPoolOptions {
  /** Worker threads; each runs its own Runtime. At least 1. */
  size: number;
  /** Runtime options every worker's Runtime gets. */
  runtime?: Omit<RuntimeOptions, 'log' | 'ops'>;
  /** Modules each worker imports to build its host operations (see OpsModule). */
  ops?: OpsModule[];
  /** Guest console output and runtime messages from every worker, in order per worker. */
  log?: (entry: GuestLogEntry) => void;
  /** Thread deaths and restarts, for logs and metrics. */
  onEvent?: (event: WorkerEvent) => void;
  /** How often workers send their instance stats unasked (the affinity set is rebuilt from them). Default 1000. */
  reportIntervalMs?: number;
  /**
   * A warm thread is preferred unless it has at least this many more in-flight invocations than
   * the least loaded thread; then the least loaded one gets the work (and becomes warm). Default 2.
   */
  spillThreshold?: number;
  /** V8 heap limits per worker; a worker that runs out is replaced like any other dead one. */
  resourceLimits?: ResourceLimits;
  /** A worker that has not reported ready by then is terminated. Default 60 s. */
  startTimeoutMs?: number;
  /**
   * A worker with work in flight that has sent nothing (not even its periodic report) for longer
   * than the largest CPU limit among that work plus this grace is taken as hung: it is terminated
   * and replaced like a dead one. Default 5000 ms.
   */
  hangGraceMs?: number;
}

export type WorkerEvent =
  | { type: 'exit'; worker: number; reason: string; failed: number; uptimeMs: number }
  | { type: 'restarted'; worker: number; startMs: number }
  | { type: 'restart_failed'; worker: number; reason: string; retryInMs: number }
  | { type: 'bad_message'; worker: number; reason: string };

export const DIED_MESSAGE = 'the worker running this request died';

interface Pending {
  kind: 'invoke' | 'scheduled' | 'control';
  /** name@version of an invocation. */
  key?: string;
  /** The invocation's CPU limit: how long its thread may legitimately be silent. */
  cpuMs?: number;
  resolve(value: any): void;
  reject(err: FaasError): void;
}

interface InflightEntry {
  name: string;
  version: number;
  count: number;
}

class Slot {
  worker: Worker | undefined;
  state: ThreadLoad['state'] = 'starting';
  startedAt = 0;
  /** When the thread last sent anything (performance.now()). */
  lastHeard = 0;
  lastError: string | undefined;
  inflight = 0;
  invocations = 0;
  restarts = 0;
  coldStarts = 0;
  readonly pending = new Map<number, Pending>();
  readonly backgrounds = new Map<number, (usage: InvocationUsage | undefined) => void>();
  /** Function versions (name@version) with a resident instance on this thread, or one starting. */
  warm = new Set<string>();
  report: WorkerReport | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  /** Body streams to and from the current thread (a new one per thread: ids are per thread). */
  streams: StreamPort | undefined;

  constructor(readonly index: number) {}
}

/** Built, a thread runs worker-main.js itself; from source it needs the tsx loader first (worker.js). */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.js' : './worker-main.js', import.meta.url);
/** Never handed to workers: guests cannot read process.env, but a thread has no need for them either. */
const WITHHELD_ENV = ['FAAS_SIGNING_KEY', 'FAAS_ADMIN_TOKEN'];

const keyOf = (name: string, version: number) => `${name}@${version}`;

/**
 * Runs guest code on a pool of worker threads, each with its own Runtime. The gateway thread keeps
 * HTTP, admission (the Scheduler) and the registry; the pool only picks the thread: one that holds a
 * warm instance of the function unless it is clearly busier than the least loaded one. Every thread
 * serves every function. A thread that dies is replaced; only the invocations it was running fail.
 */
export class WorkerPool implements FunctionHost {
  /** Every live version of every function, as the workers have them; the primary (last deployed) separately. */
  private readonly functions = new Map<string, Map<number, { fn: LoadedFunction; options: DeployOptions; source: Artifact | ArtifactSource }>>();
  /** Artifacts being loaded for workers that asked (`need`), so two threads asking at once read it once. */
  private readonly loadingArtifacts = new Map<string, Promise<Artifact>>();
  private readonly primary = new Map<string, LoadedFunction>();
  private readonly slots: Slot[];
  private readonly inflightByFunction = new Map<string, InflightEntry>();
  private readonly opts: Required<Omit<WorkerPoolOptions, 'log' | 'onEvent' | 'resourceLimits'>> & WorkerPoolOptions;
  private seq = 0;
  private turn = 0;
  private closing: Promise<void> | undefined;
  private retiredColdStarts = 0;
  private readonly watchdog: NodeJS.Timeout;
  restarts = 0;

  private constructor(options: WorkerPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new FaasError('bad_request', `a worker pool needs at least one worker (got ${options.size})`);
    this.opts = {
      runtime: {},
      ops: [],
      reportIntervalMs: 1000,
      spillThreshold: 2,
      startTimeoutMs: 60_000,
      hangGraceMs: 5000,
      ...stripUndefined(options),
      size: options.size,
    };
    this.slots = Array.from({ length: options.size }, (_, i) => new Slot(i));
    this.watchdog = every(Math.max(250, Math.min(1000, this.opts.hangGraceMs / 2)), () => this.checkHung());
  }

  /** Starts every worker; resolves once all of them are ready to serve. */
  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    try {
      await Promise.all(pool.slots.map((s) => pool.start(s)));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  get coldStarts(): number {
    return this.slots.reduce((n, s) => n + s.coldStarts, this.retiredColdStarts);
  }

  /** Every worker gets the version before the promise resolves; invocations issued after this call already see it. */
  async deploy(name: string, version: number, artifact: Artifact | ArtifactSource, config: FunctionConfig, options: DeployOptions = {}): Promise<LoadedFunction> {
    // The pool keeps metadata only: a worker asks for the artifact when it first starts the function.
    const fn = new LoadedFunction(name, version, isArtifactSource(artifact) ? artifact : { sha256: artifact.header.sha256, load: async () => artifact }, config, options.tenant);
    let versions = this.functions.get(name);
    if (!versions) this.functions.set(name, (versions = new Map()));
    const keep = new Set(options.alongside ?? []);
    for (const v of [...versions.keys()]) if (v === version || !keep.has(v)) versions.delete(v);
    versions.set(version, { fn, options, source: artifact });
    const primary = this.primary.get(name);
    if (!options.secondary || !primary || versions.get(primary.version)?.fn !== primary) this.primary.set(name, fn);
    await this.broadcast({ t: 'deploy', id: 0, name, version, sha256: fn.sha256, config, options });
    return fn;
  }

  async undeploy(name: string): Promise<boolean> {
    if (!this.functions.delete(name)) return false;
    this.primary.delete(name);
    await this.broadcast({ t: 'undeploy', id: 0, name });
    return true;
  }

  get(name: string, version?: number): LoadedFunction | undefined {
    return version === undefined ? this.primary.get(name) : this.functions.get(name)?.get(version)?.fn;
  }

  list(): LoadedFunction[] {
    return [...this.primary.values()];
  }

  versions(name: string): number[] {
    return [...(this.functions.get(name)?.keys() ?? [])];
  }

  invoke(name: string, req: GuestRequest, options: InvokeOptions = {}): Promise<HostInvokeResult> {
    return this.dispatch<HostInvokeResult>('invoke', name, options, (id, deadline, slot) => {
      const { stream, ...whole } = req;
      // a streamed request body is exported to the thread, which pulls it as the guest reads
      const wire = stream ? { ...whole, bodyStream: slot.streams!.export(stream) } : whole;
      return { msg: { t: 'invoke', id, name, version: options.version, req: wire, requestId: options.requestId, deadline }, transfer: req.body ? [req.body] : [] };
    }).catch((err) => {
      req.stream?.cancel('refused');
      throw err;
    });
  }

  scheduled(name: string, controller: { cron: string; scheduledTime: number }, options: InvokeOptions = {}): Promise<void> {
    return this.dispatch('scheduled', name, options, (id, deadline) => ({
      msg: { t: 'scheduled', id, name, controller, requestId: options.requestId, deadline },
      transfer: [],
    }));
  }

  /** Instances and heap from the workers' latest reports; in-flight counts are live. */
  /** Deployed: what the pool knows; loaded, resident and evictions: summed over the threads' last reports. */
  counts(): RuntimeCounts {
    let deployed = 0;
    for (const versions of this.functions.values()) deployed += versions.size;
    const out: RuntimeCounts = { deployed, loaded: 0, loadedBytes: 0, resident: 0, instanceEvictions: 0, artifactEvictions: 0, snapshots: 0, snapshotBytes: 0, restoredStarts: 0 };
    for (const slot of this.slots) {
      const c = slot.report?.counts;
      if (!c || slot.state === 'dead') continue;
      out.loaded += c.loaded;
      out.loadedBytes += c.loadedBytes;
      out.resident += c.resident;
      out.instanceEvictions += c.instanceEvictions;
      out.artifactEvictions += c.artifactEvictions;
      out.snapshots += c.snapshots ?? 0;
      out.snapshotBytes += c.snapshotBytes ?? 0;
      out.restoredStarts += c.restoredStarts ?? 0;
    }
    return out;
  }

  stats(): FunctionStats[] {
    const out = new Map<string, FunctionStats>();
    const entry = (name: string, version: number) => {
      const key = keyOf(name, version);
      let e = out.get(key);
      if (!e) out.set(key, (e = { name, version, instances: 0, heapBytes: 0, inflight: 0 }));
      return e;
    };
    for (const slot of this.slots) {
      if (slot.state === 'dead') continue;
      for (const s of slot.report?.stats ?? []) {
        const e = entry(s.name, s.version);
        e.instances += s.instances;
        e.heapBytes += s.heapBytes;
      }
    }
    for (const f of this.inflightByFunction.values()) entry(f.name, f.version).inflight = f.count;
    return [...out.values()];
  }

  poolStats(): SandboxPoolStats[] {
    const out = new Map<string, SandboxPoolStats>();
    for (const slot of this.slots) {
      if (slot.state === 'dead') continue;
      for (const p of slot.report?.poolStats ?? []) {
        const e = out.get(p.isolation) ?? { isolation: p.isolation, ready: 0, created: 0, misses: 0 };
        e.ready += p.ready;
        e.created += p.created;
        e.misses += p.misses;
        out.set(p.isolation, e);
      }
    }
    return [...out.values()];
  }

  /** Asks every ready worker for fresh stats; a worker busy for longer than `timeoutMs` keeps its last report. */
  async refreshStats(timeoutMs = 500): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const asked = this.slots.filter((s) => s.state === 'ready').map((s) => this.request(s, { t: 'stats', id: 0 }));
    await Promise.race([Promise.all(asked), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  threads(): ThreadLoad[] {
    return this.slots.map((s) => ({ worker: s.index, state: s.state, inflight: s.inflight, invocations: s.invocations, restarts: s.restarts, warm: s.warm.size }));
  }

  /**
   * Test and drill hook: makes one worker thread fail the way real ones do. `terminate` stops it
   * from outside (like an out-of-memory of the thread), `throw` raises an uncaught error inside it
   * (like an engine trap that escapes), `hang` blocks its event loop for `hangMs` (like a host call
   * that never returns; the watchdog terminates it). The pool replaces the thread as after any death.
   */
  simulateFault(index: number, fault: 'terminate' | 'throw' | 'hang', hangMs = 60_000): void {
    const worker = this.slots[index]?.worker;
    if (!worker) throw new Error(`no worker in slot ${index}`);
    if (fault === 'terminate') void worker.terminate();
    else worker.postMessage({ t: 'fault', fault, hangMs } satisfies ToWorker);
  }

  /** Fails what is in flight with `unavailable`, asks every worker to close, and terminates stragglers. */
  close(): Promise<void> {
    clearInterval(this.watchdog);
    this.closing ??= (async () => {
      await Promise.all(
        this.slots.map(async (slot) => {
          clearTimeout(slot.restartTimer);
          const worker = slot.worker;
          if (!worker || slot.state === 'dead') return;
          const exited = new Promise((resolve) => worker.once('exit', resolve));
          worker.postMessage({ t: 'close', id: 0 } satisfies ToWorker);
          const timer = setTimeout(() => void worker.terminate(), 2000);
          await exited;
          clearTimeout(timer);
        }),
      );
    })();
    return this.closing;
  }

  private dispatch<T>(
    kind: 'invoke' | 'scheduled',
    name: string,
    options: InvokeOptions,
    build: (id: number, deadline: number, slot: Slot) => { msg: ToWorker; transfer: ArrayBuffer[] },
  ): Promise<T> {
    const fn = this.get(name, options.version);
    if (!fn) return Promise.reject(new FaasError('not_found', `function "${name}" is not deployed`));
    if (this.closing) return Promise.reject(new FaasError('unavailable', 'the gateway is shutting down', { retryAfterSeconds: 1 }));
    const key = keyOf(name, fn.version);
    const slot = pickWorker(this.slots, key, this.opts.spillThreshold, this.turn++);
    if (!slot) return Promise.reject(new FaasError('unavailable', 'no worker thread is running', { retryAfterSeconds: 1 }));
    const deadline = options.deadline ?? performance.now() + fn.config.timeoutMs;
    const id = ++this.seq;
    const { msg, transfer } = build(id, toEpoch(deadline), slot);
    slot.inflight++;
    slot.invocations++;
    slot.warm.add(key);
    const f = this.inflightByFunction.get(key);
    if (f) f.count++;
    else this.inflightByFunction.set(key, { name, version: fn.version, count: 1 });
    return new Promise<T>((resolve, reject) => {
      slot.pending.set(id, { kind, key, cpuMs: fn.config.cpuMs, resolve, reject });
      try {
        post(slot.worker!, msg, transfer);
      } catch (err) {
        this.settle(slot, id);
        reject(new FaasError('internal_error', `could not hand the invocation to a worker: ${(err as Error).message}`));
      }
    });
  }

  /** Sends to every live worker; resolves when all answered (a worker that dies meanwhile counts as answered). */
  private async broadcast(msg: Extract<ToWorker, { t: 'deploy' | 'undeploy' }>): Promise<void> {
    const answers = this.slots.filter((s) => s.worker && s.state !== 'dead').map((s) => this.request(s, msg));
    const results = await Promise.allSettled(answers);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private request(slot: Slot, msg: Extract<ToWorker, { id: number }>): Promise<unknown> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { kind: 'control', resolve, reject });
      post(slot.worker!, { ...msg, id });
    });
  }

  private start(slot: Slot): Promise<void> {
    const init: WorkerInit = { runtime: this.opts.runtime, ops: this.opts.ops, reportIntervalMs: this.opts.reportIntervalMs };
    const env = { ...process.env };
    for (const k of WITHHELD_ENV) delete env[k];
    const worker = new Worker(WORKER_URL, { workerData: init, env, resourceLimits: this.opts.resourceLimits, name: `faas-worker-${slot.index}` });
    slot.worker = worker;
    slot.state = 'starting';
    slot.startedAt = slot.lastHeard = performance.now();
    slot.lastError = undefined;
    slot.report = undefined;
    slot.warm = new Set();
    slot.streams = new StreamPort((msg, transfer) => post(worker, msg, transfer));
    // A replacement starts with every live function; later deploys queue behind these.
    for (const versions of this.functions.values()) {
      // older versions first, the primary last: each deploy keeps the ones already sent alive
      const entries = [...versions.values()];
      const primary = this.primary.get(entries[0]!.fn.name);
      entries.sort((a, b) => (a.fn === primary ? 1 : b.fn === primary ? -1 : a.fn.version - b.fn.version));
      const sent: number[] = [];
      for (const { fn, options } of entries) {
        post(worker, { t: 'deploy', id: 0, name: fn.name, version: fn.version, sha256: fn.sha256, config: fn.config, options: { ...options, alongside: [...sent] } });
        sent.push(fn.version);
      }
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        slot.lastError = `did not start within ${this.opts.startTimeoutMs} ms`;
        void worker.terminate();
      }, this.opts.startTimeoutMs);
      worker.on('message', (msg: FromWorker) => {
        if (msg.t === 'ready') {
          clearTimeout(timer);
          slot.state = 'ready';
          resolve();
        } else this.onMessage(slot, msg);
      });
      worker.on('error', (err) => {
        slot.lastError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        const wasReady = slot.state === 'ready';
        this.onExit(slot, code);
        if (!wasReady) reject(new Error(`worker ${slot.index} failed to start: ${slot.lastError ?? `exit code ${code}`}`));
      });
    });
  }

  /**
   * A worker runs guest code: whatever it sends is handled defensively, and a message that makes the
   * handling throw is reported and dropped, never allowed to escape onto the gateway thread.
   */
  private onMessage(slot: Slot, msg: FromWorker): void {
    slot.lastHeard = performance.now();
    try {
      this.handleMessage(slot, msg);
    } catch (err) {
      this.opts.onEvent?.({ type: 'bad_message', worker: slot.index, reason: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Answers a worker's `need` with the verified artifact (or the error loading it gave). */
  private sendArtifact(slot: Slot, id: number, name: string, version: number): void {
    const entry = this.functions.get(name)?.get(version);
    const reply = (m: Extract<ToWorker, { t: 'artifact' }>) => {
      if (slot.worker && slot.state !== 'dead') post(slot.worker, m);
    };
    if (!entry) {
      reply({ t: 'artifact', id, error: toWire(new FaasError('not_found', `version ${version} of function "${name}" is no longer live`)) });
      return;
    }
    const source = entry.source;
    if (!isArtifactSource(source)) {
      reply({ t: 'artifact', id, artifact: source });
      return;
    }
    const key = keyOf(name, version);
    let loading = this.loadingArtifacts.get(key);
    if (!loading) {
      loading = source.load();
      this.loadingArtifacts.set(key, loading);
      const done = () => this.loadingArtifacts.delete(key);
      loading.then(done, done);
    }
    loading.then(
      (artifact) => reply({ t: 'artifact', id, artifact }),
      (err: unknown) => reply({ t: 'artifact', id, error: toWire(err) }),
    );
  }

  private handleMessage(slot: Slot, msg: FromWorker): void {
    if (slot.streams?.handle(msg as { t: string })) return;
    switch (msg.t) {
      case 'log':
        this.opts.log?.(msg.entry);
        return;
      case 'result': {
        const p = this.settle(slot, msg.id);
        if (!p) return;
        slot.coldStarts = msg.coldStarts;
        let background: Promise<InvocationUsage | undefined> = NO_BACKGROUND;
        if (msg.background) background = new Promise((resolve) => slot.backgrounds.set(msg.id, resolve));
        const { bodyStream, ...response } = msg.response;
        p.resolve({
          response: bodyStream === undefined ? response : { ...response, stream: slot.streams!.import(bodyStream) },
          cold: msg.cold,
          coldMs: msg.coldMs,
          execMs: msg.execMs,
          instanceId: msg.instanceId,
          usage: msg.usage,
          background,
          worker: slot.index,
        } satisfies HostInvokeResult);
        return;
      }
      case 'need':
        this.sendArtifact(slot, msg.id, String(msg.name), Number(msg.version));
        return;
      case 'background':
        slot.backgrounds.get(msg.id)?.(msg.usage);
        slot.backgrounds.delete(msg.id);
        return;
      case 'done': {
        const p = this.settle(slot, msg.id);
        if (!p) return;
        if (msg.error) p.reject(fromWire(msg.error));
        else p.resolve(msg.value);
        return;
      }
      case 'report': {
        slot.report = { stats: msg.stats, counts: msg.counts, poolStats: msg.poolStats, coldStarts: msg.coldStarts };
        slot.coldStarts = msg.coldStarts;
        // Rebuilt from what is resident, plus what was sent since (its instance may be starting).
        const warm = new Set(msg.stats.filter((s) => s.instances > 0).map((s) => keyOf(s.name, s.version)));
        for (const p of slot.pending.values()) if (p.key) warm.add(p.key);
        slot.warm = warm;
        if (msg.id !== undefined) this.settle(slot, msg.id)?.resolve(undefined);
        return;
      }
      case 'ready':
        return;
    }
  }

  /** Removes a pending call and undoes its in-flight accounting. */
  private settle(slot: Slot, id: number): Pending | undefined {
    const p = slot.pending.get(id);
    if (!p) return undefined;
    slot.pending.delete(id);
    if (p.kind !== 'control') {
      slot.inflight--;
      const f = this.inflightByFunction.get(p.key!);
      if (f && --f.count === 0) this.inflightByFunction.delete(p.key!);
    }
    return p;
  }

  /** Terminates ready threads that have work in flight but have been silent for too long. */
  private checkHung(): void {
    const now = performance.now();
    for (const slot of this.slots) {
      if (slot.state !== 'ready' || !slot.worker || slot.inflight === 0) continue;
      let cpuMs = 0;
      for (const p of slot.pending.values()) cpuMs = Math.max(cpuMs, p.cpuMs ?? 0);
      const silentMs = now - slot.lastHeard;
      if (silentMs > cpuMs + this.opts.hangGraceMs) {
        slot.lastError = `unresponsive: nothing heard for ${Math.round(silentMs)} ms with ${slot.inflight} invocation(s) in flight`;
        void slot.worker.terminate();
      }
    }
  }

  private onExit(slot: Slot, code: number): void {
    const wasReady = slot.state === 'ready';
    slot.state = 'dead';
    slot.worker = undefined;
    slot.warm = new Set();
    this.retiredColdStarts += slot.coldStarts;
    slot.coldStarts = 0;
    const reason = slot.lastError ?? `exited with code ${code}`;
    const err = this.closing
      ? new FaasError('unavailable', 'the gateway is shutting down', { retryAfterSeconds: 1 })
      : new FaasError('unavailable', DIED_MESSAGE, { retryAfterSeconds: 1 });
    let failed = 0;
    for (const id of [...slot.pending.keys()]) {
      const p = this.settle(slot, id)!;
      if (p.kind === 'control') p.resolve(undefined);
      else {
        failed++;
        p.reject(err);
      }
    }
    for (const resolve of slot.backgrounds.values()) resolve(undefined);
    slot.backgrounds.clear();
    // streamed bodies to and from the dead thread fail (a response is cut off; a request body released)
    slot.streams?.close(err);
    slot.streams = undefined;
    // A thread that fails while starting is handled by whoever started it (create() or respawn()).
    if (this.closing || !wasReady) return;
    slot.restarts++;
    this.restarts++;
    this.opts.onEvent?.({ type: 'exit', worker: slot.index, reason, failed, uptimeMs: Math.round(performance.now() - slot.startedAt) });
    this.respawn(slot, 0);
  }

  private respawn(slot: Slot, attempt: number): void {
    const begun = performance.now();
    this.start(slot).then(
      () => this.opts.onEvent?.({ type: 'restarted', worker: slot.index, startMs: Math.round(performance.now() - begun) }),
      (err: Error) => {
        // A replacement that cannot start is retried with backoff; the other threads keep serving.
        if (this.closing) return;
        const retryInMs = Math.min(5000, 100 * 2 ** attempt);
        this.opts.onEvent?.({ type: 'restart_failed', worker: slot.index, reason: err.message, retryInMs });
        slot.restartTimer = setTimeout(() => this.respawn(slot, attempt + 1), retryInMs);
      },
    );
  }
}

/** Transfers the buffers when possible; what cannot be transferred (a pooled or engine-owned buffer) is copied. */
function post(worker: Worker, msg: ToWorker, transfer: ArrayBuffer[] = []): void {
  if (transfer.length > 0) {
    try {
      worker.postMessage(msg, transfer);
      return;
    } catch {
      // fall through to a copy
    }
  }
  worker.postMessage(msg);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
