import { QuickJS } from 'quickjs-wasi';
import { quickjsWasmModule } from '../../../contract/engine.ts';
import { findAllocatorCounter } from './allocator-counter.ts';

/**
 * One quickjs-wasi WASM instance hosting many QuickJS runtimes (isolation "shared").
 *
 * The package's `qjs_*` helper layer and its `QuickJS` object work on one static "current" runtime and
 * context, so every entry into a runtime goes through `run()`, which makes that runtime current and
 * restores the previous one afterwards (entries nest: guest → host op → another entry). The WASM
 * imports (interrupt, host calls) are instance-wide; `run()` keeps the stack of executing runtimes so
 * the interrupt callback can ask the one that is actually running.
 *
 * Memory: the package's allocator counts every byte the instance's runtimes hold and enforces one
 * limit, keeping a reserve so an OOM surfaces as a real "out of memory" InternalError. Only the
 * executing runtime allocates, so the instance attributes the counter's movement to it at every switch
 * and, on entry, sets the limit to "everything held now + what this runtime has left". That gives exact
 * per-runtime accounting and limits with the package's OOM behaviour.
 */

/** The raw C API and helpers this file and its sandboxes call (the package types only the `qjs_*` part). */
export type SharedExports = ReturnType<QuickJS['_getExports']> & {
  __stack_pointer: WebAssembly.Global;
  JS_NewRuntime2(mallocFunctions: number, opaque: number): number;
  JS_NewContext(rt: number): number;
  JS_FreeContext(ctx: number): void;
  JS_FreeRuntime(rt: number): void;
  JS_SetMaxStackSize(rt: number, size: number): void;
};

export interface SharedInstanceOptions {
  /** Runtimes (resident sandboxes, pooled blanks included) per instance before a new instance is made. */
  runtimesPerInstance: number;
  /** Instance-wide allocator cap: a safety net under the per-runtime limits, not the tenant limit. */
  instanceMemoryCapBytes: number;
  /** Linear memory is grown by this much ahead of need (0 = let the allocator grow it 64 KiB at a time). */
  growStepBytes: number;
  /** Grow when the estimated free linear memory falls below this. */
  lowWaterBytes: number;
}

/** What an instance needs from a runtime living in it. */
export interface Tenant {
  readonly rt: number;
  readonly ctx: number;
  /** This tenant's guest heap cap, applied while it is the runtime executing. */
  readonly memoryLimitBytes: number;
  /** Polled by the instance-wide interrupt callback while this tenant's guest code runs. */
  checkInterrupt(): boolean;
}

/** A copy of an instance's linear memory: its non-zero pages, in order. */
export interface MemoryImage {
  byteLength: number;
  runs: { at: number; bytes: Uint8Array }[];
  /** Bytes the runs hold. */
  bytes: number;
}

const PAGE = 4096;

/** Whether a page of linear memory is all zero bytes (a word loop: far cheaper per page than a native compare's call). */
function isZeroPage(words: Int32Array, at: number): boolean {
  const end = (at + PAGE) >> 2;
  for (let i = at >> 2; i < end; i++) if (words[i] !== 0) return false;
  return true;
}

const BLOCK = 64 * 1024;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

/**
 * Zeroes the pages of [from, to) that are not zero already. A block at a time through one native
 * compare (most of what an image has as zero is zero in a blank too), page by page in a block that is not.
 */
function zeroRange(bytes: Uint8Array, words: Int32Array, from: number, to: number): void {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let block = from; block < to; block += BLOCK) {
    const end = Math.min(to, block + BLOCK);
    if (buf.compare(ZERO_BLOCK, 0, end - block, block, end) === 0) continue;
    for (let at = block; at < end; at += PAGE) if (!isZeroPage(words, at)) bytes.fill(0, at, at + PAGE);
  }
}

let nextInstanceId = 1;
let instanceFaults = 0;

/** WASM instances that faulted (a trap, a failed free) in this process: each one retired with its tenants. */
export function sharedInstanceFaults(): number {
  return instanceFaults;
}

