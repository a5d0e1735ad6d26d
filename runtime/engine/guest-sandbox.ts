/**
 * The sandbox skeleton every engine shares: boot of the prelude core, the typed entry points, host
 * operations (arguments read under their declared limits, errors turned into guest exceptions), the
 * promise bridge in both directions, and fault classification. An engine supplies a GuestVm for its
 * handles and the few things only it knows (how to make its runtime current, what a host-side
 * failure does to its WASM instance).
 */
import { classifyGuestError, classifyHostError, toGuestSafeError } from './classify.ts';
import { RESPONSE_LIMITS, encodeBody, type BodyStreamRef, type DispatchRequest, type DispatchResponse } from './dispatch-codec.ts';
import { GuestThrow, PROMISE_FULFILLED, PROMISE_PENDING, type GuestErrorInfo, type GuestVm } from './guest-vm.ts';
import { GuestFault, type ArgSpec, type GuestCode, type HostArg, type HostValue, type MaybePromise, type Sandbox, type SandboxHooks } from './types.ts';

/** The prelude API's functions, by name (see runtime/prelude/guest/core.ts). */
const API_FUNCTIONS = ['attach', 'dispatch', 'settle', 'scheduled', 'fireTimer', 'dropTimers', 'pendingTimers', 'watch', 'parseJson', 'byteLength', 'quote', 'pull'] as const;
type ApiName = (typeof API_FUNCTIONS)[number];

/** The host operation that evaluates a lazy prelude chunk; served here, it returns a guest value. */
const LOAD_CHUNK = 'loadChunk';
/** Longest host operation name the guest may send. */
const MAX_OP_NAME = 64;

/** A guest promise an entry returned, settled once the jobs that follow the entry have run. */
interface Watched<H> {
  promise: H;
  map: (h: H) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** The prelude API's handles in a sandbox's memory (what a copy of that memory needs besides the bytes). */
export interface BootState<H> {
  apiObject: H;
  api: [string, H][];
}

interface Deferred<H> {
  resolve: H;
  reject: H;
}

/** Where a sandbox finds the prelude's lazy chunks (by name, in the form its engine runs). */
export type ChunkSource = (name: string) => GuestCode | undefined;

export abstract class GuestSandbox<H> implements Sandbox {
  protected abstract readonly vm: GuestVm<H>;
  protected hooks: SandboxHooks;
  protected limitBytes: number;
  /** Set by the engine's interrupt handler when it stopped the guest; read by the next classification. */
  protected interruptFired = false;
  private readonly api = new Map<ApiName, H>();
  private apiObject: H | undefined;
  private readonly deferreds = new Set<Deferred<H>>();
  private watched: Watched<H>[] = [];
  /** The env JSON this sandbox was last sent (the guest caches the env built from it). */
  private lastEnv: string | undefined;
  disposed = false;

  constructor(
    hooks: SandboxHooks,
    memoryLimitBytes: number,
    private readonly chunks: ChunkSource,
  ) {
    this.hooks = hooks;
    this.limitBytes = memoryLimitBytes;
  }

  /** Runs `fn` with this sandbox's runtime current (engines with several runtimes per instance switch here). */
  protected abstract enter<T>(fn: () => T): T;
  /** A host-side failure while guest code ran (a WASM trap, a host stack overflow): what it does to the instance. */
  protected abstract onEngineFailure(err: unknown): void;
  /** Engine-specific classification that comes before the generic one (e.g. a sampled heap over its cap). */
  protected classifyFirst(_info: GuestErrorInfo): GuestFault | undefined {
    return undefined;
  }
  /** Checked after every entry: engines whose interrupt only rejects a promise turn that into a fault here. */
  protected afterEntry(): void {}
  abstract heapBytes(): number;
  abstract setMemoryLimit(bytes: number): void;
  /** Frees engine resources (the runtime, the instance slot); called once, after the handles are freed. */
  protected abstract release(): void;

  setHooks(hooks: SandboxHooks): void {
    this.hooks = hooks;
  }

  // ---------------------------------------------------------------------------------------------- boot

  /** Evaluates the prelude core and boots it with the host function (never a global). */
  protected boot(core: GuestCode): void {
    this.guard(() => {
      const vm = this.vm;
      const boot = this.evaluate(core, false);
      const host = vm.newFunction('host', this.hostFunction);
      try {
        this.apiObject = vm.call(boot, vm.undefined, [host]);
      } finally {
        vm.free(boot);
        vm.free(host);
      }
      for (const name of API_FUNCTIONS) this.api.set(name, vm.property(this.apiObject, name));
    });
  }

