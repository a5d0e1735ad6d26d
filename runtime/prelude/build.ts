import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompileFlags, QuickJS } from 'quickjs-wasi';
import { ENGINE_VERSION, quickjsWasmModule } from '../../contract/engine.ts';
import { FAAS_VERSION } from '../../contract/version.ts';
import { PRIMORDIALS } from './primordials.ts';
import { BINDING_CHUNKS } from '../../bindings/index.ts';
import { renameLocals } from './local-names.ts';

/**
 * Builds the guest prelude: the core script every instance evaluates before user code, and the lazy
 * chunks it loads on first use of a rarely needed global. Each is bundled as a minified script and
 * compiled to QuickJS bytecode. `npm run build` does that once (prebuild.ts) and the built runtime
 * loads the result (PREBUILT, next to the compiled build.js); run from source (tsx, tests), the
 * prelude is built once per process from the guest sources, so edits show up at once.
 */

import type { Prelude, PreludeSources } from '../engine/types.ts';

export type { Prelude, PreludeSources } from '../engine/types.ts';

/** Chunk name → the global(s) it provides are declared in guest/core.ts; entries are guest/chunks/<name>.ts. */
export const CORE_CHUNKS = ['headers', 'url', 'encoding', 'crypto', 'clone', 'abort', 'fetch', 'inspect', 'console', 'stream', 'request', 'stack', 'base64', 'dom-exception', 'compression', 'blob', 'form-data', 'subtle', 'intl', 'navigator', 'urlpattern', 'response'] as const;

/**
 * Chunks that bundle a third-party implementation as it is (urlpattern: urlpattern-polyfill). They are
 * exempt from the primordials rules: they handle only the guest's own data and reach the host through
 * nothing but the guest's public globals, so a built-in the guest patched changes only its own results.
 */
export const VENDORED_CHUNKS: readonly string[] = ['urlpattern'];

/** Every chunk: the prelude's own, then the bindings' (bindings/<name>/guest/). */
export const CHUNK_NAMES: readonly string[] = [...CORE_CHUNKS, ...BINDING_CHUNKS.map((c) => c.chunk)];

const GUEST_DIR = fileURLToPath(new URL('./guest/', import.meta.url));
/** The bindings' sources (only read when the prelude is built from source). */
const BINDINGS_DIR = fileURLToPath(new URL('../../bindings/', import.meta.url));

function chunkEntry(name: string): string {
  const binding = BINDING_CHUNKS.find((c) => c.chunk === name);
  return binding ? `${BINDINGS_DIR}${binding.entry}` : `${GUEST_DIR}chunks/${name}.ts`;
}

/**
 * The prelude's frames in a stack trace point into one minified line, so line tables buy nothing;
 * the source text would only serve Function.prototype.toString of prelude functions.
 */
const COMPILE_FLAGS = CompileFlags.STRIP_SOURCE | CompileFlags.STRIP_DEBUG;

/**
 * Every primordial name becomes `__p.<name>` in the bundles; numbered slots replace those afterwards.
 * `__FAAS_VERSION__` is the version navigator.userAgent names.
 */
const DEFINE: Record<string, string> = {
  ...Object.fromEntries(Object.keys(PRIMORDIALS).map((name) => [name, `__p.${name}`])),
  // vendored code (the prelude's own never names these) gets descriptors read safely (vendor-shims.ts)
  'Object.defineProperty': 'vendorDefineProperty',
  'Object.defineProperties': 'vendorDefineProperties',
  __FAAS_VERSION__: JSON.stringify(FAAS_VERSION),
};

