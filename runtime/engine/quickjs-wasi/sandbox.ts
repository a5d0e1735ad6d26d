/**
 * A quickjs-wasi sandbox: one QuickJS runtime + context inside a WASM instance (instance.ts), the
 * instance's own base runtime when it holds a single tenant (isolation "instance"), or one of many
 * runtimes (isolation "shared").
 *
 * Two rules keep neighbours safe: every call into the engine goes through `enter` (which makes this
 * runtime current), and every handle is freed with this runtime current before `JS_FreeRuntime`
 * (a value left alive makes it fail an assertion, i.e. trap).
 */
import { GuestFault, type GuestCode, type SandboxHooks, type SandboxLimits } from '../types.ts';
import { GuestSandbox, type ChunkSource } from '../guest-sandbox.ts';
import type { SharedInstance, Tenant } from './instance.ts';
import { WasiVm } from './vm.ts';

export class WasiSandbox extends GuestSandbox<number> implements Tenant {
  readonly rt: number;
  readonly ctx: number;
  protected readonly vm: WasiVm;
  protected readonly runsBytecode = true;

  constructor(
    private readonly inst: SharedInstance,
    readonly id: number,
    hooks: SandboxHooks,
    private readonly limits: SandboxLimits,
    chunks: ChunkSource,
    ownInstance: boolean,
  ) {
    super(hooks, limits.memoryLimitBytes, chunks);
    const { rt, ctx, bytes } = ownInstance ? inst.baseRuntime() : inst.newRuntime();
    this.rt = rt;
    this.ctx = ctx;
    inst.adopt(this, bytes);
    this.vm = new WasiVm(inst.vm, `faas#${id}`);
  }

  get instanceId(): number {
    return this.inst.id;
  }

  init(core: GuestCode): void {
    this.enter(() => {
      this.inst.e.JS_SetMaxStackSize(this.rt, this.limits.maxStackBytes);
      this.inst.e.qjs_set_interrupt_handler(1);
    });
    this.boot(core);
  }

  get memoryLimitBytes(): number {
    return this.limitBytes;
  }

  /** Applied on every entry (see SharedInstance.enter), so it takes effect from the next one. */
  setMemoryLimit(bytes: number): void {
    this.limitBytes = bytes;
  }

  heapBytes(): number {
    return this.disposed ? 0 : this.inst.heapBytes(this);
  }

  checkInterrupt(): boolean {
    if (this.hooks.shouldInterrupt()) {
      this.interruptFired = true;
      return true;
    }
    return false;
  }

  protected enter<T>(fn: () => T): T {
    return this.inst.run(this, () => this.vm.entered(fn));
  }

  /** A trap unwound WASM mid-instruction: the allocator or a neighbour's heap may be half-updated. */
  protected onEngineFailure(): void {
    this.inst.fault();
  }

  protected override get healthy(): boolean {
    return !this.inst.faulted;
  }

  protected release(): void {
    this.vm.close();
    this.inst.release(this);
  }
}

export { GuestFault };