  /**
   * The prelude API's handles, for a copy of this sandbox's memory (snapshot.ts): only once a module
   * loaded, and only while the guest holds nothing the host side would have to carry over (a host
   * operation it awaits, a promise the host watches).
   */
  protected bootState(): BootState<H> | undefined {
    if (!this.moduleLoaded || this.apiObject === undefined || this.deferreds.size > 0 || this.watched.length > 0) return undefined;
    return { apiObject: this.apiObject, api: [...this.api] };
  }

  /** Takes over a copied sandbox's handles: its memory image (which holds them) is now this sandbox's. */
  protected adoptBoot(state: BootState<H>): void {
    this.apiObject = state.apiObject;
    this.api.clear();
    for (const [name, h] of state.api) this.api.set(name as ApiName, h);
    this.lastEnv = undefined;
    this.moduleLoaded = true;
  }

  /** The body of the prelude's one host function (bound again by name in a restored copy). */
  protected readonly hostFunction = (args: H[]): H => this.onHostCall(args);

  /** Set once a module loaded (a blank sandbox has none). */
  protected moduleLoaded = false;

  private evaluate(code: GuestCode, module: boolean): H {
    const vm = this.vm;
    if (code.bytecode && this.runsBytecode) return vm.evalBytecode(code.bytecode);
    if (code.source === undefined) throw new GuestFault('exception', 'TypeError', `no source for ${code.filename} (this engine cannot run bytecode)`);
    return vm.evalSource(code.source, code.filename, module);
  }

  protected abstract readonly runsBytecode: boolean;

  // -------------------------------------------------------------------------------------- entry points

  async loadModule(code: GuestCode): Promise<void> {
    this.moduleLoaded = true;
    const evaluated = this.guard(() => this.evaluate(code, true));
    try {
      this.runJobs();
    } catch (err) {
      this.guard(() => this.vm.free(evaluated));
      throw err;
    }
    // Module bytecode evaluates to a promise of the namespace; an engine may hand the namespace itself.
    // It is attached in the entry where it appears: a handle carried across an await would outlive a
    // sandbox disposed meanwhile (a load that failed its limits while its top-level await was pending).
    await this.guard(() => {
      if (this.vm.isPromise(evaluated)) return this.settled(evaluated, (ns) => this.attach(ns));
      try {
        this.attach(evaluated);
      } finally {
        this.vm.free(evaluated);
      }
      return undefined;
    });
  }

  private attach(ns: H): void {
    this.vm.free(this.callApi('attach', [ns]));
  }

  dispatch(req: DispatchRequest): MaybePromise<DispatchResponse> {
    return this.guard(() => {
      const vm = this.vm;
      const env = req.env === this.lastEnv ? undefined : req.env;
      const args = [
        vm.newString(req.method),
        vm.newString(req.url),
        req.headers === null ? vm.null : vm.newString(req.headers),
        req.body === null ? vm.null : req.body instanceof Uint8Array ? vm.newBytes(req.body) : vm.newNumber(req.body.stream),
        env === undefined ? vm.undefined : vm.newString(env),
        vm.newString(req.id),
      ];
      let result: H;
      try {
        result = this.callApi('dispatch', args);
      } finally {
        for (const h of args) vm.free(h);
      }
      this.lastEnv = req.env;
      return this.answer(result, (h) => this.readDispatchResult(h));
    });
  }

  scheduled(cron: string, scheduledTime: number, env: string | undefined, id: string): MaybePromise<void> {
    return this.guard(() => {
      const vm = this.vm;
      const sendEnv = env === undefined || env === this.lastEnv ? undefined : env;
      const args = [vm.newString(cron), vm.newNumber(scheduledTime), sendEnv === undefined ? vm.undefined : vm.newString(sendEnv), vm.newString(id)];
      let result: H;
      try {
        result = this.callApi('scheduled', args);
      } finally {
        for (const h of args) vm.free(h);
      }
      if (env !== undefined) this.lastEnv = env;
      return this.answer(result, () => undefined);
    });
  }

  settle(id: string): MaybePromise<void> {
    return this.guard(() => {
      const arg = this.vm.newString(id);
      let result: H;
      try {
        result = this.callApi('settle', [arg]);
      } finally {
        this.vm.free(arg);
      }
      return this.answer(result, () => undefined);
    });
  }

