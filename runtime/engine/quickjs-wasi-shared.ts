import type { Prelude } from '../prelude/build.ts';
import { SharedInstance, type SharedInstanceOptions } from './shared-instance.ts';
import { SharedSandbox } from './shared-sandbox.ts';
import type { Sandbox, SandboxFactory, SandboxHooks, SandboxLimits } from './types.ts';

export type SharedFactoryOptions = Partial<SharedInstanceOptions>;

export const SHARED_DEFAULTS: SharedInstanceOptions = {
  runtimesPerInstance: 64,
  instanceMemoryCapBytes: 2 * 1024 ** 3,
  growStepBytes: 8 * 1024 * 1024,
  lowWaterBytes: 2 * 1024 * 1024,
};

export interface SharedStats {
  instances: number;
  runtimes: number;
  retired: number;
  linearMemoryBytes: number;
  grows: number;
}

let nextSandboxId = 1;

/**
 * Isolation "shared": each sandbox is a QuickJS runtime + context inside a quickjs-wasi instance that
 * up to `runtimesPerInstance` tenants share. A runtime costs a fraction of an instance (no
 * WebAssembly instantiation, no per-tenant C stack), at the price that tenants of one instance share
 * one linear memory: a memory-safety bug in QuickJS could cross between them. Separate runtimes still
 * have separate heaps, globals, limits and interrupts. An instance that suffers a fault that may have
 * corrupted its memory stops taking tenants and is dropped once its remaining ones are gone.
 */
export class QuickJSWasiSharedFactory implements SandboxFactory {
  readonly engine = 'bytecode' as const;
  readonly isolation = 'shared' as const;
  readonly runsBytecode = true;
  readonly options: SharedInstanceOptions;
  private readonly instances = new Set<SharedInstance>();
  private creating: Promise<SharedInstance> | undefined;

  constructor(
    private readonly prelude: Prelude,
    options: SharedFactoryOptions = {},
  ) {
    this.options = { ...SHARED_DEFAULTS, ...stripUndefined(options) };
    if (!(this.options.runtimesPerInstance >= 1)) throw new RangeError('runtimesPerInstance must be at least 1');
  }

  async create(limits: SandboxLimits, hooks: SandboxHooks): Promise<Sandbox> {
    const inst = await this.instanceWithRoom();
    inst.ensureHeadroom();
    const box = new SharedSandbox(inst, nextSandboxId++, hooks, limits);
    try {
      box.init(this.prelude.core);
    } catch (err) {
      box.dispose();
      throw err;
    }
    return box;
  }

  stats(): SharedStats {
    let runtimes = 0;
    let retired = 0;
    let linearMemoryBytes = 0;
    let grows = 0;
    for (const i of this.instances) {
      runtimes += i.size;
      if (i.retired) retired++;
      linearMemoryBytes += i.memoryBytes;
      grows += i.grows;
    }
    return { instances: this.instances.size, runtimes, retired, linearMemoryBytes, grows };
  }

  /** Fullest instance that still has room (so emptier ones drain and can be dropped), else a new one. */
  private async instanceWithRoom(): Promise<SharedInstance> {
    for (;;) {
      let best: SharedInstance | undefined;
      for (const i of this.instances) if (i.accepting && (!best || i.size > best.size)) best = i;
      if (best) return best;
      this.creating ??= SharedInstance.create(this.options, (i) => this.onEmpty(i)).then(
        (i) => {
          this.instances.add(i);
          this.creating = undefined;
          return i;
        },
        (err) => {
          this.creating = undefined;
          throw err;
        },
      );
      await this.creating;
    }
  }

  /** Linear memory never shrinks: an empty instance is dropped unless it is the last one. */
  private onEmpty(inst: SharedInstance): void {
    if (!inst.retired && this.instances.size <= 1) return;
    this.instances.delete(inst);
    inst.dispose();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