export class SharedInstance {
  readonly id = nextInstanceId++;
  readonly vm: QuickJS;
  readonly e: SharedExports;
  private readonly baseRt: number;
  private readonly baseCtx: number;
  /** The C stack pointer between calls; a trap or host RangeError unwinds without restoring it. */
  private readonly baseSp: number;
  /** Address of the allocator's live-bytes counter. */
  private readonly counter: number;
  /** Linear memory that is not allocator heap (data, C stack), estimated at start. */
  private readonly staticBytes: number;
  /** Allocator bytes each tenant holds, as of the last switch. */
  private readonly held = new Map<Tenant, number>();
  private readonly executing: Tenant[] = [];
  /** Counter value at the last switch; its movement since belongs to the executing tenant. */
  private mark = 0;
  private retiredFlag = false;
  private faultedFlag = false;
  private disposedFlag = false;
  grows = 0;

  private constructor(vm: QuickJS, private readonly opts: SharedInstanceOptions, private readonly onEmpty: (i: SharedInstance) => void) {
    this.vm = vm;
    this.e = vm._getExports() as SharedExports;
    this.baseRt = this.e.qjs_get_runtime_ptr();
    this.baseCtx = this.e.qjs_get_context_ptr();
    this.baseSp = this.e.__stack_pointer.value as number;
    this.counter = findAllocatorCounter(vm, this.baseSp);
    this.e.qjs_set_memory_limit(opts.instanceMemoryCapBytes);
    // The cached singleton handles are plain boxes shared by every context; make them now, with the base current.
    void [vm.undefined, vm.null, vm.true, vm.false];
    this.mark = this.used();
    this.staticBytes = this.e.memory.buffer.byteLength - this.mark;
  }

  static async create(opts: SharedInstanceOptions, onEmpty: (i: SharedInstance) => void): Promise<SharedInstance> {
    let inst: SharedInstance | undefined;
    const vm = await QuickJS.create({
      wasm: quickjsWasmModule(),
      interruptHandler: () => inst?.onInterrupt() ?? false,
    });
    inst = new SharedInstance(vm, opts, onEmpty);
    return inst;
  }

  get size(): number {
    return this.held.size;
  }

  /** Takes new runtimes: not full and never faulted. */
  get accepting(): boolean {
    return !this.retiredFlag && this.held.size < this.opts.runtimesPerInstance;
  }

  get retired(): boolean {
    return this.retiredFlag;
  }

  /** A fault that may have corrupted linear memory happened here: no C call into it is trusted. */
  get faulted(): boolean {
    return this.faultedFlag;
  }

  get memoryBytes(): number {
    return this.disposedFlag ? 0 : this.e.memory.buffer.byteLength;
  }

  /**
   * A runtime for `tenant`, sharing the package's allocator: passing the base runtime as
   * `JSMallocFunctions*` works because those functions are the first field of `JSRuntime` (a plain
   * `JS_NewRuntime` gets an allocator that reports no usable sizes on WASI and escapes the counter).
   */
  newRuntime(): { rt: number; ctx: number; bytes: number } {
    if (!this.accepting) throw new Error('shared instance is not accepting runtimes');
    const e = this.e;
    e.qjs_set_memory_limit(this.opts.instanceMemoryCapBytes);
    const before = this.used();
    const rt = e.JS_NewRuntime2(this.baseRt, 0);
    if (!rt) throw new Error('JS_NewRuntime2 failed (out of memory)');
    const ctx = e.JS_NewContext(rt);
    if (!ctx) {
      e.JS_FreeRuntime(rt);
      throw new Error('JS_NewContext failed (out of memory)');
    }
    const bytes = this.used() - before;
    this.mark += bytes;
    return { rt, ctx, bytes };
  }