  pullStream(id: number): MaybePromise<Uint8Array | null> {
    return this.guard(() => {
      const arg = this.vm.newNumber(id);
      let result: H;
      try {
        result = this.callApi('pull', [arg]);
      } finally {
        this.vm.free(arg);
      }
      return this.answer(result, (h) => this.readChunk(h));
    });
  }

  cancelStream(id: number, reason: string): void {
    this.guard(() => {
      const args = [this.vm.newNumber(id), this.vm.newString(reason)];
      try {
        this.vm.free(this.callApi('pull', args));
      } finally {
        for (const h of args) this.vm.free(h);
      }
    });
  }

  /** A piece of a streamed body: bytes under RESPONSE_LIMITS.maxChunkBytes, or null (the end). */
  private readChunk(h: H): Uint8Array | null {
    const vm = this.vm;
    const k = vm.kind(h);
    if (k === 'null' || k === 'undefined') return null;
    if (k !== 'bytes') throw new GuestFault('exception', 'TypeError', 'a response body stream must yield bytes');
    if (vm.bytesLength(h) > RESPONSE_LIMITS.maxChunkBytes) {
      throw new GuestFault('exception', 'RangeError', `a response body chunk exceeds ${RESPONSE_LIMITS.maxChunkBytes} bytes`);
    }
    const b = vm.readBytes(h);
    return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice();
  }

  fireTimer(id: number): void {
    this.guard(() => {
      const arg = this.vm.newNumber(id);
      try {
        this.vm.free(this.callApi('fireTimer', [arg]));
      } finally {
        this.vm.free(arg);
      }
    });
  }

  dropTimers(ids: number[]): void {
    this.guard(() => {
      const arr = this.toGuest(ids);
      try {
        this.vm.free(this.callApi('dropTimers', [arr]));
      } finally {
        this.vm.free(arr);
      }
    });
  }

  pendingTimers(): number {
    return this.guard(() => {
      const h = this.callApi('pendingTimers', []);
      try {
        return this.vm.kind(h) === 'number' ? this.vm.readNumber(h) : 0;
      } finally {
        this.vm.free(h);
      }
    });
  }

  runJobs(): void {
    this.guard(() => {
      const vm = this.vm;
      while (vm.hasPendingJob()) vm.executePendingJob();
      this.checkWatched();
    });
  }

  dispose(): void {
    if (this.disposed) return;
    try {
      if (this.healthy) {
        this.enter(() => {
          const vm = this.vm;
          for (const h of this.api.values()) vm.free(h);
          if (this.apiObject !== undefined) vm.free(this.apiObject);
          for (const w of this.watched) vm.free(w.promise);
          for (const d of this.deferreds) {
            vm.free(d.resolve);
            vm.free(d.reject);
          }
        });
      }
    } catch (err) {
      this.onEngineFailure(err);
    }
    this.disposed = true;
    this.api.clear();
    this.watched = [];
    this.deferreds.clear();
    this.release();
  }

  /** False once the engine under this sandbox can no longer be trusted with a call (its instance faulted). */
  protected get healthy(): boolean {
    return true;
  }

  // -------------------------------------------------------------------------------------------- faults

  /** Runs engine work with this runtime current; whatever escapes becomes a classified GuestFault. */
  protected guard<T>(fn: () => T): T {
    if (this.disposed) throw new GuestFault('engine_trap', 'Error', 'engine failure: the sandbox was disposed');
    let result: T;
    try {
      result = this.enter(fn);
    } catch (err) {
      throw this.toFault(err);
    }
    this.afterEntry();
    return result;
  }

  protected toFault(err: unknown): GuestFault {
    if (err instanceof GuestFault) return err;
    if (err instanceof GuestThrow) return this.classify(err.info);
    // A trap or a host stack overflow unwound WASM mid-instruction.
    this.onEngineFailure(err);
    return classifyHostError(err);
  }

  protected classify(info: GuestErrorInfo): GuestFault {
    const first = this.classifyFirst(info);
    const interrupted = this.interruptFired;
    this.interruptFired = false;
    if (first) return first;
    return classifyGuestError(info, { interrupted, heapBytes: this.safeHeap(), limitBytes: this.limitBytes });
  }

  private safeHeap(): number {
    try {
      return this.heapBytes();
    } catch {
      return 0;
    }
  }

