import { FaasError } from '../contract/errors.ts';
import { GuestFault, type HostArg, type Sandbox, type SandboxHooks, type SandboxImage } from './engine/types.ts';
import { Invocation, NO_BACKGROUND, type GuestRequest, type GuestResponse, type InvocationUsage } from './invocation.ts';
import type { LoadedFunction } from './loaded-function.ts';
import type { StackMapper } from './sourcemap.ts';
import type { GuestLogEntry, HostServices } from './host/services.ts';
import { opDeclaration, parseJsonArgs, type LogLevel } from './host/op-table.ts';
import { pureOps } from './host/pure-ops.ts';
import { headersJson, type BodyStreamRef } from './engine/dispatch-codec.ts';
import { trackEnd, type ByteSource } from './body-stream.ts';
import { ZLIB_FORMATS, type ZlibFormat } from './host/compression.ts';
import type { LogLimits, LogRateLimiter } from './log-limits.ts';
import type { BackgroundCpuBudget } from './background-budget.ts';
import { KeyTable } from './host/webcrypto/keys.ts';
import { cryptoOp } from './host/webcrypto/ops.ts';
import { cryptoJob, guestClock } from './host/webcrypto/jobs.ts';

/** Error responses up to this size are scanned for stack frames of the bundle (mapErrorBody). */
const MAPPED_BODY_BYTES = 64 * 1024;
const TEXT_BODY = /^(?:application\/(?:[\w.+-]*\+)?json|text\/plain)\b/i;

/**
 * An error object a framework put in a response body (tRPC's `stack`, a text 500 with `err.stack`)
 * shows the user's source like an uncaught one: frames of the bundle in a small JSON or plain-text
 * error response (status ≥ 400) are mapped, and Content-Length follows. Anything else is untouched.
 */
function mapErrorBody(mapper: StackMapper, response: GuestResponse): GuestResponse {
  const { status, headers, body } = response;
  if (status < 400 || body === null || body.byteLength === 0 || body.byteLength > MAPPED_BODY_BYTES) return response;
  const type = headers.find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  if (!TEXT_BODY.test(type) || headers.some(([k, v]) => k.toLowerCase() === 'content-encoding' && v !== 'identity')) return response;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return response;
  }
  const mapped = mapper.mapText(text, /json/i.test(type));
  if (mapped === text) return response;
  const bytes = new TextEncoder().encode(mapped);
  const out = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return { status, headers: headers.map(([k, v]) => (k.toLowerCase() === 'content-length' ? [k, String(out.byteLength)] : [k, v])), body: out };
}


type InstanceState = 'ready' | 'retiring' | 'dead';

let nextInstanceId = 1;

/** What an instance needs from its runtime besides the sandbox. */
export interface InstanceEnv {
  services: HostServices;
  logLimits: LogLimits;
  logRate: LogRateLimiter;
  background: BackgroundCpuBudget;
}

/**
 * One resident instance of one function version: a sandbox with the function's module loaded, and the
 * host side of its event loop (timers, awaited host operations, waitUntil). It may serve several
 * in-flight requests at once; guest CPU is charged to the invocation that caused each guest entry.
 *
 * Every entry into the guest goes through `enter`, with an invocation current: its CPU budget is what
 * the interrupt handler checks. Guest code that runs with none current (which no path here should
 * allow) is interrupted at once.
 */
export class FunctionInstance {
  readonly id = nextInstanceId++;
  readonly inflight = new Set<Invocation>();
  state: InstanceState = 'ready';
  lastUsedAt = performance.now();
  invocations = 0;
  /** Guest heap as last sampled (after load, then by the runtime's sweeper): cheap to sum. */
  heapSample = 0;

