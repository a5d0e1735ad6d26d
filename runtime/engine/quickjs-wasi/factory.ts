/**
 * Sandboxes on quickjs-wasi. Both isolation modes are the same code with a different number of
 * tenants per WASM instance:
 *  - "shared": each sandbox is a QuickJS runtime + context inside an instance that up to
 *    `runtimesPerInstance` tenants share. A runtime costs a fraction of an instance (no WebAssembly
 *    instantiation, no per-tenant C stack), at the price that tenants of one instance share one
 *    linear memory: a memory-safety bug in QuickJS could cross between them. Separate runtimes still
 *    have separate heaps, globals, limits and interrupts.
 *  - "instance": each sandbox is the base runtime of an instance of its own (own linear memory).
 * An instance that suffers a fault that may have corrupted its memory stops taking tenants and is
 * dropped once its remaining ones are gone.
 */
import type { ChunkSource } from '../guest-sandbox.ts';
import type { Isolation, Prelude, PreludeSources, Sandbox, SandboxFactory, SandboxHooks, SandboxLimits } from '../types.ts';
import { SharedInstance, sharedInstanceFaults, type SharedInstanceOptions } from './instance.ts';
import { WasiSandbox } from './sandbox.ts';

export type SharedFactoryOptions = Partial<SharedInstanceOptions>;

export const SHARED_DEFAULTS: SharedInstanceOptions = {
  runtimesPerInstance: 64,
  instanceMemoryCapBytes: 2 * 1024 ** 3,
  growStepBytes: 8 * 1024 * 1024,
  lowWaterBytes: 2 * 1024 * 1024,
};

/** An instance of its own needs no pre-grown headroom: its one runtime grows it as it needs. */
const OWN_INSTANCE: SharedInstanceOptions = { runtimesPerInstance: 1, instanceMemoryCapBytes: 2 * 1024 ** 3, growStepBytes: 0, lowWaterBytes: 0 };

export interface SharedStats {
  instances: number;
  runtimes: number;
  retired: number;
  linearMemoryBytes: number;
  grows: number;
  /** Instances that faulted since the process started (every factory's). */
  faults: number;
}

let nextSandboxId = 1;

export class QuickJSWasiFactory implements SandboxFactory {
  readonly engine = 'quickjs-wasi' as const;
  readonly runsBytecode = true;
  readonly options: SharedInstanceOptions;
  private readonly instances = new Set<SharedInstance>();
  private creating: Promise<SharedInstance> | undefined;
  private readonly chunks: ChunkSource;

  constructor(
    readonly isolation: Isolation,
    private readonly prelude: Prelude,
    options: SharedFactoryOptions = {},
  ) {
    this.options = isolation === 'instance' ? OWN_INSTANCE : { ...SHARED_DEFAULTS, ...stripUndefined(options) };
    if (!(this.options.runtimesPerInstance >= 1)) throw new RangeError('runtimesPerInstance must be at least 1');
    this.chunks = (name) => {
      const bytecode = prelude.chunks.get(name);
      return bytecode ? { filename: `faas:prelude/${name}.js`, bytecode } : undefined;
    };
  }

  async create(limits: SandboxLimits, hooks: SandboxHooks): Promise<Sandbox> {
    const own = this.isolation === 'instance';
    const inst = own ? await this.newInstance() : await this.instanceWithRoom();
    inst.ensureHeadroom();
    const box = new WasiSandbox(inst, nextSandboxId++, hooks, limits, this.chunks, own);
    try {
      box.init({ filename: 'faas:prelude/core.js', bytecode: this.prelude.core });
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
    return { instances: this.instances.size, runtimes, retired, linearMemoryBytes, grows, faults: sharedInstanceFaults() };
  }

  private async newInstance(): Promise<SharedInstance> {
    const inst = await SharedInstance.create(this.options, (i) => this.onEmpty(i));
    this.instances.add(inst);
    return inst;
  }

  /** Fullest instance that still has room (so emptier ones drain and can be dropped), else a new one. */
  private async instanceWithRoom(): Promise<SharedInstance> {
    for (;;) {
      let best: SharedInstance | undefined;
      for (const i of this.instances) if (i.accepting && (!best || i.size > best.size)) best = i;
      if (best) return best;
      this.creating ??= this.newInstance().finally(() => {
        this.creating = undefined;
      });
      await this.creating;
    }
  }

  /** Linear memory never shrinks: an empty instance is dropped unless it is the last shared one. */
  private onEmpty(inst: SharedInstance): void {
    if (!inst.retired && this.instances.size <= 1) return;
    this.instances.delete(inst);
    inst.dispose();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
