import type { Prelude } from '../prelude/build.ts';
import { buildPreludeSources } from '../prelude/build.ts';
import { QuickJSWasiVmFactory } from './quickjs-wasi-vm.ts';
import { QuickJSWasiSharedFactory, type SharedFactoryOptions } from './quickjs-wasi-shared.ts';
import { QuickJSEmscriptenFactory } from './quickjs-emscripten.ts';
import type { EngineName, Isolation, SandboxFactory } from './types.ts';

/** Engine tuning an embedder may pass through; absent fields keep each engine's defaults. */
export interface EngineOptions {
  /** Isolation "shared": runtimes per WASM instance before another instance is started (default 64). */
  runtimesPerInstance?: number;
  /** Finer knobs of bytecode/shared (instance memory cap, linear-memory pre-growth). */
  shared?: SharedFactoryOptions;
}

/**
 * The sandbox factory for an engine and isolation mode, or undefined where that pair is not offered.
 * Isolation "instance" gives every sandbox its own WASM instance (own linear memory); "shared" puts
 * many sandboxes (each its own QuickJS runtime: heap, globals, limits, interrupt) in one instance.
 */
export async function createSandboxFactory(
  engine: EngineName,
  isolation: Isolation,
  prelude: Prelude,
  options: EngineOptions = {},
): Promise<SandboxFactory | undefined> {
  const runtimesPerInstance = options.runtimesPerInstance ?? options.shared?.runtimesPerInstance;
  if (engine === 'bytecode' && isolation === 'instance') return new QuickJSWasiVmFactory(prelude);
  if (engine === 'bytecode' && isolation === 'shared') {
    return new QuickJSWasiSharedFactory(prelude, { ...options.shared, runtimesPerInstance });
  }
  if (engine === 'emscripten') {
    return new QuickJSEmscriptenFactory(isolation, await buildPreludeSources(), { runtimesPerInstance });
  }
  return undefined;
}
