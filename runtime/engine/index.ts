import type { Prelude } from '../prelude/build.ts';
import { QuickJSWasiVmFactory } from './quickjs-wasi-vm.ts';
import { QuickJSWasiSharedFactory, type SharedFactoryOptions } from './quickjs-wasi-shared.ts';
import type { EngineName, Isolation, SandboxFactory } from './types.ts';

/** Engine tuning an embedder may pass through; absent fields keep each engine's defaults. */
export interface EngineOptions {
  /** Isolation "shared": runtimes per WASM instance before another instance is started. */
  runtimesPerInstance?: number;
  shared?: SharedFactoryOptions;
}

/** The sandbox factory for an engine and isolation mode, or undefined where that pair is not offered. */
export async function createSandboxFactory(
  engine: EngineName,
  isolation: Isolation,
  prelude: Prelude,
  options: EngineOptions = {},
): Promise<SandboxFactory | undefined> {
  if (engine === 'bytecode' && isolation === 'instance') return new QuickJSWasiVmFactory(prelude);
  if (engine === 'bytecode' && isolation === 'shared') {
    return new QuickJSWasiSharedFactory(prelude, { ...options.shared, runtimesPerInstance: options.runtimesPerInstance ?? options.shared?.runtimesPerInstance });
  }
  return undefined;
}