  private current: Invocation | null = null;
  /** A fault made the sandbox untrustworthy: nothing enters it again. */
  private poisoned = false;
  private depth = 0;
  private enteredAt = 0;
  private readonly timers = new Map<number, { handle: NodeJS.Timeout; owner: Invocation }>();
  private readonly asyncOwners = new WeakMap<Promise<unknown>, Invocation>();
  private readonly wallTimers = new Map<Invocation, NodeJS.Timeout>();
  /** The CryptoKeys this instance's guest made (it holds only their ids); made on first use. */
  private keyTable: KeyTable | undefined;

  /**
   * The module's load called a host operation that leaves state on the host or in the guest that a
   * copy must not share (anything but console output and the pure operations other than randomness).
   */
  private loadTouchedHost = false;

  /** Held by the instance: the function's artifact may be dropped from memory while the instance lives. */
  private readonly stackMapper: StackMapper;

  constructor(
    readonly fn: LoadedFunction,
    private readonly sandbox: Sandbox,
    private readonly env: InstanceEnv,
    private readonly onDrained: (inst: FunctionInstance) => void,
  ) {
    this.stackMapper = fn.stackMapper;
    sandbox.setHooks(this.hooks());
    sandbox.setMemoryLimit(fn.memoryLimitBytes);
  }

  private get keys(): KeyTable {
    return (this.keyTable ??= new KeyTable());
  }

  private get services(): HostServices {
    return this.env.services;
  }

  /** Evaluates the function module; its top-level code runs under the function's CPU and wall limits. */
  async load(): Promise<void> {
    const inv = new Invocation(`load-${this.id}`, 'load', this.fn.config.cpuMs, performance.now() + this.fn.config.timeoutMs);
    try {
      const loading = this.enter(inv, () => this.sandbox.loadModule(this.fn.code));
      await this.race(inv, loading);
      this.sampleHeap();
    } catch (err) {
      this.kill();
      throw this.faultToError(err, inv);
    } finally {
      this.clearWallTimer(inv);
    }
  }

  /**
   * Starts from a copy of another instance of this version taken right after its load (see capture)
   * instead of loading the module. False when the sandbox cannot take it (then load() as usual); a
   * copy that failed half-way kills this instance and throws.
   */
  restore(image: SandboxImage): boolean {
    let restored: boolean;
    try {
      restored = this.sandbox.restore?.(image) ?? false;
    } catch (err) {
      this.kill();
      throw new FaasError('internal_error', `could not restore function "${this.fn.name}": ${(err as Error).message}`);
    }
    if (restored) this.sampleHeap();
    return restored;
  }

  /**
   * A copy of this instance as its load left it, for restore() into later instances of the same
   * version: only right after a load that succeeded, before any request, and only when the load left
   * nothing on the host side (timers, keys, awaited operations) and drew no randomness.
   */
  capture(): SandboxImage | undefined {
    return this.capturable ? this.sandbox.capture?.() : undefined;
  }

  /** What capture() checks on the host side (the sandbox checks the rest). */
  get capturable(): boolean {
    return this.state === 'ready' && !this.poisoned && this.invocations === 0 && !this.loadTouchedHost && this.timers.size === 0 && this.keyTable === undefined;
  }

  get heapBytes(): number {
    return this.state === 'dead' ? 0 : this.sandbox.heapBytes();
  }

  sampleHeap(): number {
    this.heapSample = this.heapBytes;
    return this.heapSample;
  }

  get acceptsWork(): boolean {
    return this.state === 'ready' && !this.poisoned;
  }

