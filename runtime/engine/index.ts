import type { Prelude } from '../prelude/build.ts';
import { QuickJSWasiVmFactory } from './quickjs-wasi-vm.ts';
import type { EngineName, Isolation, SandboxFactory } from './types.ts';

/** The sandbox factory for an engine and isolation mode, or undefined where that pair is not offered. */
export async function createSandboxFactory(
  engine: EngineName,
  isolation: Isolation,
  prelude: Prelude,
): Promise<SandboxFactory | undefined> {
  if (engine === 'bytecode' && isolation === 'instance') return new QuickJSWasiVmFactory(prelude);
  return undefined;
}
