import { randomUUID } from 'node:crypto';
import { FaasError } from '../contract/errors.ts';
import { FunctionInstance } from './function-instance.ts';
import { Invocation, type GuestRequest, type GuestResponse, type InvocationUsage } from './invocation.ts';
import { LoadedFunction, type ArtifactSource } from './loaded-function.ts';
import { SandboxPool } from './sandbox-pool.ts';
import { createSandboxFactory, prepareSnapshots } from './engine/index.ts';
import { engineName, type EngineName, type Isolation, type SandboxFactory, type SandboxImage } from './engine/types.ts';
import type { BoundOp, GuestLogEntry, HostServices } from './host/services.ts';
import { DEFAULT_LOG_LIMITS, LogRateLimiter, type LogLimits } from './log-limits.ts';
import { BackgroundCpuBudget, DEFAULT_BACKGROUND_BUDGET, type BackgroundBudgetOptions } from './background-budget.ts';
import type { InstanceEnv } from './function-instance.ts';
import { buildPrelude, buildPreludeSources } from './prelude/build.ts';
import { warmUp } from './warmup.ts';
import type { Artifact } from '../contract/artifact.ts';
import type { FunctionConfig } from '../contract/config.ts';
import { every } from '../contract/timers.ts';

export interface RuntimeOptions {
  /** `quickjs-wasi` (default) or `quickjs-emscripten`; the earlier names `bytecode` and `emscripten` are accepted. */
  engine?: EngineName | 'bytecode' | 'emscripten';
  /** Server default; a function's config may ask for the other mode. */
  isolation?: Isolation;
  /** Blank sandboxes kept ready per isolation mode (0 disables the pool). */
  poolSize?: number;
  /** Resident instances of one function version at most. */
  maxInstancesPerFunction?: number;
  /** In-flight invocations on one instance before another instance is started. */
  instanceConcurrency?: number;
  /** Idle instances are disposed after this long. */
  idleTtlMs?: number;
  /**
   * Guest heap of all resident instances plus the loaded artifacts, together: past it, loaded
   * artifacts no instance is starting from are dropped first, then the least recently used idle instances.
   */
  memoryBudgetBytes?: number;
  /**
   * Bytes of loaded artifacts kept in memory (bytecode, bundle, source map) for functions deployed
   * with an ArtifactSource; past it, the least recently used ones without an instance are dropped
   * (and read again on their next start). Default 64 MiB.
   */
  artifactCacheBytes?: number;
  /**
   * Bytes of instance snapshots kept (isolation "instance": a copy of a function version's WASM
   * memory right after its module loaded, which later instances of that version start from instead of
   * loading it); least recently used ones go past it. Counted in memoryBudgetBytes too. 0 disables
   * snapshots. Default 64 MiB.
   */
  snapshotCacheBytes?: number;
  /** A version is snapshotted when loading its module took at least this long (default 2 ms; see README "Snapshots"). */
  snapshotMinLoadMs?: number;
  /** Guest stack budget per sandbox. */
  maxStackBytes?: number;
  log?: (entry: GuestLogEntry) => void;
  /** Host operations the embedder provides (fetch, KV …). */
  ops?: Record<string, BoundOp>;
  /** Run a representative handler at start so V8 has tiered the engine up (default true). */
  warmup?: boolean;
  /** Isolation "shared": sandboxes per WASM instance before another instance is started. */
  runtimesPerInstance?: number;
  /** Caps on guest console output (per invocation, per function). */
  logLimits?: Partial<LogLimits>;
  /** Guest CPU one function's background work (waitUntil, timers after the response) may use per second, per thread. */
  backgroundCpu?: Partial<BackgroundBudgetOptions>;
}

export interface InvokeOptions {
  requestId?: string;
  /** A live version of the function (a gradual rollout keeps several); default: the newest deployed. */
  version?: number;
  /** Absolute deadline on the performance.now() timeline; defaults to now + timeoutMs. */
  deadline?: number;
}

