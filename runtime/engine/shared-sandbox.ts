import { EvalFlags, JSValueHandle, type QuickJS } from 'quickjs-wasi';
import { GuestFault, type GuestCode, type Sandbox, type SandboxHooks, type SandboxLimits } from './types.ts';
import { classifyGuestError, classifyHostError, type GuestErrorInfo, toGuestSafeError } from './classify.ts';
import type { SharedExports, SharedInstance, Tenant } from './shared-instance.ts';
import { DISPATCH, dispatchRequest, rememberEnv, type DispatchMemo } from './dispatch-codec.ts';
import { dispatchArgs, readDispatchResult } from './wasi-dispatch.ts';

/** An exception that left guest code, already read out of the engine (its handle is freed). */
class GuestThrow extends Error {
  constructor(readonly info: GuestErrorInfo) {
    super(info.message);
  }
}

interface Deferred {
  resolve: JSValueHandle;
  reject: JSValueHandle;
}

/** A guest promise an API call returned, checked again once the jobs that follow the call have run. */
interface Watched {
  promise: JSValueHandle;
  map: (h: JSValueHandle) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

const PROMISE_FULFILLED = 1;
const PROMISE_REJECTED = 2;

/**
 * A sandbox that is one QuickJS runtime + context inside a shared WASM instance.
 *
 * Two rules keep neighbours safe: every call into the engine goes through `guard` (which makes this
 * runtime current), and every handle is freed with this runtime current before `JS_FreeRuntime`
 * (a value left alive makes it fail an assertion, i.e. trap). So the package's conveniences that keep
 * handles of their own (`evalCode`/`callFunction`'s exception tracking, `newPromise`,
 * `resolvePromise`) are replaced here by the raw `qjs_*` calls.
 */
export class SharedSandbox implements Sandbox, Tenant {
  readonly rt: number;
  readonly ctx: number;
  private readonly vm: QuickJS;
  private readonly e: SharedExports;
  private readonly hostName: string;
  private readonly callbackNames = new Set<string>();
  private readonly deferreds = new Set<Deferred>();
  /** Results handed back from host calls: the engine copies them on return; freed on the next call or exit. */
  private returned: JSValueHandle[] = [];
  private api: JSValueHandle | undefined;
  /** The internal API's functions, looked up once (the API object never changes). */
  private readonly apiFns = new Map<string, JSValueHandle>();
  private readonly dispatchMemo: DispatchMemo = { env: undefined };
  private readonly readDispatch = (h: JSValueHandle) => readDispatchResult(this.vm, h.ptr);
  private watched: Watched[] = [];
  /** The context's own JSON.parse, taken before user code runs. */
  private jsonParse: JSValueHandle | undefined;
  private hooks: SandboxHooks;
  private limitBytes: number;
  private interruptFired = false;
  private depth = 0;
  private nextCallback = 1;
  disposed = false;

  constructor(
    private readonly inst: SharedInstance,
    readonly id: number,
    hooks: SandboxHooks,
    private readonly limits: SandboxLimits,
  ) {
    this.vm = inst.vm;
    this.e = inst.e;
    this.hooks = hooks;
    this.limitBytes = limits.memoryLimitBytes;
    this.hostName = `__faas_host#${id}`;
    const { rt, ctx, bytes } = inst.newRuntime();
    this.rt = rt;
    this.ctx = ctx;
    inst.adopt(this, bytes);
  }

  get instanceId(): number {
    return this.inst.id;
  }

  init(preludeCore: Uint8Array): void {
    const { e, vm } = this;
    this.guard(() => {
      e.JS_SetMaxStackSize(this.rt, this.limits.maxStackBytes);
      e.qjs_set_interrupt_handler(1);
      const fn = vm.newFunction(this.hostName, (...args) => this.onHostCall(args));
      const global = vm.getGlobal();
      vm.setProp(global, '__faas_host', fn);
      const json = global.getProp('JSON');
      this.jsonParse = json.getProp('parse');
      json.dispose();
      global.dispose();
      fn.dispose();
      this.api = this.evalBytecode(preludeCore);
    });
  }

