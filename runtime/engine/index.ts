/**
 * The engine layer's public entry: the interface (types.ts) and a factory per engine. One folder per
 * engine (quickjs-wasi/, quickjs-emscripten/); what they share (host calls, the promise bridge,
 * typed entry points, fault classification) is written once in guest-sandbox.ts.
 */
import { QuickJSWasiFactory, type SharedFactoryOptions } from './quickjs-wasi/factory.ts';
import { QuickJSEmscriptenFactory } from './quickjs-emscripten/factory.ts';
import { locateRandomState } from './quickjs-wasi/random-state.ts';
import type { EngineName, Isolation, Prelude, PreludeSources, SandboxFactory } from './types.ts';

export * from './types.ts';

/** Engine tuning an embedder may pass through; absent fields keep each engine's defaults. */
export interface EngineOptions {
  /** Isolation "shared": runtimes per WASM instance before another instance is started (default 64). */
  runtimesPerInstance?: number;
  /** Finer knobs of quickjs-wasi/shared (instance memory cap, linear-memory pre-growth). */
  shared?: SharedFactoryOptions;
}

/**
 * The sandbox factory for an engine and isolation mode. Isolation "instance" gives every sandbox its
 * own WASM instance (own linear memory); "shared" puts many sandboxes (each its own QuickJS runtime:
 * heap, globals, limits, interrupt) in one instance.
 */
export function createSandboxFactory(
  engine: EngineName,
  isolation: Isolation,
  prelude: { bytecode?: Prelude; sources?: PreludeSources },
  options: EngineOptions = {},
): SandboxFactory {
  const runtimesPerInstance = options.runtimesPerInstance ?? options.shared?.runtimesPerInstance;
  if (engine === 'quickjs-wasi') {
    if (!prelude.bytecode) throw new Error('engine quickjs-wasi needs the prelude bytecode');
    return new QuickJSWasiFactory(isolation, prelude.bytecode, { ...options.shared, runtimesPerInstance });
  }
  if (!prelude.sources) throw new Error('engine quickjs-emscripten needs the prelude sources');
  return new QuickJSEmscriptenFactory(isolation, prelude.sources, { runtimesPerInstance });
}

/**
 * Readies what copying a loaded sandbox needs (Sandbox.capture / restore): on quickjs-wasi, where a
 * context keeps Math.random's state, so that every copy gets a fresh seed. False when this engine
 * (or this build of it) cannot copy sandboxes safely: then none is ever copied.
 */
export async function prepareSnapshots(engine: EngineName): Promise<boolean> {
  return engine === 'quickjs-wasi' && (await locateRandomState()) !== undefined;
}