/** How a version goes live (see Runtime.deploy). */
export interface DeployOptions {
  /** Versions of the same function that stay live beside this one (a gradual rollout); the others are retired. */
  alongside?: readonly number[];
  /** Live beside the primary version without becoming it (a canary); primary anyway when there is none. */
  secondary?: boolean;
  /** The tenant the function belongs to (default "default"). */
  tenant?: string;
}

export interface InvokeResult {
  response: GuestResponse;
  cold: boolean;
  coldMs: number;
  execMs: number;
  instanceId: number;
  /** What the invocation had consumed when it responded. */
  usage: InvocationUsage;
  /**
   * Settles when the invocation's ctx.waitUntil work is done (never rejects): with the whole
   * invocation's usage when there was such work, else with nothing (`usage` is final).
   */
  background: Promise<InvocationUsage | undefined>;
}

/** An instance to run on, and whether it was started for this call. */
interface Acquired {
  instance: FunctionInstance;
  cold: boolean;
}

export interface RuntimeCounts {
  /** Function versions deployed on this runtime. */
  deployed: number;
  /** Of those, versions whose artifact is in memory. */
  loaded: number;
  loadedBytes: number;
  /** Resident instances. */
  resident: number;
  /** Idle instances disposed (idle TTL or the memory budget), and artifacts dropped from memory, since start. */
  instanceEvictions: number;
  artifactEvictions: number;
  /** Versions with a snapshot kept, the bytes those hold, and instances started from one since start. */
  snapshots: number;
  snapshotBytes: number;
  restoredStarts: number;
}

export interface FunctionStats {
  name: string;
  version: number;
  instances: number;
  heapBytes: number;
  inflight: number;
}

const DEFAULTS = {
  engine: 'quickjs-wasi' as EngineName,
  // Measured: shared mode halves unpooled cold starts and uses ~2.4x less memory per function; a
  // function that wants its own linear memory asks for "instance" in its config.
  isolation: 'shared' as Isolation,
  poolSize: 4,
  maxInstancesPerFunction: 8,
  instanceConcurrency: 16,
  idleTtlMs: 5 * 60_000,
  memoryBudgetBytes: 512 * 1024 * 1024,
  artifactCacheBytes: 64 * 1024 * 1024,
  snapshotCacheBytes: 64 * 1024 * 1024,
  snapshotMinLoadMs: 2,
  maxStackBytes: 256 * 1024,
  warmup: true,
  runtimesPerInstance: 64,
};

/** Hosts deployed functions: instantiates them on demand, reuses warm instances, evicts idle ones. */
export class Runtime {
  /** Every live version of every function; a gradual rollout keeps several live at once. */
  private readonly functions = new Map<string, Map<number, LoadedFunction>>();
  /** The version of each function deployed last: what an invocation without a version runs. */
  private readonly primary = new Map<string, LoadedFunction>();
  private readonly instances = new Map<LoadedFunction, Set<FunctionInstance>>();
  /**
   * Instances that were idle when last seen, least recently used first: appended when an instance
   * starts or drains (its lastUsedAt is then the newest), and dropped lazily by whoever walks it (an
   * entry that got work since is skipped and removed; it comes back at the end when it drains again).
   * Eviction walks from the front and stops when done: no sort of every instance per eviction.
   */
  private readonly idleLru = new Map<FunctionInstance, true>();
  /** Σ heapSample over `instances` (re-summed by every sweep, which is the only other place samples change). */
  private residentHeap = 0;
  /** Instances being started, with how many requests already wait for each. */
  private readonly starting = new Map<LoadedFunction, { ready: Promise<FunctionInstance>; waiters: number }[]>();
  private readonly pools = new Map<Isolation, SandboxPool>();
  private readonly opts: typeof DEFAULTS;
  private readonly env: InstanceEnv;
  private sweeper: NodeJS.Timeout | undefined;
  coldStarts = 0;
  private instanceEvictions = 0;
  private artifactEvictions = 0;
  /** Artifacts loaded from an ArtifactSource, least recently started first, with their bytes. */
  private readonly loadedArtifacts = new Map<LoadedFunction, number>();
  private loadedArtifactBytes = 0;
  /** Snapshots of loaded instances, per version (a redeploy is another LoadedFunction), least recently used first. */
  private readonly snapshots = new Map<LoadedFunction, SandboxImage>();
  private snapshotBytes = 0;
  /** Whether this engine can copy sandboxes safely (see prepareSnapshots); set by create(). */
  private snapshotsEnabled = false;
  private restoredStarts = 0;
  /** Versions whose extra load for a snapshot found it could not be copied, or was fast after all. */
  private readonly unsnapshottable = new WeakSet<LoadedFunction>();
  /** Versions a snapshot is being made of (snapshotLater). */
  private readonly snapshotting = new Set<LoadedFunction>();
  /** The environment of the instances snapshots are made from: their console output is not the user's to see twice. */
  private readonly quietEnv: InstanceEnv;

