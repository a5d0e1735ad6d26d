import { FaasError } from './errors.ts';
import { GuestFault, type Sandbox, type SandboxHooks } from './engine/types.ts';
import { Invocation, type GuestRequest, type GuestResponse } from './invocation.ts';
import type { LoadedFunction } from './loaded-function.ts';
import type { HostServices } from './host/services.ts';
import { pureOps } from './host/pure-ops.ts';

type InstanceState = 'ready' | 'retiring' | 'dead';

let nextInstanceId = 1;

/** One console call's text at most; a guest printing megabytes must not flood the host's logs. */
const MAX_LOG_CHARS = 16 * 1024;

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [truncated ${text.length - max} characters]`;
}

/**
 * One resident instance of one function version: a sandbox with the function's module loaded, and the
 * host side of its event loop (timers, awaited host operations, waitUntil). It may serve several
 * in-flight requests at once; guest CPU is charged to the invocation that caused each guest entry.
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
  private depth = 0;
  private enteredAt = 0;
  private readonly timers = new Map<number, { handle: NodeJS.Timeout; owner: Invocation }>();
  private readonly asyncOwners = new WeakMap<Promise<unknown>, Invocation>();
  private readonly wallTimers = new Map<Invocation, NodeJS.Timeout>();

  constructor(
    readonly fn: LoadedFunction,
    private readonly sandbox: Sandbox,
    private readonly services: HostServices,
    private readonly onDrained: (inst: FunctionInstance) => void,
  ) {
    sandbox.setHooks(this.hooks());
    sandbox.setMemoryLimit(fn.memoryLimitBytes);
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
      throw this.toFaasError(err, inv);
    } finally {
      this.clearWallTimer(inv);
    }
  }

  get heapBytes(): number {
    return this.state === 'dead' ? 0 : this.sandbox.heapBytes();
  }

  sampleHeap(): number {
    this.heapSample = this.heapBytes;
    return this.heapSample;
  }

  get acceptsWork(): boolean {
    return this.state === 'ready';
  }

  /** Runs the fetch handler. Resolves with the response; waitUntil work continues in `background`. */
  async fetch(inv: Invocation, req: GuestRequest): Promise<{ response: GuestResponse; background: Promise<void> }> {
    const out = (await this.run(inv, 'dispatch', [req, this.fn.envSpec, inv.id])) as GuestResponse & { waitUntil?: boolean };
    const response: GuestResponse = { status: out.status, headers: out.headers, body: out.body };
    if (out.waitUntil) return { response, background: this.settle(inv) };
    this.finish(inv);
    return { response, background: Promise.resolve() };
  }

  async scheduled(inv: Invocation, controller: { cron: string; scheduledTime: number }): Promise<void> {
    await this.run(inv, 'scheduled', [controller, this.fn.envSpec, inv.id]);
    await this.settle(inv);
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
    this.sandbox.dispose();
    this.onDrained(this);
  }

  private async run(inv: Invocation, api: string, args: unknown[]): Promise<unknown> {
    if (this.state !== 'ready') throw new FaasError('unavailable', 'instance is no longer accepting work');
    this.inflight.add(inv);
    this.invocations++;
    this.lastUsedAt = performance.now();
    try {
      const pending = this.enter(inv, () => {
        const result = this.sandbox.callApi(api, args);
        this.sandbox.runJobs();
        return result;
      });
      const value = await this.race(inv, Promise.resolve(pending));
      inv.responded = true;
      return value;
    } catch (err) {
      const faas = this.toFaasError(err, inv);
      this.finish(inv);
      throw faas;
    }
  }

  /** Waits for ctx.waitUntil work of a responded invocation, bounded by its wall deadline. */
  private async settle(inv: Invocation): Promise<void> {
    try {
      const pending = this.enter(inv, () => {
        const result = this.sandbox.callApi('settle', [inv.id]);
        this.sandbox.runJobs();
        return result;
      });
      await this.race(inv, Promise.resolve(pending));
    } catch (err) {
      const faas = this.toFaasError(err, inv);
      this.services.log({
        fn: this.fn.name,
        version: this.fn.version,
        requestId: inv.id,
        level: 'warn',
        text: `waitUntil did not complete: ${faas.code}: ${faas.message}`,
        source: 'runtime',
      });
    } finally {
      this.finish(inv);
    }
  }

  /** Settles with the guest's result, or fails with the invocation's own wall timeout or fault. */
  private race<T>(inv: Invocation, work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      inv.fail = reject;
      if (!this.wallTimers.has(inv)) {
        const t = setTimeout(() => this.onWallTimeout(inv), Math.max(0, inv.deadline - performance.now()));
        this.wallTimers.set(inv, t);
      }
      work.then(resolve, reject);
    });
  }

  private onWallTimeout(inv: Invocation): void {
    this.wallTimers.delete(inv);
    const limit = this.fn.config.timeoutMs;
    inv.fail(new FaasError('timeout', `function "${this.fn.name}" did not finish within its ${limit} ms wall-time limit`));
    // A guest stopped mid-flight may hold promises that never settle: take no new work on this instance.
    this.retire();
  }

  private finish(inv: Invocation): void {
    if (inv.finished) return;
    inv.finished = true;
    this.clearWallTimer(inv);
    const dropped: number[] = [];
    for (const [id, t] of this.timers) {
      if (t.owner === inv) {
        clearTimeout(t.handle);
        this.timers.delete(id);
        dropped.push(id);
      }
    }
    // The guest keeps each armed timer's callback: let it forget the ones that will never fire.
    if (dropped.length > 0 && this.state !== 'dead') {
      try {
        this.sandbox.callApi('dropTimers', [dropped]);
      } catch {
        // a sandbox that cannot even drop timers is about to be discarded anyway
      }
    }
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
        inv.cpuUsedMs += performance.now() - this.enteredAt;
        this.current = null;
      }
    }
  }

  /** A fault that leaves the sandbox untrustworthy: every invocation on it fails, and it is discarded. */
  private onPoisoned(fault: GuestFault, culprit: Invocation): void {
    for (const other of this.inflight) {
      if (other === culprit) continue;
      const err = this.toFaasError(fault, other);
      other.fail(new FaasError(err.code, `the instance serving this request was discarded: ${err.message}`));
      this.finish(other);
    }
    queueMicrotask(() => this.kill());
  }

  private hooks(): SandboxHooks {
    return {
      hostCall: (op, args) => this.hostCall(op, args),
      shouldInterrupt: () => {
        const inv = this.current;
        return inv !== null && inv.cpuUsedMs + (performance.now() - this.enteredAt) > inv.cpuLimitMs;
      },
      resume: (task, origin) => {
        const owner = this.asyncOwners.get(origin);
        if (!owner || owner.finished || this.state === 'dead') return;
        try {
          this.enter(owner, () => {
            task();
            this.sandbox.runJobs();
          });
        } catch (err) {
          owner.fail(this.toFaasError(err, owner));
        }
      },
    };
  }

  private hostCall(op: string, args: unknown[]): unknown {
    const inv = this.current;
    switch (op) {
      case 'log':
        this.services.log({
          fn: this.fn.name,
          version: this.fn.version,
          requestId: inv?.kind === 'load' ? undefined : inv?.id,
          level: String(args[0]) as 'log',
          text: truncate(String(args[1]), MAX_LOG_CHARS),
          source: 'guest',
        });
        return undefined;
      case 'timerSet':
        return this.setTimer(Number(args[0]), Number(args[1]), inv);
      case 'timerClear': {
        const t = this.timers.get(Number(args[0]));
        if (t) clearTimeout(t.handle);
        this.timers.delete(Number(args[0]));
        return undefined;
      }
      case 'loadChunk': {
        const code = this.services.chunk(String(args[0]));
        if (!code) throw new TypeError(`unknown prelude chunk "${String(args[0])}"`);
        this.sandbox.evalScript(code);
        return undefined;
      }
      default: {
        if (!inv) throw new Error(`host operation "${op}" called outside an invocation`);
        const bound = this.services.ops[op];
        if (bound) return this.track(bound(args, { fn: this.fn, invocation: inv }), inv);
        const pure = pureOps[op];
        if (pure) return pure(...args);
        throw new TypeError(`unknown host operation "${op}"`);
      }
    }
  }

  private track(result: unknown, owner: Invocation): unknown {
    if (result instanceof Promise) this.asyncOwners.set(result, owner);
    return result;
  }

  private setTimer(id: number, ms: number, owner: Invocation | null): undefined {
    if (!owner || owner.finished) return undefined;
    const delay = Number.isFinite(ms) ? Math.max(0, ms) : 0;
    const handle = setTimeout(() => {
      this.timers.delete(id);
      if (owner.finished || this.state === 'dead') return;
      try {
        this.enter(owner, () => {
          this.sandbox.callApi('fireTimer', [id]);
          this.sandbox.runJobs();
        });
      } catch (err) {
        owner.fail(this.toFaasError(err, owner));
      }
    }, delay);
    this.timers.set(id, { handle, owner });
    return undefined;
  }

  /** Maps an engine fault to the contract's error codes, with the stack mapped to the user's source. */
  toFaasError(err: unknown, inv: Invocation): FaasError {
    if (err instanceof FaasError) return err;
    if (!(err instanceof GuestFault)) {
      return new FaasError('internal_error', err instanceof Error ? err.message : String(err));
    }
    const name = this.fn.name;
    switch (err.kind) {
      case 'interrupted':
        return new FaasError('cpu_limit_exceeded', `function "${name}" exceeded its CPU limit of ${inv.cpuLimitMs} ms`);
      case 'out_of_memory':
        return new FaasError('memory_limit_exceeded', `function "${name}" exceeded its memory limit of ${this.fn.config.memoryMb} MiB`);
      case 'stack_overflow':
        return new FaasError('stack_overflow', `function "${name}" exceeded the maximum call stack size (unbounded recursion?)`, {
          stack: this.fn.stackMapper.mapStack(err.guestStack),
        });
      case 'engine_trap':
        return new FaasError('function_error', `function "${name}" crashed the engine: ${err.message}`);
      case 'exception': {
        const stack = this.fn.stackMapper.mapStack(err.guestStack);
        return new FaasError('function_error', `Uncaught ${err.guestName}: ${err.message}`, { stack });
      }
    }
  }
}
