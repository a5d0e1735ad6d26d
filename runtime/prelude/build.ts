import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { CompileFlags, QuickJS } from 'quickjs-wasi';
import { quickjsWasmModule } from '../engine/wasm-module.ts';

/**
 * Builds the guest prelude: the core script every instance evaluates before user code, and the lazy
 * chunks it loads on first use of a rarely needed global. Each is bundled as a minified script and
 * compiled once per process to QuickJS bytecode.
 */

export interface Prelude {
  core: Uint8Array;
  chunks: Map<string, Uint8Array>;
  sizes: Record<string, { js: number; bytecode: number }>;
}

export interface PreludeSources {
  core: string;
  chunks: Map<string, string>;
}

/** Chunk name → the global(s) it provides are declared in guest/core.ts; entries are guest/chunks/<name>.ts. */
export const CHUNK_NAMES = ['headers', 'url', 'encoding', 'crypto', 'clone', 'abort', 'fetch', 'kv', 'inspect', 'console', 'stream', 'request', 'stack', 'base64', 'dom-exception'] as const;

const GUEST_DIR = fileURLToPath(new URL('./guest/', import.meta.url));

/**
 * The prelude's frames in a stack trace point into one minified line, so line tables buy nothing;
 * the source text would only serve Function.prototype.toString of prelude functions.
 */
const COMPILE_FLAGS = CompileFlags.STRIP_SOURCE | CompileFlags.STRIP_DEBUG;

async function bundle(entry: string, format: 'esm' | 'iife'): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format,
    minify: true,
    target: 'es2023',
    platform: 'neutral',
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

/**
 * The core must leave its internal API as the script's completion value without putting it on the
 * global object: bundle as a module, then turn its single default export into the return value of
 * a strict-mode arrow that the script calls as its last (only) expression.
 */
function asCompletionScript(moduleCode: string): string {
  const match = /export\s*\{\s*([\w$]+)\s+as\s+default\s*\};?\s*$/.exec(moduleCode);
  if (!match) throw new Error('prelude core must end with a single default export');
  return `(()=>{"use strict";${moduleCode.slice(0, match.index)}return ${match[1]}})()`;
}

async function sources(): Promise<PreludeSources> {
  const core = asCompletionScript(await bundle(`${GUEST_DIR}core.ts`, 'esm'));
  const chunks = new Map<string, string>();
  await Promise.all(
    CHUNK_NAMES.map(async (name) => {
      chunks.set(name, await bundle(`${GUEST_DIR}chunks/${name}.ts`, 'iife'));
    }),
  );
  return { core, chunks: new Map(CHUNK_NAMES.map((n) => [n, chunks.get(n)!])) };
}

let sourcesPromise: Promise<PreludeSources> | undefined;
let preludePromise: Promise<Prelude> | undefined;

/** Minified JS of the core and every chunk, for engines that cannot load QuickJS bytecode. */
export function buildPreludeSources(): Promise<PreludeSources> {
  sourcesPromise ??= sources();
  return sourcesPromise;
}

export function buildPrelude(): Promise<Prelude> {
  preludePromise ??= compileAll();
  return preludePromise;
}

async function compileAll(): Promise<Prelude> {
  const src = await buildPreludeSources();
  const vm = await QuickJS.create({ wasm: quickjsWasmModule() });
  try {
    const sizes: Prelude['sizes'] = {};
    const compile = (name: string, code: string) => {
      const bytecode = vm.compile(code, `faas:prelude/${name}.js`, undefined, COMPILE_FLAGS);
      sizes[name] = { js: Buffer.byteLength(code), bytecode: bytecode.length };
      return bytecode;
    };
    const core = compile('core', src.core);
    const chunks = new Map<string, Uint8Array>();
    for (const [name, code] of src.chunks) chunks.set(name, compile(name, code));
    return { core, chunks, sizes };
  } finally {
    vm.dispose();
  }
}