  /**
   * The runtime the package created with the instance, for an instance that will hold exactly one
   * tenant (isolation "instance"): no second runtime is made, so that mode costs what a bare VM does.
   * Everything allocated so far is booked to it.
   */
  baseRuntime(): { rt: number; ctx: number; bytes: number } {
    if (this.held.size > 0 || this.baseTaken) throw new Error('the base runtime is already taken');
    this.baseTaken = true;
    this.retiredFlag = true;
    return { rt: this.baseRt, ctx: this.baseCtx, bytes: this.used() };
  }

  private baseTaken = false;

  /** The C stack pointer when no call is under way (what an image of this instance must carry). */
  get idleStackPointer(): number {
    return this.baseSp;
  }

  /**
   * A copy of the whole instance (its linear memory; the stack pointer, its only mutable global, is
   * at its base between calls), kept as its non-zero pages: most of a fresh instance's memory is zero.
   */
  image(): MemoryImage {
    if (this.executing.length > 0 || this.disposedFlag || this.faultedFlag) throw new Error('an instance can be copied only between calls');
    const buffer = this.e.memory.buffer;
    const words = new Int32Array(buffer);
    const size = buffer.byteLength;
    const runs: { at: number; bytes: Uint8Array }[] = [];
    let bytes = 0;
    for (let at = 0; at < size; ) {
      if (isZeroPage(words, at)) {
        at += PAGE;
        continue;
      }
      let end = at + PAGE;
      while (end < size && !isZeroPage(words, end)) end += PAGE;
      runs.push({ at, bytes: new Uint8Array(buffer, at, end - at).slice() });
      bytes += end - at;
      at = end;
    }
    return { byteLength: size, runs, bytes };
  }

  /**
   * Replaces this instance's state with `image`, taken from another instance of the same module
   * between calls: the module has no other mutable global than the stack pointer (at its base then)
   * and its function table is fixed, so the memory is the whole state. Pages the image has as zero
   * are zeroed only where they are not already (writing memory the blank never touched would fault
   * it in, which costs more than the check). Only for an instance holding one tenant (its base runtime), which then holds everything
   * allocated.
   */
  overwrite(t: Tenant, image: MemoryImage): void {
    if (!this.baseTaken || this.held.size !== 1 || !this.held.has(t) || this.executing.length > 0 || this.faultedFlag || this.disposedFlag) {
      throw new Error('only an idle instance of its own can take an image');
    }
    const mem = this.e.memory;
    const have = mem.buffer.byteLength;
    if (image.byteLength > have) mem.grow(Math.ceil((image.byteLength - have) / 65536));
    const dst = new Uint8Array(mem.buffer);
    const words = new Int32Array(mem.buffer);
    // pages past the blank's old end are fresh from grow(), zero: only the ones below it are checked
    let at = 0;
    for (const run of image.runs) {
      zeroRange(dst, words, at, Math.min(run.at, have));
      dst.set(run.bytes, run.at);
      at = run.at + run.bytes.byteLength;
    }
    // nothing of the blank may survive beyond the image's end either (the allocator takes it as fresh memory)
    zeroRange(dst, words, at, have);
    this.e.__stack_pointer.value = this.baseSp;
    this.words = new Uint32Array(0);
    this.mark = this.used();
    this.held.set(t, this.mark);
    this.restoreCurrent();
  }

  adopt(t: Tenant, bytes: number): void {
    this.held.set(t, bytes);
  }

  /**
   * Runs `fn` with `t` current. No `JS_UpdateStackTop` is needed: runtimes are created from host code
   * with the C stack at its base, so each runtime's stack limit is measured from the real top and a
   * nested entry only has less room, never more; `baseSp` is put back if a trap left it lowered.
   */
  run<T>(t: Tenant, fn: () => T): T {
    if (this.disposedFlag) throw new Error('shared instance was disposed');
    this.settle();
    this.executing.push(t);
    this.enter(t);
    try {
      return fn();
    } finally {
      this.settle();
      this.executing.pop();
      this.restoreCurrent();
    }
  }