  setHooks(hooks: SandboxHooks): void {
    this.hooks = hooks;
  }

  get memoryLimitBytes(): number {
    return this.limitBytes;
  }

  /** Applied on every entry (see SharedInstance.enter), so it takes effect from the next one. */
  setMemoryLimit(bytes: number): void {
    this.limitBytes = bytes;
  }

  evalScript(code: GuestCode): void {
    this.guard(() => {
      const h = code.bytecode ? this.evalBytecode(code.bytecode) : this.evalSource(code.source ?? '', code.filename, 0);
      h.dispose();
    });
  }

  async loadModule(code: GuestCode): Promise<void> {
    const nsPromise = this.guard(() =>
      code.bytecode ? this.evalBytecode(code.bytecode) : this.evalSource(code.source ?? '', code.filename, EvalFlags.TYPE_MODULE),
    );
    try {
      this.runJobs();
    } catch (err) {
      this.guard(() => nsPromise.dispose());
      throw err;
    }
    const ns = await this.guard(() => this.settled(nsPromise, (h) => h.dup()));
    this.guard(() => {
      const api = this.api!;
      const attach = api.getProp('attach');
      try {
        this.call(attach, api, [ns]).dispose();
      } finally {
        attach.dispose();
        ns.dispose();
      }
    });
  }

  callApi(name: string, args: unknown[]): unknown {
    if (name === DISPATCH) return this.dispatch(args);
    const vm = this.vm;
    return this.guard(() => {
      const argHandles = args.map((a) => this.toGuest(a));
      let result: JSValueHandle;
      try {
        result = this.call(this.apiFn(name), this.api!, argHandles);
      } finally {
        for (const h of argHandles) h.dispose();
      }
      if (this.e.qjs_is_promise(result.ptr) === 0) return result.consume((h) => vm.dump(h));
      return this.settled(result, (h) => vm.dump(h));
    });
  }

  /** The per-request call, in the compact form of dispatch-codec.ts. */
  private dispatch(args: unknown[]): unknown {
    return this.guard(() => {
      const argHandles = dispatchArgs(this.vm, dispatchRequest(args, this.dispatchMemo));
      let result: JSValueHandle;
      try {
        result = this.call(this.apiFn(DISPATCH), this.api!, argHandles);
      } finally {
        for (const h of argHandles) h.dispose();
      }
      rememberEnv(args, this.dispatchMemo);
      if (this.e.qjs_is_promise(result.ptr) === 0) return result.consume(this.readDispatch);
      return this.settled(result, this.readDispatch);
    });
  }

  private apiFn(name: string): JSValueHandle {
    let fn = this.apiFns.get(name);
    if (!fn) this.apiFns.set(name, (fn = this.api!.getProp(name)));
    return fn;
  }

  runJobs(): void {
    const e = this.e;
    this.guard(() => {
      while (e.qjs_is_job_pending()) {
        if (e.qjs_execute_pending_job() < 0) throw new GuestThrow(this.takeException());
      }
      this.checkWatched();
    });
  }

  heapBytes(): number {
    return this.disposed ? 0 : this.inst.heapBytes(this);
  }

  dispose(): void {
    if (this.disposed) return;
    if (!this.inst.faulted) {
      try {
        this.inst.run(this, () => {
          this.flushReturned();
          for (const fn of this.apiFns.values()) fn.dispose();
          for (const w of this.watched) w.promise.dispose();
          this.api?.dispose();
          this.jsonParse?.dispose();
          for (const d of this.deferreds) {
            d.resolve.dispose();
            d.reject.dispose();
          }
        });
      } catch {
        this.inst.fault();
      }
    }
    this.disposed = true;
    this.apiFns.clear();
    this.watched = [];
    this.deferreds.clear();
    for (const name of this.callbackNames) this.vm.unregisterHostCallback(name);
    this.callbackNames.clear();
    this.vm.unregisterHostCallback(this.hostName);
    this.inst.release(this);
  }

