/**
 * A quickjs-emscripten sandbox: one QuickJSRuntime + context in a WASM module instance that may
 * hold other tenants (isolation "shared") or none (isolation "instance").
 *
 * Memory: this build has no usable `malloc_usable_size`, so QuickJS's own limit counts 8 bytes per
 * live allocation plus each request's size (it still refuses any single allocation over the limit).
 * The real byte limit is therefore also enforced by sampling the runtime's memory usage from the
 * interrupt handler, and `heapBytes` reports that estimate (`JS_ComputeMemoryUsage().memory_used_size`).
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten-core';
import { GuestSandbox, type ChunkSource } from '../guest-sandbox.ts';
import type { GuestErrorInfo } from '../guest-vm.ts';
import { GuestFault, type GuestCode, type SandboxHooks, type SandboxLimits } from '../types.ts';
import { EmscriptenVm } from './vm.ts';

/** Interrupt polls between two heap measurements (QuickJS polls about every 10,000 instructions). */
const HEAP_POLL_EVERY = 8;

/** One WASM module instance and the runtimes living in it. */
export class ModuleHost {
  tenants = 0;
  /** Takes no new tenants: something happened inside it that may have left its memory inconsistent. */
  retired = false;
  constructor(readonly module: QuickJSWASMModule) {}
}

export class EmscriptenSandbox extends GuestSandbox<QuickJSHandle> {
  private readonly rt: QuickJSRuntime;
  private readonly ctx: QuickJSContext;
  protected readonly vm: EmscriptenVm;
  protected readonly runsBytecode = false;
  private overLimit = false;
  private polls = 0;
  private heapCache = 0;
  private heapDirty = true;

  constructor(
    private readonly host: ModuleHost,
    hooks: SandboxHooks,
    limits: SandboxLimits,
    chunks: ChunkSource,
    private readonly onDispose: () => void,
  ) {
    super(hooks, limits.memoryLimitBytes, chunks);
    this.rt = host.module.newRuntime();
    this.rt.setMemoryLimit(this.limitBytes);
    this.rt.setMaxStackSize(limits.maxStackBytes);
    this.rt.setInterruptHandler(() => this.onInterrupt());
    this.ctx = this.rt.newContext();
    this.vm = new EmscriptenVm(this.ctx, this.rt);
  }

  init(core: GuestCode): void {
    this.boot(core);
    // The prelude's byteLength lets the VM tell ArrayBuffers apart without a pending exception.
    this.vm.byteLengthFn = this.guard(() => this.apiFunction('byteLength'));
    this.vm.quoteFn = this.guard(() => this.apiFunction('quote'));
    this.vm.parseJsonFn = this.guard(() => this.apiFunction('parseJson'));
  }

  setMemoryLimit(bytes: number): void {
    this.limitBytes = bytes;
    if (!this.disposed) this.rt.setMemoryLimit(bytes);
  }

  heapBytes(): number {
    if (this.disposed) return 0;
    if (this.heapDirty) {
      this.heapCache = this.measureHeap();
      this.heapDirty = false;
    }
    return this.heapCache;
  }

  protected enter<T>(fn: () => T): T {
    this.heapDirty = true;
    return fn();
  }

  /**
   * In Bellard's QuickJS an interrupt inside an async function or a promise job only rejects a
   * promise, so an entry during which the interrupt fired fails here even if nothing was thrown: the
   * fault stays the entry's own, as in quickjs-ng.
   */
  protected override afterEntry(): void {
    if (this.interruptFired) throw this.classify({ name: 'InternalError', message: 'interrupted' });
  }

  protected override classifyFirst(info: GuestErrorInfo): GuestFault | undefined {
    const overLimit = this.overLimit;
    this.overLimit = false;
    if (overLimit) {
      this.interruptFired = false;
      return new GuestFault('out_of_memory', 'InternalError', 'out of memory', info.stack);
    }
    // Bellard's QuickJS reports its stack guard as InternalError "stack overflow"
    if (!this.interruptFired && info.name === 'InternalError' && info.message === 'stack overflow') {
      return new GuestFault('stack_overflow', info.name, info.message, info.stack);
    }
    return undefined;
  }

  /** A trap, abort or host stack overflow inside the module: its memory may be half-updated. */
  protected onEngineFailure(): void {
    this.host.retired = true;
  }

  protected release(): void {
    try {
      this.vm.byteLengthFn?.dispose();
      this.vm.quoteFn?.dispose();
      this.vm.parseJsonFn?.dispose();
      if (this.ctx.alive) this.ctx.dispose();
      if (this.rt.alive) this.rt.dispose();
    } catch {
      // QuickJS aborts on a runtime that still holds values: that module can no longer be trusted
      this.host.retired = true;
    }
    this.onDispose();
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
}