  /** Allocator bytes a runtime holds (its heap, shapes, atoms, bytecode …). */
  heapBytes(t: Tenant): number {
    const held = this.held.get(t) ?? 0;
    return this.executing[this.executing.length - 1] === t && !this.disposedFlag ? held + this.used() - this.mark : held;
  }

  /** Frees a tenant's runtime; on a faulted instance the memory goes with the instance instead. */
  release(t: Tenant): void {
    if (!this.held.has(t)) return;
    this.settle();
    this.held.delete(t);
    if (!this.faultedFlag && !this.disposedFlag && t.rt !== this.baseRt) {
      try {
        this.e.JS_FreeContext(t.ctx);
        this.e.JS_FreeRuntime(t.rt);
      } catch {
        // JS_FreeRuntime traps on an assertion (e.g. a leaked value): the instance can no longer be trusted
        this.fault();
      } finally {
        this.mark = this.used();
        this.restoreCurrent();
      }
    }
    if (this.held.size === 0) this.onEmpty(this);
  }

  /** Stops taking runtimes; the factory disposes the instance once its tenants are gone. */
  retire(): void {
    this.retiredFlag = true;
  }

  fault(): void {
    if (!this.faultedFlag) instanceFaults++;
    this.faultedFlag = true;
    this.retiredFlag = true;
  }

  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    this.retiredFlag = true;
    this.vm.dispose();
  }

  /**
   * Keeps free linear memory ahead of need, off the request path: growing it through the allocator
   * (one large malloc + free) rather than `memory.grow`, because the allocator's sbrk takes memory from
   * the current end and would never use pages grown behind its back.
   */
  ensureHeadroom(): void {
    const step = this.opts.growStepBytes;
    if (step <= 0 || this.faultedFlag || this.disposedFlag) return;
    const free = this.e.memory.buffer.byteLength - this.staticBytes - this.used();
    if (free >= this.opts.lowWaterBytes) return;
    const p = this.e.malloc(step);
    if (p) {
      this.e.free(p);
      this.grows++;
    }
  }

  /** A view of linear memory; growing the memory detaches the old buffer, which empties the view. */
  private words = new Uint32Array(0);

  private used(): number {
    if (this.words.length === 0) this.words = new Uint32Array(this.e.memory.buffer);
    return this.words[this.counter >> 2]!;
  }

  /** Books the counter's movement since the last switch to the tenant that was executing. */
  private settle(): void {
    if (this.disposedFlag) return;
    const now = this.used();
    const t = this.executing[this.executing.length - 1];
    if (t) {
      const held = this.held.get(t);
      if (held !== undefined) this.held.set(t, held + now - this.mark);
    }
    this.mark = now;
  }

  /** Makes `t` current with the allocator limit set to what it has left under its own cap. */
  private enter(t: Tenant): void {
    const e = this.e;
    e.qjs_set_runtime_and_context(t.rt, t.ctx);
    const cap = this.opts.instanceMemoryCapBytes;
    const left = t.memoryLimitBytes > 0 ? Math.max(0, t.memoryLimitBytes - (this.held.get(t) ?? 0)) : cap;
    e.qjs_set_memory_limit(Math.min(cap, this.mark + left));
  }

  /** Makes the innermost executing runtime current again, or the base one (and its stack) when idle. */
  private restoreCurrent(): void {
    if (this.disposedFlag) return;
    const top = this.executing[this.executing.length - 1];
    if (top) {
      this.enter(top);
      return;
    }
    // The allocator limit stays at the last tenant's: only newRuntime() allocates while idle, and it resets it.
    this.e.qjs_set_runtime_and_context(this.baseRt, this.baseCtx);
    if (this.e.__stack_pointer.value !== this.baseSp) this.e.__stack_pointer.value = this.baseSp;
  }

  /** Never throws into WASM: an exception here would unwind the C stack mid-instruction. */
  private onInterrupt(): boolean {
    const t = this.executing[this.executing.length - 1];
    if (!t) return false;
    try {
      return t.checkInterrupt();
    } catch {
      return true;
    }
  }
}