  private constructor(
    private readonly factories: Map<Isolation, SandboxFactory>,
    options: RuntimeOptions,
  ) {
    this.opts = { ...DEFAULTS, ...stripUndefined(options), engine: engineName(options.engine ?? DEFAULTS.engine)! } as typeof DEFAULTS;
    const services: HostServices = { log: options.log ?? (() => {}), ops: options.ops ?? {} };
    const logLimits = { ...DEFAULT_LOG_LIMITS, ...stripUndefined(options.logLimits ?? {}) };
    const backgroundCpu = { ...DEFAULT_BACKGROUND_BUDGET, ...stripUndefined(options.backgroundCpu ?? {}) };
    this.env = { services, logLimits, logRate: new LogRateLimiter(logLimits), background: new BackgroundCpuBudget(backgroundCpu) };
    this.quietEnv = { ...this.env, services: { ...services, log: () => {} } };
    this.sweeper = every(Math.min(10_000, Math.max(50, this.opts.idleTtlMs / 2)), () => this.sweepIdle());
  }

  static async create(options: RuntimeOptions = {}): Promise<Runtime> {
    const engine = engineName(options.engine ?? DEFAULTS.engine);
    if (!engine) throw new FaasError('bad_request', `unknown engine "${options.engine}" (use quickjs-wasi or quickjs-emscripten)`);
    // Engines that cannot load bytecode evaluate the prelude from source.
    const prelude = engine === 'quickjs-wasi' ? { bytecode: await buildPrelude() } : { sources: await buildPreludeSources() };
    const factories = new Map<Isolation, SandboxFactory>();
    for (const isolation of ['instance', 'shared'] as const) {
      factories.set(isolation, createSandboxFactory(engine, isolation, prelude, { runtimesPerInstance: options.runtimesPerInstance ?? DEFAULTS.runtimesPerInstance }));
    }
    const rt = new Runtime(factories, options);
    rt.snapshotsEnabled = rt.opts.snapshotCacheBytes > 0 && (await prepareSnapshots(engine));
    await rt.fillPools();
    if (rt.opts.warmup) {
      await warmUp(rt);
      await rt.fillPools();
    }
    return rt;
  }

  get engine(): EngineName {
    return this.opts.engine;
  }

  get defaultIsolation(): Isolation {
    return this.factories.has(this.opts.isolation) ? this.opts.isolation : 'instance';
  }

  /** Creates the pools and fills the default isolation's one (before the process reports ready). */
  private async fillPools(): Promise<void> {
    for (const [isolation, factory] of this.factories) {
      let pool = this.pools.get(isolation);
      if (!pool) {
        pool = new SandboxPool(factory, this.opts.poolSize, {
          memoryLimitBytes: 16 * 1024 * 1024,
          maxStackBytes: this.opts.maxStackBytes,
        });
        this.pools.set(isolation, pool);
      }
      if (isolation === this.defaultIsolation) await pool.fill();
    }
  }

  /**
   * Makes `version` live (and the function's primary version). Versions listed in `alongside` stay
   * live beside it (they must be live already); every other version is retired: in-flight work
   * finishes on it, new work goes to the live ones.
   */
  deploy(name: string, version: number, artifact: Artifact | ArtifactSource, config: FunctionConfig, options: DeployOptions = {}): LoadedFunction {
    const fn = new LoadedFunction(name, version, artifact, config, options.tenant);
    let versions = this.functions.get(name);
    if (!versions) this.functions.set(name, (versions = new Map()));
    const keep = new Set(options.alongside ?? []);
    for (const [v, old] of versions) {
      if (v === version || !keep.has(v)) {
        versions.delete(v);
        this.retireVersion(old);
      }
    }
    versions.set(version, fn);
    const primary = this.primary.get(name);
    if (!options.secondary || !primary || !versions.has(primary.version) || versions.get(primary.version) !== primary) this.primary.set(name, fn);
    return fn;
  }