  private faultFrom(value: H): GuestFault {
    return this.classify(this.vm.errorInfo(value));
  }

  // ------------------------------------------------------------------------------------ guest → host

  /** A new handle on one of the prelude API's functions. */
  protected apiFunction(name: ApiName): H {
    return this.vm.dup(this.api.get(name)!);
  }

  private callApi(name: ApiName, args: readonly H[]): H {
    return this.vm.call(this.api.get(name)!, this.vm.undefined, args);
  }

  /** Called from inside the guest (this runtime is current) for every host operation. */
  private onHostCall(args: H[]): H {
    const vm = this.vm;
    const opHandle = args[0];
    if (opHandle === undefined || vm.kind(opHandle) !== 'string' || vm.stringLength(opHandle) > MAX_OP_NAME) {
      throw guestError('TypeError', 'host operation: the first argument must be an operation name');
    }
    const op = vm.readString(opHandle);
    if (op === LOAD_CHUNK) return this.loadChunk(args);
    const specs = this.hooks.argSpecs(op);
    if (!specs) throw guestError('TypeError', `unknown host operation "${op}"`);
    try {
      // reading and answering can fail in the engine too (no memory left for a copy): name and message only
      const result = this.hooks.hostCall(op, readArgs(vm, op, specs, args));
      return result instanceof Promise ? this.deferred(result) : this.toGuest(result as HostValue);
    } catch (err) {
      throw toGuestSafeError(err);
    }
  }

  /** Evaluates a prelude chunk and hands its completion value (a function) straight back to the prelude. */
  private loadChunk(args: H[]): H {
    const vm = this.vm;
    const nameHandle = args[1];
    const name = nameHandle !== undefined && vm.kind(nameHandle) === 'string' && vm.stringLength(nameHandle) <= MAX_OP_NAME ? vm.readString(nameHandle) : '';
    const code = name ? this.chunks(name) : undefined;
    if (!code) throw guestError('TypeError', `unknown prelude chunk "${name}"`);
    return this.evaluate(code, false);
  }

  // ------------------------------------------------------------------------------------ host → guest

  /** A guest promise settled, through the owner's `resume`, when the host operation does. */
  private deferred(origin: Promise<unknown>): H {
    const { promise, resolve, reject } = this.vm.newPromise();
    const d: Deferred<H> = { resolve, reject };
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

  private settleDeferred(d: Deferred<H>, ok: boolean, value: unknown): void {
    this.guard(() => {
      if (!this.deferreds.delete(d)) return;
      const vm = this.vm;
      const arg = ok ? this.toGuest(value as HostValue) : this.guestErrorValue(value);
      try {
        vm.free(vm.call(ok ? d.resolve : d.reject, vm.undefined, [arg]));
      } finally {
        vm.free(arg);
        vm.free(d.resolve);
        vm.free(d.reject);
      }
    });
  }

  /**
   * Host value → guest value. Plain JSON-shaped objects go as one string through the prelude's
   * captured JSON.parse (fewer engine calls than property by property, and JSON.parse defines
   * properties, so setters planted on Object.prototype never see host data); anything else is built
   * with defined properties.
   */
  protected toGuest(value: HostValue, depth = 0): H {
    const vm = this.vm;
    if (value === undefined) return vm.undefined;
    if (value === null) return vm.null;
    switch (typeof value) {
      case 'boolean':
        return vm.newBool(value);
      case 'number':
        return vm.newNumber(value);
      case 'string':
        return vm.newString(value);
    }
    if (value instanceof Uint8Array) return vm.newBytes(value);
    if (value instanceof ArrayBuffer) return vm.newBytes(new Uint8Array(value));
    if (depth > 32) throw new TypeError('host value too deeply nested');
    if (depth === 0 && jsonShaped(value, 0)) {
      const text = vm.newString(JSON.stringify(value));
      try {
        return vm.call(this.api.get('parseJson')!, vm.undefined, [text]);
      } finally {
        vm.free(text);
      }
    }
    const out = Array.isArray(value) ? vm.newArray() : vm.newObject();
    try {
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) this.defineFrom(out, i, value[i] as HostValue, depth);
      } else {
        for (const key of Object.keys(value)) this.defineFrom(out, key, (value as Record<string, HostValue>)[key]!, depth);
      }
    } catch (err) {
      vm.free(out);
      throw err;
    }
    return out;
  }