async function bundle(entry: string, format: 'esm'): Promise<string> {
  // imported here: a built runtime loads the prebuilt prelude and never needs esbuild
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format,
    define: DEFINE,
    inject: [`${GUEST_DIR}vendor-shims.ts`],
    minify: true,
    target: 'es2023',
    // QuickJS compiles a template literal with a substitution to String.prototype.concat, which user
    // code can replace: vendored code (the streams chunk) gets plain `+` instead
    supported: { 'template-literal': false },
    platform: 'neutral',
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

/**
 * The global names of the built-ins prelude code refers to. Every bundle is wrapped in a function
 * whose parameters shadow these names, bound to the originals the core captured before any user
 * code ran: user code that reassigns `globalThis.Uint8Array` never reaches prelude code.
 */
export const INTRINSICS = [
  'globalThis', 'Object', 'Function', 'Array', 'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry',
  'Promise', 'JSON', 'Math', 'Reflect', 'Symbol', 'String', 'Number', 'Boolean', 'BigInt', 'Date', 'RegExp', 'Proxy',
  'Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError',
  'ArrayBuffer', 'DataView', 'Uint8Array', 'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array', 'Uint8ClampedArray',
  'encodeURIComponent', 'decodeURIComponent', 'encodeURI', 'decodeURI', 'isNaN', 'isFinite', 'parseInt', 'parseFloat',
] as const;

/** The bundle's code and the name of its default export (the value the wrapper returns). */
function splitDefaultExport(moduleCode: string, what: string): { code: string; name: string } {
  const match = /export\s*\{\s*([\w$]+)\s+as\s+default\s*\};?\s*$/.exec(moduleCode);
  if (!match) throw new Error(`prelude ${what} must end with a single default export`);
  return { code: moduleCode.slice(0, match.index), name: match[1]! };
}

const PARAMS = [...INTRINSICS, '__p', '__i'].join(',');
const SLOT = /__p\.([A-Za-z]\w*)/g;

/**
 * The core: a script whose completion value is its default export (the `boot(host)` function the
 * engine calls once with the host function). It captures the intrinsics and the primordials while
 * they are still the originals and runs the bundle with them bound as parameters; nothing is put on
 * the global object.
 */
function wrapCore(moduleCode: string, slots: string[]): string {
  const { code, name } = splitDefaultExport(moduleCode, 'core');
  const intrinsics = INTRINSICS.map((n) => (n === 'globalThis' ? 'globalThis' : `globalThis.${n}`)).join(',');
  const primordials = slots.map((n) => PRIMORDIALS[n]).join(',');
  const args = INTRINSICS.map((_, i) => `__i[${i}]`).join(',');
  return `(function(){"use strict";const __i=[${intrinsics}],__p=[${primordials}];return (function(${PARAMS}){"use strict";${code}return ${name}})(${args},__p,__i)})()`;
}

/**
 * A chunk: a script whose completion value is a function of the intrinsics, the core's primordials
 * and the intrinsics array, returning the chunk's default export (its installer). The core calls it
 * (lazy.ts) with what it captured at start-up, however late the chunk loads.
 */
function wrapChunk(moduleCode: string, name: string): string {
  const { code, name: exported } = splitDefaultExport(moduleCode, `chunk ${name}`);
  return `(function(${PARAMS}){"use strict";${code}return ${exported}})`;
}

/** `__p.Name` → `__p[slot]`, with a slot for each primordial some bundle uses (in first-use order). */
function assignSlots(bundles: string[]): { slots: string[]; rewrite: (code: string) => string } {
  const slots: string[] = [];
  const index = new Map<string, number>();
  for (const code of bundles) {
    for (const m of code.matchAll(SLOT)) {
      if (!index.has(m[1]!)) {
        index.set(m[1]!, slots.length);
        slots.push(m[1]!);
      }
    }
  }
  return { slots, rewrite: (code) => code.replace(SLOT, (_, n: string) => `__p[${index.get(n)}]`) };
}

/**
 * The sources, and the core as it is compiled to bytecode: its short local names renamed to atoms it
 * holds anyway (local-names.ts). Only bytecode gains by that: an engine that compiles the source keeps
 * the source text (and longer names cost it more than they save).
 */
async function sources(): Promise<{ sources: PreludeSources; bytecodeCore: string }> {
  const coreModule = await bundle(`${GUEST_DIR}core.ts`, 'esm');
  const chunkModules = await Promise.all(CHUNK_NAMES.map((name) => bundle(chunkEntry(name), 'esm')));
  const { slots, rewrite } = assignSlots([coreModule, ...chunkModules]);
  const coreCode = rewrite(coreModule);
  const core = wrapCore(coreCode, slots);
  // the core's names are atoms in every instance; a chunk's only in the instances that load it
  const bytecodeCore = wrapCore(renameLocals(coreCode, [...INTRINSICS, '__p', '__i']), slots);
  const chunks = new Map<string, string>();
  CHUNK_NAMES.forEach((name, i) => chunks.set(name, wrapChunk(rewrite(chunkModules[i]!), name)));
  return { sources: { core, chunks: new Map(CHUNK_NAMES.map((n) => [n, chunks.get(n)!])) }, bytecodeCore };
}

let builtPromise: ReturnType<typeof sources> | undefined;
let sourcesPromise: Promise<PreludeSources> | undefined;
let preludePromise: Promise<Prelude> | undefined;

/** Minified JS of the core and every chunk, for engines that cannot load QuickJS bytecode. */
export function buildPreludeSources(): Promise<PreludeSources> {
  sourcesPromise ??= Promise.resolve(loadPrebuilt()?.sources ?? (builtPromise ??= sources()).then((b) => b.sources));
  return sourcesPromise;
}

export function buildPrelude(): Promise<Prelude> {
  preludePromise ??= Promise.resolve(loadPrebuilt()?.bytecode ?? compileAll());
  return preludePromise;
}

/** Where `npm run build` puts the prelude, beside the compiled runtime (dist/runtime/prelude/). */
const PREBUILT = fileURLToPath(new URL('./prebuilt/prelude.json', import.meta.url));

interface PrebuiltFile {
  engineVersion: string;
  core: { source: string; bytecode: string };
  chunks: Record<string, { source: string; bytecode: string }>;
  sizes: Prelude['sizes'];
}

/** The prebuilt prelude, when there is one for this engine version (a built install); else undefined. */
function loadPrebuilt(): { bytecode: Prelude; sources: PreludeSources } | undefined {
  if (!import.meta.url.endsWith('.js') || !existsSync(PREBUILT)) return undefined;
  const file = JSON.parse(readFileSync(PREBUILT, 'utf8')) as PrebuiltFile;
  if (file.engineVersion !== ENGINE_VERSION) return undefined;
  const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
  const names = Object.keys(file.chunks);
  return {
    bytecode: { core: b64(file.core.bytecode), chunks: new Map(names.map((n) => [n, b64(file.chunks[n]!.bytecode)])), sizes: file.sizes },
    sources: { core: file.core.source, chunks: new Map(names.map((n) => [n, file.chunks[n]!.source])) },
  };
}

/** Builds the prelude from the guest sources and writes it where a built runtime looks for it. */
export async function writePrebuilt(path: string): Promise<PrebuiltFile> {
  const sources = await buildPreludeSources();
  const bytecode = await compileAll();
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  const file: PrebuiltFile = {
    engineVersion: ENGINE_VERSION,
    core: { source: sources.core, bytecode: b64(bytecode.core) },
    chunks: Object.fromEntries(CHUNK_NAMES.map((n) => [n, { source: sources.chunks.get(n)!, bytecode: b64(bytecode.chunks.get(n)!) }])),
    sizes: bytecode.sizes,
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(file));
  return file;
}

async function compileAll(): Promise<Prelude> {
  const { sources: src, bytecodeCore } = await (builtPromise ??= sources());
  const vm = await QuickJS.create({ wasm: quickjsWasmModule() });
  try {
    const sizes: Prelude['sizes'] = {};
    const compile = (name: string, code: string) => {
      const bytecode = vm.compile(code, `faas:prelude/${name}.js`, undefined, COMPILE_FLAGS);
      sizes[name] = { js: Buffer.byteLength(code), bytecode: bytecode.length };
      return bytecode;
    };
    const core = compile('core', bytecodeCore);
    const chunks = new Map<string, Uint8Array>();
    for (const [name, code] of src.chunks) chunks.set(name, compile(name, code));
    return { core, chunks, sizes };
  } finally {
    vm.dispose();
  }
}