  checkInterrupt(): boolean {
    if (this.hooks.shouldInterrupt()) {
      this.interruptFired = true;
      return true;
    }
    return false;
  }

  /** Runs engine work with this runtime current; whatever escapes becomes a classified GuestFault. */
  private guard<T>(fn: () => T): T {
    if (this.disposed) throw new GuestFault('engine_trap', 'Error', 'engine failure: the sandbox was disposed');
    try {
      return this.inst.run(this, () => {
        this.depth++;
        try {
          return fn();
        } finally {
          if (--this.depth === 0) this.flushReturned();
        }
      });
    } catch (err) {
      throw this.toFault(err);
    }
  }

  private toFault(err: unknown): GuestFault {
    if (err instanceof GuestFault) return err;
    if (err instanceof GuestThrow) return this.classify(err.info);
    // A trap or a host stack overflow unwound WASM mid-instruction: the allocator or a neighbour's heap
    // may be half-updated, so the whole instance is retired (its other runtimes drain and go).
    const fault = classifyHostError(err);
    this.inst.fault();
    return fault;
  }

  private classify(info: GuestErrorInfo): GuestFault {
    const interrupted = this.interruptFired;
    this.interruptFired = false;
    return classifyGuestError(info, { interrupted, heapBytes: this.heapBytes(), limitBytes: this.limitBytes });
  }

  private checked(ptr: number): JSValueHandle {
    if (this.e.qjs_is_exception(ptr)) {
      this.e.qjs_free_value(ptr);
      throw new GuestThrow(this.takeException());
    }
    return new JSValueHandle(this.vm, ptr);
  }

  private evalBytecode(bytes: Uint8Array): JSValueHandle {
    const e = this.e;
    const buf = e.wasm_malloc(bytes.byteLength);
    if (!buf) throw new GuestThrow({ name: 'InternalError', message: 'out of memory' });
    new Uint8Array(e.memory.buffer, buf, bytes.byteLength).set(bytes);
    const result = e.qjs_eval_bytecode(buf, bytes.byteLength);
    e.wasm_free(buf);
    return this.checked(result);
  }

  private evalSource(source: string, filename: string, flags: number): JSValueHandle {
    const e = this.e;
    const code = this.vm._writeString(source);
    const name = this.vm._writeString(filename);
    const result = e.qjs_eval(code.ptr, code.len, name.ptr, flags);
    e.wasm_free(code.ptr);
    e.wasm_free(name.ptr);
    return this.checked(result);
  }

  private call(fn: JSValueHandle, thisVal: JSValueHandle, args: JSValueHandle[]): JSValueHandle {
    const e = this.e;
    let argv = 0;
    if (args.length > 0) {
      argv = e.wasm_malloc(args.length * 4);
      const view = new Uint32Array(e.memory.buffer, argv, args.length);
      args.forEach((a, i) => (view[i] = a.ptr));
    }
    const result = e.qjs_call(fn.ptr, thisVal.ptr, args.length, argv);
    if (argv) e.wasm_free(argv);
    return this.checked(result);
  }

  /**
   * A host Promise for a guest promise (consumed). `map` runs when it fulfils, with this runtime
   * current, so results are copied out before any other runtime can run.
   *
   * The owner runs the guest's jobs right after every call (instance.ts), and most promises an API
   * call returns settle during those jobs: a pending one is only watched until then (runJobs checks
   * it), which spares two host callbacks and their trips through the engine. One still pending after
   * the jobs gets the callbacks; a microtask does that too if no runJobs came.
   */
  private settled<T>(promise: JSValueHandle, map: (h: JSValueHandle) => T): Promise<T> {
    const state = this.e.qjs_promise_state(promise.ptr);
    if (state === PROMISE_FULFILLED || state === PROMISE_REJECTED) return this.settledNow(promise, state, map);
    return new Promise<T>((resolve, reject) => {
      this.watched.push({ promise, map, resolve: resolve as (v: unknown) => void, reject });
      if (this.watched.length === 1) queueMicrotask(() => this.watchFallback());
    });
  }

