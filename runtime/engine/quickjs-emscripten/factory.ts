/**
 * Sandboxes on the stock `@jitl/quickjs-wasmfile-release-sync` QuickJS (Bellard's, not -ng) through
 * quickjs-emscripten-core. It cannot load QuickJS bytecode, so it runs the artifact's bundled JS and
 * the prelude's sources. Isolation:
 *  - "shared": up to `runtimesPerInstance` runtimes share one WASM module instance (one linear memory);
 *  - "instance": every sandbox gets a module instance of its own.
 * A module whose runtime suffered a host-side fault (trap, abort, host stack overflow) or ran out of
 * memory takes no new runtimes and is dropped when its last one goes.
 */
import { newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core';
import variantModule from '@jitl/quickjs-wasmfile-release-sync';
import type { ChunkSource } from '../guest-sandbox.ts';
import type { Isolation, Prelude, PreludeSources, Sandbox, SandboxFactory, SandboxHooks, SandboxLimits } from '../types.ts';
import { EmscriptenSandbox, ModuleHost } from './sandbox.ts';

/** Its typings describe the CommonJS build; the ESM build's default export is the variant itself. */
const variant = variantModule as unknown as Parameters<typeof newQuickJSWASMModuleFromVariant>[0];

export interface EmscriptenFactoryOptions {
  runtimesPerInstance?: number;
}

export class QuickJSEmscriptenFactory implements SandboxFactory {
  readonly engine = 'quickjs-emscripten' as const;
  readonly runsBytecode = false;
  private readonly capacity: number;
  private readonly hosts = new Set<ModuleHost>();
  private creating: Promise<ModuleHost> | undefined;
  private readonly chunks: ChunkSource;

  constructor(
    readonly isolation: Isolation,
    private readonly sources: PreludeSources,
    options: EmscriptenFactoryOptions = {},
  ) {
    this.capacity = isolation === 'instance' ? 1 : Math.max(1, options.runtimesPerInstance ?? 64);
    this.chunks = (name) => {
      const source = sources.chunks.get(name);
      return source === undefined ? undefined : { filename: `faas:prelude/${name}.js`, source };
    };
  }

  async create(limits: SandboxLimits, hooks: SandboxHooks): Promise<Sandbox> {
    const host = await this.hostWithRoom();
    host.tenants++;
    const box = new EmscriptenSandbox(host, hooks, limits, this.chunks, () => this.release(host));
    try {
      box.init({ filename: 'faas:prelude/core.js', source: this.sources.core });
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

  private async hostWithRoom(): Promise<ModuleHost> {
    for (;;) {
      let best: ModuleHost | undefined;
      for (const h of this.hosts) if (!h.retired && h.tenants < this.capacity && (!best || h.tenants > best.tenants)) best = h;
      if (best) return best;
      this.creating ??= newQuickJSWASMModuleFromVariant(variant)
        .then((module) => {
          const h = new ModuleHost(module);
          this.hosts.add(h);
          return h;
        })
        .finally(() => {
          this.creating = undefined;
        });
      await this.creating;
    }
  }

  private release(host: ModuleHost): void {
    host.tenants--;
    // a module instance cannot shrink or be freed explicitly: dropping it lets V8 collect it
    if (host.tenants === 0 && (host.retired || this.capacity === 1 || this.hosts.size > 1)) this.hosts.delete(host);
  }
}