  /**
   * Runs the fetch handler. Resolves with the response; waitUntil work, and the streaming of a
   * streamed response body, continue in `background` (the invocation stays open until both are done),
   * which resolves with the invocation's final usage (undefined when the usage at response time is final).
   */
  async fetch(inv: Invocation, req: GuestRequest): Promise<{ response: GuestResponse; background: Promise<InvocationUsage | undefined> }> {
    let body: Uint8Array | BodyStreamRef | null = req.body ? new Uint8Array(req.body) : null;
    if (req.stream) {
      try {
        body = { stream: inv.streams.addHost(req.stream) };
      } catch (err) {
        req.stream.cancel('refused');
        throw new FaasError('internal_error', (err as Error).message);
      }
    }
    const out = await this.run(inv, () =>
      this.sandbox.dispatch({
        method: req.method,
        url: req.url,
        headers: headersJson(req.headers),
        body,
        env: this.fn.envJson,
        id: inv.id,
      }),
    );
    const response: GuestResponse = { status: out.status, headers: out.headers, body: null };
    const waits: Promise<void>[] = [];
    // a buffered error body may carry an error object a framework caught: shown with the user's source
    if (out.body instanceof ArrayBuffer) Object.assign(response, mapErrorBody(this.stackMapper, { ...response, body: out.body }));
    else if (out.body) {
      try {
        const tracked = this.responseStream(inv, out.body.stream);
        response.stream = tracked.source;
        waits.push(tracked.ended);
      } catch (err) {
        this.finish(inv);
        throw err;
      }
    }
    if (out.waitUntil) waits.push(this.settleWork(inv));
    if (waits.length === 0) {
      this.finish(inv);
      return { response, background: NO_BACKGROUND };
    }
    const background = (waits.length === 1 ? waits[0]! : Promise.all(waits)).then(() => {
      this.finish(inv);
      return inv.usage();
    });
    return { response, background };
  }

  /**
   * The response body stream `id`: a host stream the guest passes on untouched (read without entering
   * the guest), or a guest ReadableStream, pulled piece by piece, each pull an accounted entry of this
   * invocation. Its end (or the invocation failing: the wall-time limit, a fault) ends the invocation.
   */
  private responseStream(inv: Invocation, id: number): ReturnType<typeof trackEnd> {
    const entry = inv.streams.take(id);
    if (!entry) throw new FaasError('function_error', 'the response body stream is not one this request can send (already read, or not its own)');
    const source: ByteSource = entry.kind === 'host' ? entry.source : this.guestSource(inv, id);
    const tracked = trackEnd(source);
    inv.streaming = true;
    const off = inv.onFail((err) => tracked.abort(err));
    void tracked.ended.then(() => {
      off();
      inv.streaming = false;
    });
    return tracked;
  }

  private guestSource(inv: Invocation, id: number): ByteSource {
    return {
      read: async () => {
        if (inv.finished || this.state === 'dead' || this.poisoned) throw new FaasError('unavailable', 'the instance streaming this response is gone');
        if (performance.now() >= inv.deadline) {
          throw new FaasError('timeout', `function "${this.fn.name}" did not finish within its ${this.fn.config.timeoutMs} ms wall-time limit (config key "timeoutMs")`);
        }
        try {
          const pending = this.enter(inv, () => {
            const result = this.sandbox.pullStream(id);
            this.sandbox.runJobs();
            return result;
          });
          const chunk = await this.race(inv, Promise.resolve(pending));
          return chunk && chunk.byteLength > 0 ? chunk : chunk === null ? null : new Uint8Array(0);
        } catch (err) {
          throw this.guestFailed(err, inv);
        }
      },
      cancel: (reason) => {
        if (inv.finished || this.state === 'dead' || this.poisoned) return;
        try {
          this.enter(inv, () => {
            this.sandbox.cancelStream(id, reason ?? 'cancelled');
            this.sandbox.runJobs();
          });
        } catch {
          // a fault here discarded the instance already (see enter)
        }
      },
    };
  }

  async scheduled(inv: Invocation, controller: { cron: string; scheduledTime: number }): Promise<void> {
    await this.run(inv, () => this.sandbox.scheduled(String(controller.cron), Number(controller.scheduledTime), this.fn.envJson, inv.id));
    try {
      await this.settleWork(inv);
    } finally {
      this.finish(inv);
    }
  }

  /** Stops taking new work; disposed once the in-flight invocations finish. */
  retire(): void {
    if (this.state !== 'ready') return;
    this.state = 'retiring';
    if (this.inflight.size === 0) this.kill();
  }