  private settledNow<T>(promise: JSValueHandle, state: number, map: (h: JSValueHandle) => T): Promise<T> {
    const value = new JSValueHandle(this.vm, this.e.qjs_promise_result(promise.ptr));
    promise.dispose();
    try {
      return state === PROMISE_FULFILLED ? Promise.resolve(map(value)) : Promise.reject(this.faultFrom(value));
    } finally {
      value.dispose();
    }
  }

  /** After the jobs ran (inside guard): settle what settled, subscribe to what is still pending. */
  private checkWatched(): void {
    if (this.watched.length === 0) return;
    const list = this.watched;
    this.watched = [];
    for (const w of list) {
      const state = this.e.qjs_promise_state(w.promise.ptr);
      try {
        if (state === PROMISE_FULFILLED || state === PROMISE_REJECTED) this.deliver(w, state);
        else this.subscribe(w);
      } catch (err) {
        w.reject(this.toFault(err));
      }
    }
  }

  private deliver(w: Watched, state: number): void {
    const value = new JSValueHandle(this.vm, this.e.qjs_promise_result(w.promise.ptr));
    w.promise.dispose();
    try {
      if (state === PROMISE_FULFILLED) w.resolve(w.map(value));
      else w.reject(this.faultFrom(value));
    } finally {
      value.dispose();
    }
  }

  private watchFallback(): void {
    if (this.watched.length === 0 || this.disposed) return;
    if (this.inst.faulted) {
      const list = this.watched;
      this.watched = [];
      for (const w of list) w.reject(new GuestFault('engine_trap', 'Error', 'engine failure: the instance faulted'));
      return;
    }
    try {
      this.guard(() => this.checkWatched());
    } catch {
      // each watched promise was answered (or kept) by checkWatched
    }
  }

  private subscribe(w: Watched): void {
    const { e, vm } = this;
    const { promise, map, resolve, reject } = w;
    let names: string[] = [];
    const done = () => names.forEach((n) => this.dropCallback(n));
    let onFulfilled: { name: string; handle: JSValueHandle } | undefined;
    let onRejected: { name: string; handle: JSValueHandle } | undefined;
    try {
      onFulfilled = this.callback((args) => {
        done();
        try {
          resolve(map(args[0] ?? vm.undefined));
        } catch (err) {
          reject(this.toFault(err));
        }
      });
      onRejected = this.callback((args) => {
        done();
        reject(this.faultFrom(args[0] ?? vm.undefined));
      });
      names = [onFulfilled.name, onRejected.name];
      e.qjs_free_value(e.qjs_promise_then(promise.ptr, onFulfilled.handle.ptr, onRejected.handle.ptr));
    } finally {
      onFulfilled?.handle.dispose();
      onRejected?.handle.dispose();
      promise.dispose();
    }
  }

  private callback(fn: (args: JSValueHandle[]) => void): { name: string; handle: JSValueHandle } {
    const name = `${this.hostName}:${this.nextCallback++}`;
    this.callbackNames.add(name);
    const handle = this.vm.newFunction(name, (...args) => {
      fn(args);
      return this.vm.undefined;
    });
    return { name, handle };
  }

  private dropCallback(name: string): void {
    this.callbackNames.delete(name);
    this.vm.unregisterHostCallback(name);
  }

  private faultFrom(value: JSValueHandle): GuestFault {
    return this.classify(this.errorInfo(value));
  }

  private takeException(): GuestErrorInfo {
    const exc = this.vm.getException();
    try {
      return this.errorInfo(exc);
    } finally {
      exc.dispose();
    }
  }

