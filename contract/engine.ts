import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Exact engine identity: artifacts record it and the runtime refuses any other. */
export const ENGINE_NAME = 'quickjs-wasi';
export const ENGINE_VERSION: string = (require('quickjs-wasi/package.json') as { version: string }).version;

let compiled: WebAssembly.Module | undefined;

/** The quickjs-wasi module compiled once per thread; every VM instantiates from it. */
export function quickjsWasmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(require.resolve('quickjs-wasi/quickjs.wasm')));
  return compiled;
}
