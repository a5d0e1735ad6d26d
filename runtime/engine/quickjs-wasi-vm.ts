import { JSException, JSValueHandle, QuickJS, EvalFlags } from 'quickjs-wasi';
import { quickjsWasmModule } from './wasm-module.ts';
import {
  GuestFault,
  type GuestCode,
  type Sandbox,
  type SandboxFactory,
  type SandboxHooks,
  type SandboxLimits,
} from './types.ts';
import { classifyGuestError, classifyHostError, toGuestSafeError } from './classify.ts';
import type { Prelude } from '../prelude/build.ts';
import { DISPATCH, dispatchRequest, rememberEnv, type DispatchMemo } from './dispatch-codec.ts';
import { dispatchArgs, readDispatchResult } from './wasi-dispatch.ts';

const PROMISE_FULFILLED = 1;
const PROMISE_REJECTED = 2;

/** A guest promise an API call returned, checked again once the jobs that follow the call have run. */
interface Watched {
  promise: JSValueHandle;
  map: (h: JSValueHandle) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Isolation "instance": every sandbox is its own quickjs-wasi WASM instance (own linear memory).
 * The strongest isolation the engine offers; costs a WebAssembly instantiation per sandbox, which the
 * pool pays ahead of the request path.
 */
export class QuickJSWasiVmFactory implements SandboxFactory {
  readonly engine = 'bytecode' as const;
  readonly isolation = 'instance' as const;
  readonly runsBytecode = true;

  constructor(private readonly prelude: Prelude) {}

  async create(limits: SandboxLimits, hooks: SandboxHooks): Promise<Sandbox> {
    const box = new VmSandbox(hooks, limits);
    await box.init(this.prelude.core);
    return box;
  }
}

class VmSandbox implements Sandbox {
  private vm!: QuickJS;
  private api!: JSValueHandle;
  /** The internal API's functions, looked up once (the API object never changes). */
  private readonly apiFns = new Map<string, JSValueHandle>();
  private readonly dispatchMemo: DispatchMemo = { env: undefined };
  private watched: Watched[] = [];
  private readonly readDispatch = (h: JSValueHandle) => readDispatchResult(this.vm, h.ptr);
  private readonly dump = (h: JSValueHandle) => this.vm.dump(h);
  private hooks: SandboxHooks;
  private interruptFired = false;
  private limitBytes: number;
  disposed = false;

  constructor(hooks: SandboxHooks, private readonly limits: SandboxLimits) {
    this.hooks = hooks;
    this.limitBytes = limits.memoryLimitBytes;
  }

  async init(preludeCore: Uint8Array): Promise<void> {
    this.vm = await QuickJS.create({
      wasm: quickjsWasmModule(),
      memoryLimit: this.limits.memoryLimitBytes,
      maxStackSize: this.limits.maxStackBytes,
      interruptHandler: () => {
        if (this.hooks.shouldInterrupt()) {
          this.interruptFired = true;
          return true;
        }
        return false;
      },
    });
    const vm = this.vm;
    const hostFn = vm.newFunction('__faas_host', (...args) => this.onHostCall(args));
    vm.setProp(vm.global, '__faas_host', hostFn);
    hostFn.dispose();
    this.api = this.guard(() => vm.evalBytecode(preludeCore));
  }

  setHooks(hooks: SandboxHooks): void {
    this.hooks = hooks;
  }

  setMemoryLimit(bytes: number): void {
    this.limitBytes = bytes;
    this.vm._getExports().qjs_set_memory_limit(bytes);
  }

  evalScript(code: GuestCode): void {
    this.guard(() => {
      const result = code.bytecode ? this.vm.evalBytecode(code.bytecode) : this.vm.evalCode(code.source ?? '', code.filename);
      result.dispose();
    });
  }

  async loadModule(code: GuestCode): Promise<void> {
    const nsPromise = this.guard(() =>
      code.bytecode
        ? this.vm.evalBytecode(code.bytecode)
        : this.vm.evalCode(code.source ?? '', code.filename, EvalFlags.TYPE_MODULE),
    );
    this.runJobs();
    const settled = await this.vm.resolvePromise(nsPromise);
    nsPromise.dispose();
    if ('error' in settled) throw this.faultFromValue(settled.error);
    const ns = settled.value;
    try {
      const attach = this.api.getProp('attach');
      try {
        this.guard(() => this.vm.callFunction(attach, this.api, ns).dispose());
      } finally {
        attach.dispose();
      }
    } finally {
      ns.dispose();
    }
  }

  callApi(name: string, args: unknown[]): unknown {
    const vm = this.vm;
    const dispatch = name === DISPATCH;
    const argHandles = dispatch ? dispatchArgs(vm, dispatchRequest(args, this.dispatchMemo)) : args.map((a) => vm.hostToHandle(a));
    let result: JSValueHandle;
    try {
      result = this.guard(() => vm.callFunction(this.apiFn(name), this.api, ...argHandles));
    } finally {
      for (const h of argHandles) h.dispose();
    }
    if (dispatch) rememberEnv(args, this.dispatchMemo);
    const map = dispatch ? this.readDispatch : this.dump;
    if (vm._getExports().qjs_is_promise(result.ptr) === 0) return result.consume(map);
    // Settled by the jobs the owner runs right after this call (see runJobs), as a rule.
    return new Promise((resolve, reject) => {
      this.watched.push({ promise: result, map, resolve, reject });
      if (this.watched.length === 1) queueMicrotask(() => this.checkWatched());
    });
  }

