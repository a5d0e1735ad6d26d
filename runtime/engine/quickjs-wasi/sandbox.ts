/**
 * A quickjs-wasi sandbox: one QuickJS runtime + context inside a WASM instance (instance.ts), the
 * instance's own base runtime when it holds a single tenant (isolation "instance"), or one of many
 * runtimes (isolation "shared").
 *
 * Two rules keep neighbours safe: every call into the engine goes through `enter` (which makes this
 * runtime current), and every handle is freed with this runtime current before `JS_FreeRuntime`
 * (a value left alive makes it fail an assertion, i.e. trap).
 */
import { GuestFault, type GuestCode, type SandboxHooks, type SandboxImage, type SandboxLimits } from '../types.ts';
import { GuestSandbox, type BootState, type ChunkSource } from '../guest-sandbox.ts';
import type { MemoryImage, SharedInstance, Tenant } from './instance.ts';
import { randomStateOffset, readRandomState, reseed } from './random-state.ts';
import { WasiVm } from './vm.ts';

/**
 * A copy of a sandbox with its own instance (isolation "instance"), taken right after its module
 * loaded: the instance's linear memory, plus the host-side facts that memory refers to (where the
 * runtime, context and the prelude's handles are; the name of its one host callback).
 */
interface WasiImage extends SandboxImage {
  readonly memory: MemoryImage;
  /** The factory whose blanks it fits (same prelude, same module). */
  readonly family: ChunkSource;
  readonly rt: number;
  readonly ctx: number;
  /** The package's cached undefined/null/true/false boxes: a blank made the same way has them at the same addresses. */
  readonly fixed: readonly number[];
  readonly vm: { prefix: string; scratch: number; hostKey: string };
  readonly boot: BootState<number>;
}

const images = new WeakSet<SandboxImage>();

export class WasiSandbox extends GuestSandbox<number> implements Tenant {
  readonly rt: number;
  readonly ctx: number;
  protected vm: WasiVm;
  protected readonly runsBytecode = true;
  /** Math.random's state as the context was made: a load that moved it drew random numbers (see capture). */
  private seedAtInit: bigint | undefined;

  constructor(
    private readonly inst: SharedInstance,
    readonly id: number,
    hooks: SandboxHooks,
    private readonly limits: SandboxLimits,
    private readonly family: ChunkSource,
    private readonly ownInstance: boolean,
  ) {
    super(hooks, limits.memoryLimitBytes, family);
    const { rt, ctx, bytes } = ownInstance ? inst.baseRuntime() : inst.newRuntime();
    this.rt = rt;
    this.ctx = ctx;
    inst.adopt(this, bytes);
    this.vm = new WasiVm(inst.vm, `faas#${id}`);
  }

  /**
   * Only a sandbox with an instance of its own can be copied (a shared instance's memory holds its
   * neighbours), and only while nothing of its state lives on the host side: no open entry, no
   * pending host operation or watched promise, no host callback but the prelude's. A load that drew
   * from Math.random is not copied either: the numbers it drew would be the same in every copy.
   */
  capture(): SandboxImage | undefined {
    const at = randomStateOffset();
    if (!this.ownInstance || this.disposed || !this.healthy || at === undefined || this.seedAtInit === undefined) return undefined;
    if (readRandomState(this.inst.e.memory, this.ctx, at) !== this.seedAtInit) return undefined;
    const boot = this.bootState();
    const vm = this.vm.captureState();
    if (!boot || !vm) return undefined;
    const memory = this.inst.image();
    const image: WasiImage = { bytes: memory.bytes, memory, family: this.family, rt: this.rt, ctx: this.ctx, fixed: fixedBoxes(this.inst), vm, boot };
    images.add(image);
    return image;
  }

  /**
   * Becomes a copy of `image`: the instance's memory is replaced, the prelude's host function is bound
   * again under its name, and Math.random gets a fresh seed. Host-side tables start empty (the image
   * was taken with none). Refused unless this is an untouched blank of the same factory laid out like
   * the one the image came from.
   */
  restore(img: SandboxImage): boolean {
    if (!images.has(img)) return false;
    const image = img as WasiImage;
    const at = randomStateOffset();
    if (!this.ownInstance || this.disposed || !this.healthy || this.moduleLoaded || at === undefined) return false;
    if (image.family !== this.family || image.rt !== this.rt || image.ctx !== this.ctx || !sameBoxes(image.fixed, fixedBoxes(this.inst))) return false;
    this.vm.forget();
    try {
      this.inst.overwrite(this, image.memory);
      reseed(this.inst.e.memory, this.ctx, at);
    } catch (err) {
      this.inst.fault();
      throw err;
    }
    this.vm = new WasiVm(this.inst.vm, image.vm.prefix, image.vm.scratch);
    this.vm.rebind(image.vm.hostKey, this.hostFunction);
    this.adoptBoot(image.boot);
    return true;
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
    const at = randomStateOffset();
    if (this.ownInstance && at !== undefined) this.seedAtInit = readRandomState(this.inst.e.memory, this.ctx, at);
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

function fixedBoxes(inst: SharedInstance): number[] {
  const q = inst.vm;
  return [q.undefined.ptr, q.null.ptr, q.true.ptr, q.false.ptr];
}

function sameBoxes(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