  kill(): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    for (const t of this.timers.values()) clearTimeout(t.handle);
    this.timers.clear();
    for (const t of this.wallTimers.values()) clearTimeout(t);
    this.wallTimers.clear();
    this.keyTable?.clear();
    this.sandbox.dispose();
    this.onDrained(this);
  }

  private async run<T>(inv: Invocation, entry: () => T | Promise<T>): Promise<T> {
    if (this.state !== 'ready') throw new FaasError('unavailable', 'instance is no longer accepting work');
    this.inflight.add(inv);
    this.invocations++;
    this.lastUsedAt = performance.now();
    try {
      const pending = this.enter(inv, () => {
        const result = entry();
        this.sandbox.runJobs();
        return result;
      });
      const value = await this.race(inv, Promise.resolve(pending));
      inv.responded = true;
      return value;
    } catch (err) {
      const faas = this.guestFailed(err, inv);
      this.finish(inv);
      throw faas;
    }
  }

  /** Waits for ctx.waitUntil work of a responded invocation, bounded by its wall deadline (never rejects). */
  private async settleWork(inv: Invocation): Promise<void> {
    try {
      const pending = this.enter(inv, () => {
        const result = this.sandbox.settle(inv.id);
        this.sandbox.runJobs();
        return result;
      });
      await this.race(inv, Promise.resolve(pending));
    } catch (err) {
      const faas = this.guestFailed(err, inv);
      this.runtimeLog(inv, 'warn', `waitUntil did not complete: ${faas.code}: ${faas.message}`);
    }
  }

  /** Settles with the guest's result, or fails with the invocation's own wall timeout or fault. */
  private race<T>(inv: Invocation, work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const off = inv.onFail(reject);
      if (!this.wallTimers.has(inv)) {
        const t = setTimeout(() => this.onWallTimeout(inv), Math.max(0, inv.deadline - performance.now()));
        this.wallTimers.set(inv, t);
      }
      work.then(
        (v) => {
          off();
          resolve(v);
        },
        (e) => {
          off();
          reject(e);
        },
      );
    });
  }

  private onWallTimeout(inv: Invocation): void {
    this.wallTimers.delete(inv);
    const limit = this.fn.config.timeoutMs;
    inv.fail(new FaasError('timeout', `function "${this.fn.name}" did not finish within its ${limit} ms wall-time limit (config key "timeoutMs")`));
    // A guest stopped mid-flight may hold promises that never settle: take no new work on this instance.
    this.retire();
  }

  private finish(inv: Invocation): void {
    if (inv.finished) return;
    this.clearWallTimer(inv);
    // its streams go with it: host ones are released here, the guest's own are cancelled below
    const exposed = inv.closeStreams('the request ended');
    const dropped: number[] = [];
    for (const [id, t] of this.timers) {
      if (t.owner === inv) {
        clearTimeout(t.handle);
        this.timers.delete(id);
        dropped.push(id);
      }
    }
    // The guest keeps each armed timer's callback: let it forget the ones that will never fire,
    // still under this invocation's CPU budget (guest code runs there, and may have been replaced).
    if ((dropped.length > 0 || exposed.length > 0) && this.state !== 'dead' && !this.poisoned) {
      try {
        this.enter(inv, () => {
          if (dropped.length > 0) this.sandbox.dropTimers(dropped);
          for (const id of exposed) this.sandbox.cancelStream(id, 'the request ended');
          if (exposed.length > 0) this.sandbox.runJobs();
        });
      } catch {
        // a fault here discarded the instance already (see enter)
      }
    }
    inv.finished = true;
    if (inv.logDropped > 0) this.reportDroppedLogs(inv);
    this.inflight.delete(inv);
    this.lastUsedAt = performance.now();
    if (this.inflight.size === 0 && this.state === 'retiring') this.kill();
    else if (this.inflight.size === 0) this.onDrained(this);
  }

  private clearWallTimer(inv: Invocation): void {
    const t = this.wallTimers.get(inv);
    if (t) clearTimeout(t);
    this.wallTimers.delete(inv);
  }

  /** Every entry into the guest goes through here: CPU accounting, attribution and fault handling. */
  private enter<T>(inv: Invocation, fn: () => T): T {
    const outermost = this.depth === 0;
    if (outermost) {
      this.current = inv;
      this.enteredAt = performance.now();
    }
    this.depth++;
    try {
      return fn();
    } catch (err) {
      if (err instanceof GuestFault && err.poisonsSandbox && outermost) this.onPoisoned(err, inv);
      throw err;
    } finally {
      this.depth--;
      if (outermost) {
        const spent = performance.now() - this.enteredAt;
        inv.cpuUsedMs += spent;
        guestClock.busyMs += spent;
        this.current = null;
      }
    }
  }

  /** A fault that leaves the sandbox untrustworthy: every invocation on it fails, and it is discarded. */
  private onPoisoned(fault: GuestFault, culprit: Invocation): void {
    if (this.poisoned) return;
    this.poisoned = true;
    if (this.state === 'ready') this.state = 'retiring';
    for (const other of this.inflight) {
      if (other === culprit) continue;
      const err = this.faultToError(fault, other);
      other.fail(new FaasError(err.code, `the instance serving this request was discarded: ${err.message}`));
      this.finish(other);
    }
    queueMicrotask(() => this.kill());
  }

  private hooks(): SandboxHooks {
    return {
      argSpecs: (op) => opDeclaration(op)?.args,
      hostCall: (op, args) => this.hostCall(op, args),
      shouldInterrupt: () => {
        const inv = this.current;
        // No invocation current means no budget to spend: such guest code stops at once.
        if (inv === null) return true;
        return inv.cpuUsedMs + (performance.now() - this.enteredAt) > inv.cpuLimitMs;
      },
      resume: (task, origin) => {
        const owner = this.asyncOwners.get(origin);
        if (!owner) return;
        this.runContinuation(owner, () => {
          task();
          this.sandbox.runJobs();
        });
      },
    };
  }

  /** Arguments arrive read and checked against the op table; the guest is running (an invocation is current). */
  private hostCall(op: string, args: HostArg[]): unknown {
    const inv = this.current;
    if (!inv) throw new TypeError(`host operation "${op}" called outside an invocation`);
    const decl = opDeclaration(op)!;
    if (inv.kind === 'load' && op !== 'log' && (decl.kind !== 'pure' || op === 'randomFill' || op === 'randomUUID')) this.loadTouchedHost = true;
    switch (op) {
      case 'log':
        this.guestLog(inv, args[0] as LogLevel, args[1] as string);
        return undefined;
      case 'timerSet':
        return this.setTimer(args[0] as number, args[1] as number, inv);
      case 'streamRead':
        return this.track(inv.streams.read(args[0] as number, args[1] as boolean, this.fn.memoryLimitBytes), inv);
      case 'streamCancel':
        inv.streams.cancel(args[0] as number);
        return undefined;
      case 'streamExpose':
        return inv.streams.expose();
      case 'zlibOpen':
        if (!ZLIB_FORMATS.includes(args[0] as ZlibFormat)) throw new TypeError(`unsupported compression format "${String(args[0])}"`);
        return inv.streams.zlibOpen(args[0] as ZlibFormat, args[1] as boolean);
      case 'zlibPush':
        inv.streams.zlibPush(args[0] as number, (args[1] as Uint8Array | null) ?? null, args[2] as boolean);
        return undefined;
      case 'zlibPull':
        return inv.streams.zlibPull(args[0] as number);
      case 'zlibClose':
        inv.streams.zlibClose(args[0] as number);
        return undefined;
      case 'timerClear': {
        // (possibly a timer another request of this instance armed: the guest has one timer table)
        const t = this.timers.get(args[0] as number);
        if (t) clearTimeout(t.handle);
        this.timers.delete(args[0] as number);
        return undefined;
      }
      case 'cryptoFreeKey':
        this.keyTable?.free(args[0] as number);
        return undefined;
    }
    let values: unknown[] = args;
    parseJsonArgs(op, decl, values);
    // fetch's request travels as JSON plus the body bytes; its implementation takes one FetchInit
    if (op === 'fetch') values = [{ ...(values[0] as object), body: values[1] ?? null }];
    const crypto = cryptoOp(op);
    if (crypto) return this.track(this.cryptoCall(inv, () => crypto(this.keys, values)), inv);
    if (decl.kind === 'pure') return (pureOps as Record<string, (...a: unknown[]) => unknown>)[op]!(...values);
    const bound = this.services.ops[op];
    if (!bound) throw new TypeError(`${op} is not available here`);
    if (op !== 'fetch') inv.bindingOps++;
    return this.track(bound(values, { fn: this.fn, invocation: inv }), inv);
  }

  /**
   * A crypto.subtle operation: a job on the host whose time is charged to `inv` when it settles
   * (runtime/host/webcrypto/jobs.ts). A job cannot be interrupted, so one that took the invocation
   * over its CPU budget ends the invocation there, before the guest continues, with the error the
   * interrupt gives; the instance is retired (the guest keeps a promise that will never settle). So
   * is an instance whose key table is nearly full (runtime/host/webcrypto/keys.ts).
   */
  private cryptoCall(inv: Invocation, work: () => Promise<unknown>): Promise<unknown> {
    const job = cryptoJob(inv, work, (ms) => {
      if (inv.responded) this.env.background.charge(this.fn.name, ms);
    });
    const check = () => {
      if (this.state === 'dead') return;
      // keys the guest dropped may wait for a collection that does not come: recycle the instance
      // (not while its module loads: nothing else holds it yet, and retiring it would dispose it)
      if (this.keyTable?.nearlyFull && inv.kind !== 'load') this.retire();
      if (inv.finished || inv.cpuUsedMs <= inv.cpuLimitMs) return;
      inv.fail(this.faultToError(new GuestFault('interrupted', 'InternalError', 'interrupted'), inv));
      // a module load that fails disposes the instance itself (see load)
      if (inv.kind === 'load') return;
      this.finish(inv);
      this.retire();
    };
    job.then(check, check);
    return job;
  }

  /** Guest console output under the volume caps: per invocation, then per function (LogLimits). */
  private guestLog(inv: Invocation, level: LogLevel, text: string): void {
    const bytes = text.length + 16;
    const limits = this.env.logLimits;
    if (inv.logBytes + bytes > limits.perInvocationBytes || !this.env.logRate.admit(this.fn.name, bytes)) {
      inv.logDropped++;
      return;
    }
    inv.logBytes += bytes;
    this.services.log({
      fn: this.fn.name,
      version: this.fn.version,
      requestId: inv.kind === 'load' ? undefined : inv.id,
      level,
      // an error a framework caught and printed shows the user's source, as an uncaught one does
      text: this.stackMapper.mapText(text),
      source: 'guest',
    });
  }

  private reportDroppedLogs(inv: Invocation): void {
    const limits = this.env.logLimits;
    this.runtimeLog(
      inv,
      'warn',
      `console output truncated: ${inv.logDropped} record(s) dropped (limits: ${limits.perInvocationBytes} bytes per invocation, ${limits.perFunctionBytesPerSecond} bytes/s per function)`,
      inv.logDropped,
    );
    inv.logDropped = 0;
  }

  private runtimeLog(inv: Invocation, level: LogLevel, text: string, dropped?: number): void {
    const entry: GuestLogEntry = { fn: this.fn.name, version: this.fn.version, requestId: inv.kind === 'load' ? undefined : inv.id, level, text, source: 'runtime' };
    if (dropped !== undefined) entry.dropped = dropped;
    this.services.log(entry);
  }

  private track(result: unknown, owner: Invocation): unknown {
    if (result instanceof Promise) this.asyncOwners.set(result, owner);
    return result;
  }

  private setTimer(id: number, ms: number, owner: Invocation): undefined {
    if (owner.finished) return undefined;
    const previous = this.timers.get(id);
    if (previous) clearTimeout(previous.handle);
    const delay = Number.isFinite(ms) ? Math.min(Math.max(0, ms), 0x7fffffff) : 0;
    const handle = setTimeout(() => {
      this.timers.delete(id);
      this.runContinuation(owner, () => {
        this.sandbox.fireTimer(id);
        this.sandbox.runJobs();
      }, id);
    }, delay);
    this.timers.set(id, { handle, owner });
    return undefined;
  }

  /**
   * A continuation of `owner` (a timer or a settled host operation): run now, or, when the request
   * already answered and its function's background CPU budget is spent, a little later (a timer keeps
   * its id meanwhile, so the guest can still clear it).
   */
  private runContinuation(owner: Invocation, work: () => void, timerId?: number): void {
    if (owner.finished || this.state === 'dead' || this.poisoned) return;
    const background = owner.responded && !owner.streaming;
    if (background) {
      const wait = this.env.background.delayFor(this.fn.name);
      if (wait > 0) {
        const handle = setTimeout(() => {
          if (timerId !== undefined) this.timers.delete(timerId);
          this.runContinuation(owner, work, timerId);
        }, wait);
        if (timerId !== undefined) this.timers.set(timerId, { handle, owner });
        return;
      }
    }
    const before = owner.cpuUsedMs;
    try {
      this.enter(owner, work);
    } catch (err) {
      owner.fail(this.guestFailed(err, owner));
    } finally {
      if (background) this.env.background.charge(this.fn.name, owner.cpuUsedMs - before);
    }
  }

  /**
   * A fault that reached the host, thrown by an entry or carried by a promise the guest rejected (an
   * allocation that failed inside a job of another invocation surfaces as that rejection): the limits
   * faults poison the instance either way, since a job stopped half-way can leave a promise of any
   * in-flight invocation unsettled for good.
   */
  private guestFailed(err: unknown, inv: Invocation): FaasError {
    if (err instanceof GuestFault && err.poisonsSandbox) this.onPoisoned(err, inv);
    return this.faultToError(err, inv);
  }

  /** Maps an engine fault to the contract's error codes, with the stack mapped to the user's source. */
  faultToError(err: unknown, inv: Invocation): FaasError {
    if (err instanceof FaasError) return err;
    if (!(err instanceof GuestFault)) {
      return new FaasError('internal_error', err instanceof Error ? err.message : String(err));
    }
    const name = this.fn.name;
    switch (err.kind) {
      case 'interrupted':
        return new FaasError('cpu_limit_exceeded', `function "${name}" exceeded its CPU limit of ${inv.cpuLimitMs} ms (config key "cpuMs")`);
      case 'out_of_memory':
        return new FaasError('memory_limit_exceeded', `function "${name}" exceeded its memory limit of ${this.fn.config.memoryMb} MiB (config key "memoryMb")`);
      case 'stack_overflow':
        return new FaasError('stack_overflow', `function "${name}" exceeded the maximum call stack size (unbounded recursion?)`, {
          stack: this.stackMapper.mapStack(err.guestStack),
        });
      case 'engine_trap':
        return new FaasError('function_error', `function "${name}" crashed the engine: ${err.message}`);
      case 'exception': {
        const stack = this.stackMapper.mapStack(err.guestStack);
        return new FaasError('function_error', `Uncaught ${err.guestName}: ${this.stackMapper.explain(err.message, err.guestStack)}`, { stack });
      }
    }
  }
}