  private defineFrom(target: H, key: string | number, value: HostValue, depth: number): void {
    const h = this.toGuest(value, depth + 1);
    try {
      this.vm.define(target, key, h);
    } finally {
      this.vm.free(h);
    }
  }

  private guestErrorValue(err: unknown): H {
    const safe = toGuestSafeError(err);
    return this.vm.newError(safe.name, safe.message);
  }

  // ------------------------------------------------------------------------------------ promise bridge

  /** The value of an entry: now when the guest answered synchronously, else a Promise settled by runJobs. */
  private answer<T>(result: H, map: (h: H) => T): MaybePromise<T> {
    const vm = this.vm;
    if (!vm.isPromise(result)) {
      try {
        return map(result);
      } finally {
        vm.free(result);
      }
    }
    return this.settled(result, map);
  }

  /**
   * A host Promise for a guest promise (consumed). `map` runs when it fulfils, with this runtime
   * current, so results are copied out before any other runtime can run. A promise still pending is
   * watched: the owner runs the guest's jobs right after every entry (in the same accounted entry),
   * and runJobs settles what settled and subscribes to the rest.
   */
  private settled<T>(promise: H, map: (h: H) => T): Promise<T> {
    const state = this.vm.promiseState(promise);
    if (state !== PROMISE_PENDING) {
      return new Promise<T>((resolve, reject) => this.deliver({ promise, map, resolve: resolve as (v: unknown) => void, reject }, state));
    }
    return new Promise<T>((resolve, reject) => {
      this.watched.push({ promise, map, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** After the jobs ran (inside guard): settle what settled, subscribe to what is still pending. */
  private checkWatched(): void {
    if (this.watched.length === 0) return;
    const list = this.watched;
    this.watched = [];
    for (const w of list) {
      const state = this.vm.promiseState(w.promise);
      if (state !== PROMISE_PENDING) this.deliver(w, state);
      else this.subscribe(w);
    }
  }

  private deliver(w: Watched<H>, state: number): void {
    const vm = this.vm;
    const value = vm.promiseResult(w.promise);
    vm.free(w.promise);
    try {
      if (state === PROMISE_FULFILLED) w.resolve(w.map(value));
      else w.reject(this.faultFrom(value));
    } catch (err) {
      w.reject(this.toFault(err));
    } finally {
      vm.free(value);
    }
  }

  /**
   * Host callbacks on a still-pending guest promise. They run inside a later runJobs (an accounted
   * entry), with this runtime current. Engines without a native reaction API go through the
   * prelude's `watch`, which uses the original `then`.
   */
  private subscribe(w: Watched<H>): void {
    const vm = this.vm;
    let pair: [H, H] | undefined;
    try {
      pair = vm.newReactionPair(
        (value) => {
          try {
            w.resolve(w.map(value));
          } catch (err) {
            w.reject(this.toFault(err));
          }
        },
        (reason) => w.reject(this.faultFrom(reason)),
      );
      if (vm.promiseThen) vm.promiseThen(w.promise, pair[0], pair[1]);
      else vm.free(this.callApi('watch', [w.promise, pair[0], pair[1]]));
    } catch (err) {
      w.reject(this.toFault(err));
    } finally {
      if (pair) {
        vm.free(pair[0]);
        vm.free(pair[1]);
      }
      vm.free(w.promise);
    }
  }

  // ---------------------------------------------------------------------------------- dispatch result

  /** `[status, body, waitUntil, name0, value0, …]`, read below its length and under RESPONSE_LIMITS. */
  private readDispatchResult(arr: H): DispatchResponse {
    const vm = this.vm;
    const n = vm.kind(arr) === 'other' ? vm.length(arr) : -1;
    if (n < 3) throw new GuestFault('exception', 'TypeError', 'dispatch: malformed response from the guest');
    if ((n - 3) / 2 > RESPONSE_LIMITS.maxHeaders) {
      throw new GuestFault('exception', 'TypeError', `too many response headers (more than ${RESPONSE_LIMITS.maxHeaders})`);
    }
    const status = this.element(arr, 0, (h) => (vm.kind(h) === 'number' ? vm.readNumber(h) : NaN));
    let body: ArrayBuffer | BodyStreamRef | null = null;
    this.element(arr, 1, (h) => {
      const k = vm.kind(h);
      if (k === 'number') {
        const id = vm.readNumber(h);
        if (!Number.isSafeInteger(id) || id < 1) throw new GuestFault('exception', 'TypeError', 'dispatch: malformed response body stream');
        body = { stream: id };
      } else if (k === 'string') {
        if (vm.stringLength(h) > RESPONSE_LIMITS.maxBodyBytes) throw tooLarge();
        body = encodeBody(vm.readString(h));
      } else if (k === 'bytes') {
        if (vm.bytesLength(h) > RESPONSE_LIMITS.maxBodyBytes) throw tooLarge();
        const b = vm.readBytes(h);
        body = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? (b.buffer as ArrayBuffer) : (b.slice().buffer as ArrayBuffer);
      }
    });
    const waitUntil = this.element(arr, 2, (h) => vm.kind(h) === 'boolean' && vm.readBool(h));
    const headers: [string, string][] = [];
    for (let i = 3; i + 1 < n; i += 2) headers.push([this.element(arr, i, this.headerText), this.element(arr, i + 1, this.headerText)]);
    return { status, headers, body, waitUntil };
  }

  private readonly headerText = (h: H): string => {
    const vm = this.vm;
    if (vm.kind(h) !== 'string') return '';
    if (vm.stringLength(h) > RESPONSE_LIMITS.maxHeaderChars) {
      throw new GuestFault('exception', 'TypeError', `a response header is longer than ${RESPONSE_LIMITS.maxHeaderChars} characters`);
    }
    return vm.readString(h);
  };

  private element<T>(arr: H, i: number, read: (h: H) => T): T {
    const h = this.vm.index(arr, i);
    try {
      return read(h);
    } finally {
      this.vm.free(h);
    }
  }
}

function tooLarge(): GuestFault {
  return new GuestFault('exception', 'RangeError', `the response body exceeds ${RESPONSE_LIMITS.maxBodyBytes} bytes`);
}

/** An Error the engine throws into the guest with this name (TypeError, RangeError …); no host stack. */
export function guestError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  e.stack = `${name}: ${message}`;
  return e;
}

/**
 * Reads a host operation's arguments under its specs: type first, then size, then the copy. Extra
 * arguments beyond the specs must be undefined (the prelude passes exactly what it declares).
 */
export function readArgs<H>(vm: GuestVm<H>, op: string, specs: readonly ArgSpec[], args: readonly H[]): HostArg[] {
  const out: HostArg[] = [];
  for (let i = 0; i < specs.length; i++) out.push(readArg(vm, op, i, specs[i]!, args[i + 1]));
  for (let i = specs.length + 1; i < args.length; i++) {
    if (vm.kind(args[i]!) !== 'undefined') throw guestError('TypeError', `${op}: takes ${specs.length} argument(s)`);
  }
  return out;
}

function readArg<H>(vm: GuestVm<H>, op: string, i: number, spec: ArgSpec, h: H | undefined): HostArg {
  const kind = h === undefined ? 'undefined' : vm.kind(h);
  const what = `${op}: argument ${i + 1}`;
  if (kind === 'undefined' || kind === 'null') {
    if (spec.optional) return kind === 'null' ? null : undefined;
    throw guestError('TypeError', `${what} is required`);
  }
  switch (spec.type) {
    case 'string':
    case 'json': {
      if (kind !== 'string') throw guestError('TypeError', `${what} must be a string`);
      const length = vm.stringLength(h!);
      if (length > spec.max) throw guestError('RangeError', `${what} is longer than ${spec.max} characters`);
      const s = vm.readString(h!);
      if (spec.type === 'string') {
        if (spec.oneOf && !spec.oneOf.includes(s)) throw guestError('TypeError', `${what} must be one of ${spec.oneOf.join(', ')}`);
        return s;
      }
      return s;
    }
    case 'number':
    case 'integer': {
      if (kind !== 'number') throw guestError('TypeError', `${what} must be a number`);
      const n = vm.readNumber(h!);
      if (spec.type === 'integer' && (!Number.isInteger(n) || n < spec.min || n > spec.max)) {
        throw guestError('RangeError', `${what} must be an integer in ${spec.min}..${spec.max}`);
      }
      return n;
    }
    case 'boolean':
      if (kind !== 'boolean') throw guestError('TypeError', `${what} must be a boolean`);
      return vm.readBool(h!);
    case 'bytes': {
      if (kind !== 'bytes') throw guestError('TypeError', `${what} must be an ArrayBuffer`);
      if (vm.bytesLength(h!) > spec.max) throw guestError('RangeError', `${what} is larger than ${spec.max} bytes`);
      return vm.readBytes(h!);
    }
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
