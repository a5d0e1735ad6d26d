import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Exact engine identity: artifacts record it and the runtime refuses any other. */
export const ENGINE_NAME = 'quickjs-wasi';
export const ENGINE_VERSION: string = (require('quickjs-wasi/package.json') as { version: string }).version;

/**
 * The guest heap an instance holds before its module is loaded (QuickJS's own runtime and the core
 * prelude: ≈ 64 KiB + ≈ 150 KiB on quickjs-wasi). Counted against a function's memoryMb, so the
 * compiler adds it to what a module needs; runtime/base-heap.test.ts keeps it in step with a real
 * sandbox.
 */
export const GUEST_BASE_HEAP_BYTES = 220 * 1024;

let compiled: WebAssembly.Module | undefined;

/** The quickjs-wasi module compiled once per thread; every VM instantiates from it. */
export function quickjsWasmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(require.resolve('quickjs-wasi/quickjs.wasm')));
  return compiled;
}