  undeploy(name: string): boolean {
    const versions = this.functions.get(name);
    if (!versions) return false;
    this.functions.delete(name);
    this.primary.delete(name);
    for (const fn of versions.values()) this.retireVersion(fn);
    return true;
  }

  /** Counts for metrics: versions known, versions whose artifact is in memory, resident instances, evictions so far. */
  counts(): RuntimeCounts {
    let deployed = 0;
    let loaded = 0;
    let loadedBytes = 0;
    for (const versions of this.functions.values()) {
      for (const fn of versions.values()) {
        deployed++;
        if (fn.isLoaded) {
          loaded++;
          loadedBytes += fn.loadedBytes;
        }
      }
    }
    let resident = 0;
    for (const set of this.instances.values()) resident += set.size;
    return {
      deployed,
      loaded,
      loadedBytes,
      resident,
      instanceEvictions: this.instanceEvictions,
      artifactEvictions: this.artifactEvictions,
      snapshots: this.snapshots.size,
      snapshotBytes: this.snapshotBytes,
      restoredStarts: this.restoredStarts,
    };
  }

  /** A live version of `name` (`version`), or its primary version. */
  get(name: string, version?: number): LoadedFunction | undefined {
    return version === undefined ? this.primary.get(name) : this.functions.get(name)?.get(version);
  }

  /** The primary version of every function. */
  list(): LoadedFunction[] {
    return [...this.primary.values()];
  }

  /** The live versions of `name`. */
  versions(name: string): number[] {
    return [...(this.functions.get(name)?.keys() ?? [])];
  }

  async invoke(name: string, req: GuestRequest, options: InvokeOptions = {}): Promise<InvokeResult> {
    const fn = this.require(name, options.version);
    const deadline = options.deadline ?? performance.now() + fn.config.timeoutMs;
    const inv = new Invocation(options.requestId ?? randomUUID(), 'fetch', fn.config.cpuMs, deadline);
    const t0 = performance.now();
    const got = this.acquire(fn, deadline);
    const { instance, cold } = got instanceof Promise ? await got : got;
    const t1 = performance.now();
    let out;
    try {
      out = await instance.fetch(inv, req);
    } catch (err) {
      // A failed invocation is metered too: what it consumed before it failed rides on the error.
      if (err instanceof FaasError) err.detail = { ...err.detail, usage: inv.usage() };
      throw err;
    }
    return {
      response: out.response,
      cold,
      coldMs: cold ? t1 - t0 : 0,
      execMs: performance.now() - t1,
      instanceId: instance.id,
      usage: inv.usage(),
      background: out.background,
    };
  }

  async scheduled(name: string, controller: { cron: string; scheduledTime: number }, options: InvokeOptions = {}): Promise<void> {
    const fn = this.require(name);
    const deadline = options.deadline ?? performance.now() + fn.config.timeoutMs;
    const inv = new Invocation(options.requestId ?? randomUUID(), 'scheduled', fn.config.cpuMs, deadline);
    const { instance } = await this.acquire(fn, deadline);
    await instance.scheduled(inv, controller);
  }

  stats(): FunctionStats[] {
    const out: FunctionStats[] = [];
    for (const [fn, set] of this.instances) {
      let heap = 0;
      let inflight = 0;
      for (const inst of set) {
        heap += inst.heapBytes;
        inflight += inst.inflight.size;
      }
      out.push({ name: fn.name, version: fn.version, instances: set.size, heapBytes: heap, inflight });
    }
    return out;
  }

  poolStats(): { isolation: Isolation; ready: number; created: number; misses: number }[] {
    return [...this.pools].map(([isolation, p]) => ({ isolation, ready: p.size, created: p.created, misses: p.misses }));
  }