  /** Name, message and stack of a thrown value, read without running guest getters into trouble. */
  private errorInfo(h: JSValueHandle): GuestErrorInfo {
    if (!h.isObject) {
      const message = h.isNull ? 'null' : h.isUndefined ? 'undefined' : h.isString ? h.toString() : String(this.vm.dump(h));
      return { name: 'Error', message };
    }
    const read = (key: string): string | undefined => {
      const p = h.getProp(key);
      try {
        if (this.e.qjs_is_exception(p.ptr)) {
          this.vm.getException().dispose();
          return undefined;
        }
        return p.isString ? p.toString() : undefined;
      } finally {
        p.dispose();
      }
    };
    return { name: read('name') ?? 'Error', message: read('message') ?? '', stack: read('stack') };
  }

  /** Called from inside the guest (this runtime is current) for every `__faas_host(op, ...args)`. */
  private onHostCall(args: JSValueHandle[]): JSValueHandle {
    const vm = this.vm;
    this.flushReturned();
    const op = args[0]?.toString() ?? '';
    const values = args.slice(1).map((h) => vm.dump(h));
    let result: unknown;
    try {
      result = this.hooks.hostCall(op, values);
    } catch (err) {
      throw toGuestSafeError(err);
    }
    const handle = result instanceof Promise ? this.deferred(result) : this.toGuest(result);
    this.returned.push(handle);
    return handle;
  }

  /** A guest promise settled, through the owner's `resume`, when the host operation does. */
  private deferred(origin: Promise<unknown>): JSValueHandle {
    const { e, vm } = this;
    const out = e.wasm_malloc(8);
    const promisePtr = e.qjs_new_promise(out, out + 4);
    const [resolvePtr, rejectPtr] = new Uint32Array(e.memory.buffer, out, 2);
    e.wasm_free(out);
    const promise = this.checked(promisePtr);
    const d: Deferred = { resolve: new JSValueHandle(vm, resolvePtr!), reject: new JSValueHandle(vm, rejectPtr!) };
    this.deferreds.add(d);
    origin.then(
      (value) => {
        if (!this.disposed) this.hooks.resume(() => this.settleDeferred(d, true, value), origin);
      },
      (err) => {
        if (!this.disposed) this.hooks.resume(() => this.settleDeferred(d, false, err), origin);
      },
    );
    return promise;
  }

  private settleDeferred(d: Deferred, ok: boolean, value: unknown): void {
    this.guard(() => {
      if (!this.deferreds.delete(d)) return;
      const arg = ok ? this.toGuest(value) : this.guestError(value);
      try {
        this.call(ok ? d.resolve : d.reject, this.vm.undefined, [arg]).dispose();
      } finally {
        arg.dispose();
        d.resolve.dispose();
        d.reject.dispose();
      }
    });
  }

  /**
   * Host value → guest value. Plain JSON-shaped objects go as one string through the guest's own
   * JSON.parse (three engine calls instead of two per property; it also defines properties rather than
   * assigning them, so setters planted on Object.prototype never see host data); anything else (bytes,
   * undefined, non-finite numbers) takes the package's property-by-property path.
   */
  private toGuest(value: unknown): JSValueHandle {
    if (value === null || typeof value !== 'object' || !this.jsonParse || !jsonShaped(value, 0)) return this.vm.hostToHandle(value);
    const text = this.vm.newString(JSON.stringify(value));
    try {
      return this.call(this.jsonParse, this.vm.undefined, [text]);
    } finally {
      text.dispose();
    }
  }

  private guestError(err: unknown): JSValueHandle {
    return this.vm.newError(toGuestSafeError(err));
  }

  private flushReturned(): void {
    if (this.returned.length === 0) return;
    const list = this.returned;
    this.returned = [];
    for (const h of list) h.dispose();
  }
}

/** Whether JSON carries `v` exactly: plain objects, dense arrays, strings, booleans, null, finite numbers. */
function jsonShaped(v: unknown, depth: number): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (typeof v !== 'object' || depth > 32) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!(i in v) || !jsonShaped(v[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in v) if (!jsonShaped((v as Record<string, unknown>)[k], depth + 1)) return false;
  return true;
}
