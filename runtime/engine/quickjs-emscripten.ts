import {
  newQuickJSWASMModuleFromVariant,
  type QuickJSContext,
  type QuickJSDeferredPromise,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core';
import variantModule from '@jitl/quickjs-wasmfile-release-sync';
import type { PreludeSources } from '../prelude/build.ts';
import { pureOps } from '../host/pure-ops.ts';
import { classifyGuestError, classifyHostError, type GuestErrorInfo, toGuestSafeError } from './classify.ts';
import {
  GuestFault,
  type GuestCode,
  type Isolation,
  type Sandbox,
  type SandboxFactory,
  type SandboxHooks,
  type SandboxLimits,
} from './types.ts';
import { BRIDGE_SOURCE, decodeWire, encodeWire, unwrapGuestValue } from './wire.ts';
import { DISPATCH, dispatchRequest, dispatchResponse, rememberEnv, type DispatchMemo } from './dispatch-codec.ts';

/**
 * Engine "emscripten": the stock `@jitl/quickjs-wasmfile-release-sync` QuickJS (Bellard's, not -ng)
 * through quickjs-emscripten-core. It cannot load QuickJS bytecode, so it runs the artifact's bundled
 * JS and the prelude's sources. Each sandbox is a QuickJSRuntime + context. Isolation:
 *  - "shared": up to `runtimesPerInstance` runtimes share one WASM module instance (one linear memory);
 *  - "instance": every sandbox gets a module instance of its own.
 * A module whose runtime suffered a host-side fault (trap, abort, host stack overflow) takes no new
 * runtimes and is dropped when its last one goes.
 *
 * Memory: this build has no usable `malloc_usable_size`, so QuickJS's own limit counts 8 bytes per live
 * allocation plus each request's size (it still refuses any single allocation over the limit). The
 * real byte limit is therefore also enforced by sampling the runtime's memory usage from the
 * interrupt handler, and `heapBytes` reports that estimate (`JS_ComputeMemoryUsage().memory_used_size`).
 */

/** Its typings describe the CommonJS build; the ESM build's default export is the variant itself. */
const variant = variantModule as unknown as Parameters<typeof newQuickJSWASMModuleFromVariant>[0];

/** Interrupt polls between two heap measurements (QuickJS polls about every 10,000 instructions). */
const HEAP_POLL_EVERY = 8;

class GuestThrow extends Error {
  constructor(readonly info: GuestErrorInfo) {
    super(info.message);
  }
}

class ModuleHost {
  tenants = 0;
  retired = false;
  constructor(readonly module: QuickJSWASMModule) {}
}

export interface EmscriptenFactoryOptions {
  runtimesPerInstance?: number;
}

export class QuickJSEmscriptenFactory implements SandboxFactory {
  readonly engine = 'emscripten' as const;
  readonly runsBytecode = false;
  private readonly capacity: number;
  private readonly hosts = new Set<ModuleHost>();
  private creating: Promise<ModuleHost> | undefined;

  constructor(
    readonly isolation: Isolation,
    private readonly sources: PreludeSources,
    options: EmscriptenFactoryOptions = {},
  ) {
    this.capacity = isolation === 'instance' ? 1 : Math.max(1, options.runtimesPerInstance ?? 64);
  }

  async create(limits: SandboxLimits, hooks: SandboxHooks): Promise<Sandbox> {
    const host = await this.hostWithRoom();
    host.tenants++;
    const box = new EmscriptenSandbox(host, hooks, limits, (name) => this.chunkSource(name), () => this.release(host));
    try {
      box.init(this.sources.core);
    } catch (err) {
      box.dispose();
      throw err;
    }
    return box;
  }

  stats(): { instances: number; runtimes: number; retired: number } {
    let runtimes = 0;
    let retired = 0;
    for (const h of this.hosts) {
      runtimes += h.tenants;
      if (h.retired) retired++;
    }
    return { instances: this.hosts.size, runtimes, retired };
  }

  /** Chunks arrive from the runtime as bytecode only: this engine looks their source up by file name. */
  private chunkSource(filename: string): string | undefined {
    const name = /^faas:prelude\/(.+)\.js$/.exec(filename)?.[1];
    return name === undefined ? undefined : this.sources.chunks.get(name);
  }

  private async hostWithRoom(): Promise<ModuleHost> {
    for (;;) {
      let best: ModuleHost | undefined;
      for (const h of this.hosts) if (!h.retired && h.tenants < this.capacity && (!best || h.tenants > best.tenants)) best = h;
      if (best) return best;
      this.creating ??= newQuickJSWASMModuleFromVariant(variant).then(
        (module) => {
          const h = new ModuleHost(module);
          this.hosts.add(h);
          this.creating = undefined;
          return h;
        },
        (err) => {
          this.creating = undefined;
          throw err;
        },
      );
      await this.creating;
    }
  }

  private release(host: ModuleHost): void {
    host.tenants--;
    // a module instance cannot shrink or be freed explicitly: dropping it lets V8 collect it
    if (host.tenants === 0 && (host.retired || this.capacity === 1 || this.hosts.size > 1)) this.hosts.delete(host);
  }
}

class EmscriptenSandbox implements Sandbox {
  private rt!: QuickJSRuntime;
  private ctx!: QuickJSContext;
  private api: QuickJSHandle | undefined;
  private bridgeCall: QuickJSHandle | undefined;
  private bridgeWatch: QuickJSHandle | undefined;
  private readonly dispatchMemo: DispatchMemo = { env: undefined };
  private readonly deferreds = new Set<QuickJSDeferredPromise>();
  private hooks: SandboxHooks;
  private limitBytes: number;
  private interruptFired = false;
  private overLimit = false;
  private polls = 0;
  private heapCache = 0;
  private heapDirty = true;
  /**
   * While the prelude core loads. Bellard's QuickJS lacks natives the core then fills in at once
   * (DOMException from a chunk, performance.now from the host), before any owner exists: the engine
   * serves those itself — chunks from the prelude sources, and the context-free pure ops.
   */
  private initializing = false;
  disposed = false;

  constructor(
    private readonly host: ModuleHost,
    hooks: SandboxHooks,
    private readonly limits: SandboxLimits,
    private readonly chunkSource: (filename: string) => string | undefined,
    private readonly onDispose: () => void,
  ) {
    this.hooks = hooks;
    this.limitBytes = limits.memoryLimitBytes;
  }

  init(coreSource: string): void {
    this.rt = this.host.module.newRuntime();
    this.rt.setMemoryLimit(this.limitBytes);
    this.rt.setMaxStackSize(this.limits.maxStackBytes);
    this.rt.setInterruptHandler(() => this.onInterrupt());
    this.ctx = this.rt.newContext();
    const ctx = this.ctx;
    this.initializing = true;
    this.guard(() => {
      const raw = ctx.newFunction('__faas_host', (wire) => this.onHostCall(wire));
      const makeBridge = this.unwrap(ctx.evalCode(BRIDGE_SOURCE, 'faas:bridge.js'));
      const bridge = this.unwrap(ctx.callFunction(makeBridge, ctx.undefined, raw));
      makeBridge.dispose();
      raw.dispose();
      const hostFn = ctx.getProp(bridge, 'host');
      ctx.setProp(ctx.global, '__faas_host', hostFn);
      hostFn.dispose();
      this.bridgeCall = ctx.getProp(bridge, 'call');
      this.bridgeWatch = ctx.getProp(bridge, 'watch');
      bridge.dispose();
      this.api = this.unwrap(ctx.evalCode(coreSource, 'faas:prelude/core.js'));
    });
    this.initializing = false;
  }

  setHooks(hooks: SandboxHooks): void {
    this.hooks = hooks;
  }

  setMemoryLimit(bytes: number): void {
    this.limitBytes = bytes;
    if (!this.disposed) this.rt.setMemoryLimit(bytes);
  }

  evalScript(code: GuestCode): void {
    const source = code.source ?? this.chunkSource(code.filename);
    if (source === undefined) throw new GuestFault('exception', 'TypeError', `no source for ${code.filename} (this engine cannot run bytecode)`);
    this.guard(() => this.unwrap(this.ctx.evalCode(source, code.filename)).dispose());
  }

  async loadModule(code: GuestCode): Promise<void> {
    if (code.source === undefined) throw new GuestFault('exception', 'TypeError', 'the artifact carries no source, which engine "emscripten" needs');
    const evaluated = this.guard(() => this.unwrap(this.ctx.evalCode(code.source!, code.filename, { type: 'module' })));
    // this QuickJS hands back the namespace itself, or a promise of it for top-level await
    try {
      this.runJobs();
    } catch (err) {
      evaluated.dispose();
      throw err;
    }
    const ns = await this.guard(() => this.settled(evaluated, (h) => h.dup()));
    this.guard(() => {
      const attach = this.ctx.getProp(this.api!, 'attach');
      try {
        this.unwrap(this.ctx.callFunction(attach, this.api!, ns)).dispose();
      } finally {
        attach.dispose();
        ns.dispose();
      }
    });
  }

  callApi(name: string, args: unknown[]): unknown {
    const ctx = this.ctx;
    const dispatch = name === DISPATCH;
    return this.guard(() => {
      let callArgs = args;
      if (dispatch) {
        // the compact form of dispatch-codec.ts, over the same wire
        const r = dispatchRequest(args, this.dispatchMemo);
        callArgs = [r.method, r.url, r.headers, r.body && r.body.slice().buffer, r.env, r.id];
      }
      const { json, buffers } = encodeWire(callArgs);
      const argHandles = [ctx.newString(name), ctx.newString(json), ...buffers.map((b) => ctx.newArrayBuffer(b.slice().buffer))];
      let result: QuickJSHandle;
      try {
        result = this.unwrap(ctx.callFunction(this.bridgeCall!, ctx.undefined, this.api!, ...argHandles));
      } finally {
        for (const h of argHandles) h.dispose();
      }
      if (!dispatch) return this.settled(result, (h) => this.readWire(h));
      rememberEnv(args, this.dispatchMemo);
      return this.settled(result, (h) => dispatchResponse(this.readWire(h)));
    });
  }

  runJobs(): void {
    this.guard(() => {
      while (this.rt.hasPendingJob()) {
        const res = this.rt.executePendingJobs();
        if (res.error) {
          const info = this.errorInfo(res.error);
          res.error.dispose();
          throw new GuestThrow(info);
        }
      }
    });
  }

  heapBytes(): number {
    if (this.disposed) return 0;
    if (this.heapDirty) {
      this.heapCache = this.measureHeap();
      this.heapDirty = false;
    }
    return this.heapCache;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    try {
      this.api?.dispose();
      this.bridgeCall?.dispose();
      this.bridgeWatch?.dispose();
      for (const d of this.deferreds) d.dispose();
      this.deferreds.clear();
      if (this.ctx?.alive) this.ctx.dispose();
      if (this.rt?.alive) this.rt.dispose();
    } catch {
      // QuickJS aborts on a runtime that still holds values: that module can no longer be trusted
      this.host.retired = true;
    }
    this.onDispose();
  }

  /**
   * Runs engine work; whatever escapes becomes a classified GuestFault. In Bellard's QuickJS an
   * interrupt inside an async function or a promise job only rejects a promise, so an entry during
   * which the interrupt fired fails here even if nothing was thrown: the fault stays the entry's own,
   * as in quickjs-ng.
   */
  private guard<T>(fn: () => T): T {
    if (this.disposed) throw new GuestFault('engine_trap', 'Error', 'engine failure: the sandbox was disposed');
    this.heapDirty = true;
    let result: T;
    try {
      result = fn();
    } catch (err) {
      throw this.toFault(err);
    }
    if (this.interruptFired) {
      if (result instanceof Promise) result.catch(() => {}); // superseded by the fault thrown here
      throw this.classify({ name: 'InternalError', message: 'interrupted' });
    }
    return result;
  }

  private toFault(err: unknown): GuestFault {
    if (err instanceof GuestFault) return err;
    if (err instanceof GuestThrow) return this.classify(err.info);
    // trap, abort or host stack overflow inside the module: its memory may be half-updated
    this.host.retired = true;
    return classifyHostError(err);
  }

  private classify(info: GuestErrorInfo): GuestFault {
    const interrupted = this.interruptFired;
    const overLimit = this.overLimit;
    this.interruptFired = false;
    this.overLimit = false;
    if (overLimit) return new GuestFault('out_of_memory', 'InternalError', 'out of memory', info.stack);
    // Bellard's QuickJS reports its stack guard as InternalError "stack overflow"
    if (!interrupted && info.name === 'InternalError' && info.message === 'stack overflow') {
      return new GuestFault('stack_overflow', info.name, info.message, info.stack);
    }
    return classifyGuestError(info, { interrupted, heapBytes: this.safeHeap(), limitBytes: this.limitBytes });
  }

  private unwrap(result: { value: QuickJSHandle } | { error: QuickJSHandle }): QuickJSHandle {
    if ('error' in result && result.error) {
      const info = this.errorInfo(result.error);
      result.error.dispose();
      throw new GuestThrow(info);
    }
    return (result as { value: QuickJSHandle }).value;
  }

  private errorInfo(h: QuickJSHandle): GuestErrorInfo {
    const ctx = this.ctx;
    if (ctx.typeof(h) !== 'object') return { name: 'Error', message: String(ctx.dump(h)) };
    const read = (key: string): string | undefined => {
      const p = ctx.getProp(h, key);
      try {
        return ctx.typeof(p) === 'string' ? ctx.getString(p) : undefined;
      } finally {
        p.dispose();
      }
    };
    const name = read('name');
    const message = read('message');
    if (name === undefined && message === undefined) {
      const d = ctx.dump(h);
      if (d === null) return { name: 'Error', message: 'null' };
    }
    return { name: name ?? 'Error', message: message ?? '', stack: read('stack') };
  }

  /**
   * A host Promise for a guest promise, which it consumes (a handle left alive would make freeing the
   * runtime abort). `map` runs inside the guest callback, before any other entry.
   */
  private settled<T>(promise: QuickJSHandle, map: (h: QuickJSHandle) => T): Promise<T> {
    const ctx = this.ctx;
    const state = ctx.getPromiseState(promise);
    if (state.type !== 'pending') {
      try {
        if (state.type === 'rejected') return Promise.reject(this.classify(this.errorInfo(state.error)));
        return Promise.resolve(map(state.value));
      } finally {
        if (state.type === 'rejected') state.error.dispose();
        else if (!state.notAPromise) state.value.dispose();
        promise.dispose();
      }
    }
    return new Promise<T>((resolve, reject) => {
      const onFulfilled = ctx.newFunction('', (v) => {
        try {
          resolve(map(v));
        } catch (err) {
          reject(this.toFault(err));
        }
      });
      const onRejected = ctx.newFunction('', (e) => {
        reject(this.classify(this.errorInfo(e)));
      });
      try {
        this.unwrap(ctx.callFunction(this.bridgeWatch!, ctx.undefined, promise, onFulfilled, onRejected)).dispose();
      } finally {
        onFulfilled.dispose();
        onRejected.dispose();
        promise.dispose();
      }
    });
  }

  private readWire(h: QuickJSHandle): unknown {
    const ctx = this.ctx;
    const length = ctx.getLength(h) ?? 0;
    const jsonHandle = ctx.getProp(h, 0);
    const json = ctx.getString(jsonHandle);
    jsonHandle.dispose();
    const buffers: ArrayBuffer[] = [];
    for (let i = 1; i < length; i++) {
      const b = ctx.getProp(h, i);
      const bytes = ctx.getArrayBuffer(b);
      buffers.push(bytes.value.slice().buffer);
      bytes.dispose();
      b.dispose();
    }
    return unwrapGuestValue(decodeWire(json, buffers));
  }

  private newWire(value: unknown): QuickJSHandle {
    const ctx = this.ctx;
    const { json, buffers } = encodeWire(value);
    const arr = ctx.newArray();
    const parts = [ctx.newString(json), ...buffers.map((b) => ctx.newArrayBuffer(b.slice().buffer))];
    parts.forEach((p, i) => {
      ctx.setProp(arr, i, p);
      p.dispose();
    });
    return arr;
  }

  /** The bridge hands every `__faas_host(op, ...args)` over as one wire array. */
  private onHostCall(wire: QuickJSHandle): QuickJSHandle {
    const [op, ...args] = this.readWire(wire) as [string, ...unknown[]];
    if (this.initializing && op === 'loadChunk') {
      this.evalScript({ filename: `faas:prelude/${String(args[0])}.js` });
      return this.newWire(undefined);
    }
    if (this.initializing && pureOps[op]) return this.newWire(pureOps[op]!(...args));
    let result: unknown;
    try {
      result = this.hooks.hostCall(String(op), args);
    } catch (err) {
      throw toGuestSafeError(err);
    }
    if (!(result instanceof Promise)) return this.newWire(result);
    const deferred = this.ctx.newPromise();
    this.deferreds.add(deferred);
    const origin = result;
    const settle = (ok: boolean, value: unknown) => {
      if (this.disposed) return;
      this.hooks.resume(() => {
        this.guard(() => {
          if (!this.deferreds.delete(deferred)) return;
          const arg = ok ? this.newWire(value) : this.ctx.newError(toGuestSafeError(value));
          try {
            if (ok) deferred.resolve(arg);
            else deferred.reject(arg);
          } finally {
            arg.dispose();
            deferred.dispose();
          }
        });
      }, origin);
    };
    origin.then(
      (v) => settle(true, v),
      (e) => settle(false, e),
    );
    return deferred.handle;
  }

  /** Never throws into WASM. */
  private onInterrupt(): boolean {
    try {
      if (this.hooks.shouldInterrupt()) {
        this.interruptFired = true;
        return true;
      }
      if (++this.polls % HEAP_POLL_EVERY === 0 && this.measureHeap() > this.limitBytes) {
        this.overLimit = true;
        this.interruptFired = true;
        return true;
      }
      return false;
    } catch {
      this.interruptFired = true;
      return true;
    }
  }

  /**
   * `JS_ComputeMemoryUsage` through this sandbox's own context: the library's `computeMemoryUsage()`
   * would create a second, "system" context in every runtime just to hold the result.
   */
  private measureHeap(): number {
    const ctx = this.ctx as unknown as {
      ffi: { QTS_RuntimeComputeMemoryUsage(rt: unknown, ctx: unknown): unknown };
      rt: { value: unknown };
      ctx: { value: unknown };
      memory: { heapValueHandle(ptr: unknown): QuickJSHandle };
    };
    const usage = ctx.memory.heapValueHandle(ctx.ffi.QTS_RuntimeComputeMemoryUsage(ctx.rt.value, ctx.ctx.value));
    try {
      const used = this.ctx.getProp(usage, 'memory_used_size');
      const n = this.ctx.getNumber(used);
      used.dispose();
      return n;
    } finally {
      usage.dispose();
    }
  }

  private safeHeap(): number {
    try {
      return this.measureHeap();
    } catch {
      return 0;
    }
  }
}