  private apiFn(name: string): JSValueHandle {
    let fn = this.apiFns.get(name);
    if (!fn) this.apiFns.set(name, (fn = this.api.getProp(name)));
    return fn;
  }

  runJobs(): void {
    const e = this.vm._getExports();
    this.guard(() => {
      while (e.qjs_is_job_pending()) {
        if (e.qjs_execute_pending_job() < 0) throw new JSException(this.vm.getException());
      }
    });
    this.checkWatched();
  }

  /** Settles the watched promises that settled; subscribes (through the package) to the others. */
  private checkWatched(): void {
    if (this.watched.length === 0 || this.disposed) return;
    const vm = this.vm;
    const e = vm._getExports();
    const list = this.watched;
    this.watched = [];
    for (const { promise, map, resolve, reject } of list) {
      const state = e.qjs_promise_state(promise.ptr);
      if (state === PROMISE_FULFILLED || state === PROMISE_REJECTED) {
        const value = new JSValueHandle(vm, e.qjs_promise_result(promise.ptr));
        promise.dispose();
        try {
          if (state === PROMISE_FULFILLED) resolve(value.consume(map));
          else reject(this.faultFromValue(value));
        } catch (err) {
          reject(err instanceof GuestFault ? err : classifyHostError(err));
        }
        continue;
      }
      const settled = vm.resolvePromise(promise);
      promise.dispose();
      settled.then((r) => {
        if ('error' in r) throw this.faultFromValue(r.error);
        return r.value.consume(map);
      }).then(resolve, reject);
    }
  }

  heapBytes(): number {
    return this.vm.getMemoryUsage().mallocSize;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    try {
      for (const fn of this.apiFns.values()) fn.dispose();
      for (const w of this.watched) w.promise.dispose();
      this.watched = [];
      this.api?.dispose();
      this.vm?.dispose();
    } catch {
      // a VM that trapped may not free cleanly; its memory goes with the instance either way
    }
  }

  /** Runs guest code and turns whatever escapes into a classified GuestFault. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof GuestFault) throw err;
      if (err instanceof JSException) {
        const fault = classifyGuestError(
          { name: err.name, message: err.message, stack: err.stack },
          { interrupted: this.consumeInterrupt(), heapBytes: this.safeHeap(), limitBytes: this.limitBytes },
        );
        err.handle.dispose();
        throw fault;
      }
      throw classifyHostError(err);
    }
  }

  private faultFromValue(value: JSValueHandle): GuestFault {
    const vm = this.vm;
    const info = value.consume((h) => {
      if (h.isNull || h.isUndefined || vm.typeof(h) !== 'object') {
        return { name: 'Error', message: h.isNull ? 'null' : String(vm.dump(h)), stack: undefined };
      }
      const get = (k: string) => h.getProp(k).consume((p) => (p.isUndefined ? undefined : p.toString()));
      return { name: get('name') ?? 'Error', message: get('message') ?? '', stack: get('stack') };
    });
    return classifyGuestError(info, {
      interrupted: this.consumeInterrupt(),
      heapBytes: this.safeHeap(),
      limitBytes: this.limitBytes,
    });
  }

  private consumeInterrupt(): boolean {
    const fired = this.interruptFired;
    this.interruptFired = false;
    return fired;
  }

  private safeHeap(): number {
    try {
      return this.heapBytes();
    } catch {
      return 0;
    }
  }

  private onHostCall(args: JSValueHandle[]): JSValueHandle {
    const vm = this.vm;
    const op = args[0]?.toString() ?? '';
    const values = args.slice(1).map((h) => vm.dump(h));
    let result: unknown;
    try {
      result = this.hooks.hostCall(op, values);
    } catch (err) {
      throw toGuestSafeError(err);
    }
    if (result instanceof Promise) {
      const deferred = vm.newPromise();
      const origin = result;
      result.then(
        (value) => {
          if (!this.disposed) this.hooks.resume(() => deferred.resolve(this.transient(vm.hostToHandle(value))), origin);
        },
        (err) => {
          if (!this.disposed) this.hooks.resume(() => deferred.reject(this.transient(this.guestError(err))), origin);
        },
      );
      return this.transient(deferred.handle);
    }
    return this.transient(vm.hostToHandle(result));
  }

  /** A handle the engine dups on return: ours is released once the call has returned. */
  private transient(h: JSValueHandle): JSValueHandle {
    queueMicrotask(() => {
      if (!this.disposed) h.dispose();
    });
    return h;
  }

  private guestError(err: unknown): JSValueHandle {
    const safe = toGuestSafeError(err);
    const h = this.vm.newError(safe.message);
    if (safe.name !== 'Error') {
      const name = this.vm.newString(safe.name);
      h.setProp('name', name);
      name.dispose();
    }
    return h;
  }
}