  /** Disposes every instance and pooled sandbox. */
  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const set of this.instances.values()) for (const inst of [...set]) inst.kill();
    this.instances.clear();
    this.idleLru.clear();
    this.residentHeap = 0;
    // (a snapshot being made meanwhile sees this and gives up)
    this.snapshotsEnabled = false;
    for (const fn of [...this.snapshots.keys()]) this.dropSnapshot(fn);
    for (const p of this.pools.values()) p.close();
  }

  private require(name: string, version?: number): LoadedFunction {
    const fn = this.get(name, version);
    if (!fn) throw new FaasError('not_found', version === undefined ? `function "${name}" is not deployed` : `version ${version} of function "${name}" is not live`);
    return fn;
  }

  /** A warm instance at once (no promise on the hot path), else a start joined or begun. */
  private acquire(fn: LoadedFunction, deadline: number): Acquired | Promise<Acquired> {
    const warm = this.pickWarm(fn);
    return warm ? { instance: warm, cold: false } : this.startOrJoin(fn, deadline);
  }

  private async startOrJoin(fn: LoadedFunction, deadline: number): Promise<Acquired> {
    // A burst against a cold function shares the start-up already under way instead of starting one
    // instance per request.
    const starting = this.starting.get(fn) ?? [];
    const joinable = starting.find((s) => s.waiters < this.opts.instanceConcurrency);
    if (joinable) {
      joinable.waiters++;
      return { instance: await joinable.ready, cold: true };
    }
    const resident = (this.instances.get(fn)?.size ?? 0) + starting.length;
    if (resident >= this.opts.maxInstancesPerFunction) {
      const leastLoaded = this.pickLeastLoaded(fn);
      if (leastLoaded) return { instance: leastLoaded, cold: false };
      if (starting.length > 0) {
        starting[0]!.waiters++;
        return { instance: await starting[0]!.ready, cold: true };
      }
    }
    return { instance: await this.startInstance(fn, deadline), cold: true };
  }

  private pickWarm(fn: LoadedFunction): FunctionInstance | undefined {
    const set = this.instances.get(fn);
    if (!set) return undefined;
    let best: FunctionInstance | undefined;
    for (const inst of set) {
      if (!inst.acceptsWork || inst.inflight.size >= this.opts.instanceConcurrency) continue;
      if (!best || inst.inflight.size < best.inflight.size) best = inst;
    }
    return best;
  }

  private pickLeastLoaded(fn: LoadedFunction): FunctionInstance | undefined {
    let best: FunctionInstance | undefined;
    for (const inst of this.instances.get(fn) ?? []) {
      if (inst.acceptsWork && (!best || inst.inflight.size < best.inflight.size)) best = inst;
    }
    return best;
  }

  private startInstance(fn: LoadedFunction, deadline: number): Promise<FunctionInstance> {
    const isolation = fn.config.isolation && this.factories.has(fn.config.isolation) ? fn.config.isolation : this.defaultIsolation;
    const pool = this.pools.get(isolation)!;
    const start = (async () => {
      if (!fn.isLoaded) await fn.load();
      this.touchArtifact(fn);
      const blank = async () => {
        const inst = new FunctionInstance(fn, await pool.take(), this.env, (i) => this.onDrained(i));
        if (performance.now() > deadline) {
          inst.kill();
          throw new FaasError('timeout', `function "${fn.name}" could not start before its deadline`);
        }
        return inst;
      };
      let inst = await blank();
      if (!this.restoreInto(fn, inst)) {
        if (inst.state === 'dead') inst = await blank();
        const t0 = performance.now();
        await inst.load();
        if (isolation === 'instance' && performance.now() - t0 >= this.opts.snapshotMinLoadMs && inst.capturable) this.snapshotLater(fn, pool);
      }
      this.coldStarts++;
      if (this.functions.get(fn.name)?.get(fn.version) !== fn) {
        // Redeployed or deleted while starting: serve this request, then go.
        inst.retire();
      }
      let set = this.instances.get(fn);
      if (!set) this.instances.set(fn, (set = new Set()));
      set.add(inst);
      // started now: the newest end of the idle list, in lastUsedAt order with the others
      inst.lastUsedAt = performance.now();
      this.markIdle(inst);
      this.residentHeap += inst.heapSample;
      this.enforceBudget();
      return inst;
    })();
    const entry = { ready: start, waiters: 1 };
    const list = this.starting.get(fn) ?? [];
    list.push(entry);
    this.starting.set(fn, list);
    const done = () => {
      const l = this.starting.get(fn);
      if (!l) return;
      l.splice(l.indexOf(entry), 1);
      if (l.length === 0) this.starting.delete(fn);
    };
    start.then(done, done);
    return start;
  }

  private onDrained(inst: FunctionInstance): void {
    if (inst.state === 'dead') {
      this.idleLru.delete(inst);
      const set = this.instances.get(inst.fn);
      if (set?.delete(inst)) this.residentHeap -= inst.heapSample;
      if (set && set.size === 0) this.instances.delete(inst.fn);
      return;
    }
    this.markIdle(inst);
    this.enforceBudget();
  }

  /** Moves `inst` to the most recently used end of the idle list. */
  private markIdle(inst: FunctionInstance): void {
    this.idleLru.delete(inst);
    this.idleLru.set(inst, true);
  }

  private retireVersion(fn: LoadedFunction): void {
    this.dropSnapshot(fn);
    for (const inst of [...(this.instances.get(fn) ?? [])]) inst.retire();
  }

  /**
   * Idle instances, least recently used first, while `visit` returns true. Entries that are busy or
   * dead are removed on the way, so a walk costs what it evicts plus what it skips once.
   */
  private walkIdle(visit: (inst: FunctionInstance) => boolean): void {
    for (const inst of this.idleLru.keys()) {
      if (inst.inflight.size > 0 || inst.state === 'dead') {
        this.idleLru.delete(inst);
        continue;
      }
      if (!visit(inst)) return;
    }
  }

  /**
   * Starts `inst` from its version's snapshot, when there is one its sandbox can take. A copy that
   * failed half-way killed the instance: the snapshot goes, and the caller loads a fresh one.
   */
  private restoreInto(fn: LoadedFunction, inst: FunctionInstance): boolean {
    const image = this.snapshots.get(fn);
    if (!image) return false;
    try {
      if (!inst.restore(image)) return false;
    } catch {
      this.dropSnapshot(fn);
      return false;
    }
    this.snapshots.delete(fn);
    this.snapshots.set(fn, image);
    this.restoredStarts++;
    return true;
  }

  /**
   * Snapshots a version whose load was slow enough that copying memory beats loading it again
   * (snapshotMinLoadMs). Off the request path: a sandbox of its own loads the module once more (its
   * console output discarded, under the same load limits) and is copied right after, before any
   * request could run in it, then disposed. Only versions still live; the cache is an LRU by bytes.
   */
  private snapshotLater(fn: LoadedFunction, pool: SandboxPool): void {
    if (!this.snapshotsEnabled || this.snapshots.has(fn) || this.snapshotting.has(fn) || this.unsnapshottable.has(fn)) return;
    this.snapshotting.add(fn);
    setImmediate(() => {
      let inst: FunctionInstance | undefined;
      void (async () => {
        if (!this.snapshotsEnabled || !this.isLive(fn)) return;
        const sandbox = await pool.take();
        if (!this.snapshotsEnabled || !this.isLive(fn) || !fn.isLoaded) return sandbox.dispose();
        inst = new FunctionInstance(fn, sandbox, this.quietEnv, () => {});
        const t0 = performance.now();
        await inst.load();
        // a second measurement: one slow load on a busy machine does not make a light module worth a copy
        const slow = performance.now() - t0 >= this.opts.snapshotMinLoadMs;
        if (!this.snapshotsEnabled || !this.isLive(fn)) return;
        const image = slow ? inst.capture() : undefined;
        // a module that cannot be copied (or is not worth it) is not loaded again for nothing at every start
        if (image) this.keepSnapshot(fn, image);
        else this.unsnapshottable.add(fn);
      })()
        .catch(() => this.unsnapshottable.add(fn))
        .finally(() => {
          inst?.kill();
          this.snapshotting.delete(fn);
        });
    });
  }

  private isLive(fn: LoadedFunction): boolean {
    return this.functions.get(fn.name)?.get(fn.version) === fn;
  }

  private keepSnapshot(fn: LoadedFunction, image: SandboxImage): void {
    if (this.snapshots.has(fn) || image.bytes > this.opts.snapshotCacheBytes) return;
    this.snapshots.set(fn, image);
    this.snapshotBytes += image.bytes;
    for (const old of [...this.snapshots.keys()]) {
      if (this.snapshotBytes <= this.opts.snapshotCacheBytes) break;
      this.dropSnapshot(old);
    }
    this.enforceBudget();
  }

  private dropSnapshot(fn: LoadedFunction): void {
    const image = this.snapshots.get(fn);
    if (!image) return;
    this.snapshots.delete(fn);
    this.snapshotBytes -= image.bytes;
  }

  private sweepIdle(): void {
    const cutoff = performance.now() - this.opts.idleTtlMs;
    this.walkIdle((inst) => {
      if (inst.lastUsedAt >= cutoff) return false;
      inst.kill();
      this.instanceEvictions++;
      return true;
    });
    // an artifact nothing has started from for as long as an idle instance lives goes too
    for (const fn of [...this.loadedArtifacts.keys()]) {
      if (fn.lastUsedAt >= cutoff) break;
      if (!this.instances.has(fn) && !this.starting.has(fn)) this.dropArtifact(fn);
    }
    let heap = 0;
    for (const set of this.instances.values()) for (const inst of set) heap += inst.sampleHeap();
    this.residentHeap = heap;
    this.enforceBudget();
  }

  /**
   * Sampled heaps, summed as instances come and go (measuring, or even summing, every instance on
   * every start and every drain would make a request's cost grow with the number of resident instances).
   */
  private enforceBudget(): void {
    let total = this.loadedArtifactBytes + this.residentHeap + this.snapshotBytes;
    if (total <= this.opts.memoryBudgetBytes) return;
    // snapshots first: without one, a start only loads the module as it would anyway
    for (const fn of [...this.snapshots.keys()]) {
      if (total <= this.opts.memoryBudgetBytes) return;
      total -= this.snapshots.get(fn)!.bytes;
      this.dropSnapshot(fn);
    }
    // artifacts first: reading one again costs far less than a cold start
    for (const fn of [...this.loadedArtifacts.keys()]) {
      if (total <= this.opts.memoryBudgetBytes) return;
      if (this.starting.has(fn)) continue;
      total -= this.loadedArtifacts.get(fn)!;
      this.dropArtifact(fn);
    }
    this.walkIdle((inst) => {
      if (total <= this.opts.memoryBudgetBytes) return false;
      total -= inst.heapSample;
      inst.kill();
      this.instanceEvictions++;
      return true;
    });
  }

  /**
   * Keeps the artifact cache in least-recently-started order and within its budget: drops the least
   * recently started artifacts that no instance is being started from (running instances hold their
   * own code). Work per start is proportional to what is dropped, not to the number of functions.
   */
  private touchArtifact(fn: LoadedFunction): void {
    fn.lastUsedAt = performance.now();
    if (!fn.reloadable) return;
    const bytes = this.loadedArtifacts.get(fn);
    if (bytes !== undefined) {
      this.loadedArtifacts.delete(fn);
      this.loadedArtifacts.set(fn, bytes);
      return;
    }
    const size = fn.loadedBytes;
    this.loadedArtifacts.set(fn, size);
    this.loadedArtifactBytes += size;
    if (this.loadedArtifactBytes <= this.opts.artifactCacheBytes) return;
    for (const old of [...this.loadedArtifacts.keys()]) {
      if (this.loadedArtifactBytes <= this.opts.artifactCacheBytes) break;
      if (old !== fn && !this.starting.has(old)) this.dropArtifact(old);
    }
  }

  private dropArtifact(fn: LoadedFunction): void {
    const bytes = this.loadedArtifacts.get(fn);
    if (bytes === undefined) return;
    this.loadedArtifacts.delete(fn);
    this.loadedArtifactBytes -= bytes;
    if (fn.unload()) this.artifactEvictions++;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
