import { call, loaded, type Internals } from './host.ts';
import { defineGlobal, g } from './util.ts';
import { dataDescriptor, ownDescriptor } from './safe.ts';

/**
 * Chunks: rarely needed APIs compiled to their own bytecode and evaluated on first touch. The host
 * evaluates a chunk when asked (`loadChunk`) and hands back the script's completion value: a function
 * of the intrinsics and primordials (see runtime/prelude/build.ts). Called with what the core captured
 * at start-up, it returns the chunk's installer, which gets the core's internals. Nothing passes
 * through a global or a patchable built-in.
 */

/** Wrapper parameters (build.ts): the intrinsics and the primordials the core captured at start-up. */
declare const __i: readonly unknown[];
declare const __p: readonly unknown[];

export { loaded };

/** What every chunk's wrapper is called with: the intrinsics, then the primordials and the intrinsics as arrays. */
let chunkArgs: unknown[] | undefined;

function wrapperArgs(): unknown[] {
  const n = __i.length;
  const args: unknown[] = [];
  for (let i = 0; i < n; i++) ObjectDefineProperty(args, i, dataDescriptor(__i[i], true, true));
  ObjectDefineProperty(args, n, dataDescriptor(__p, true, true));
  ObjectDefineProperty(args, n + 1, dataDescriptor(__i, true, true));
  return args;
}

export function need(name: string): any {
  const have = loaded[name];
  if (have) return have;
  const factory = call('loadChunk', name);
  if (typeof factory !== 'function') throw new Error('prelude chunk "' + name + '" did not load');
  const install = ReflectApply(factory, undefined, (chunkArgs ??= wrapperArgs())) as (shared: Internals) => any;
  const exports = install((shared ??= makeShared()));
  if (!exports) throw new Error('prelude chunk "' + name + '" did not load');
  return (loaded[name] = exports);
}

let makeShared: () => Internals;
/** Built when the first chunk loads: most instances never load one, and every object costs heap. */
let shared: Internals | undefined;

export function setChunkInternals(internals: () => Internals): void {
  makeShared = internals;
}

/**
 * Every lazy global's name, and the chunk that provides it (same index). One table for all of them:
 * an array per chunk, or a closure over one, would stay alive in every instance for nothing.
 */
const lazyNames: string[] = [];
const lazyChunks: string[] = [];

/** The accessor of lazy global `i`: a value assigned replaces it, a read loads the chunk (and with it every name it provides). */
function lazyAccess(i: number, assigning: boolean, value: unknown): unknown {
  const name = lazyNames[i]!;
  if (assigning) return void defineGlobal(name, value);
  const chunk = lazyChunks[i]!;
  const exports = need(chunk);
  for (let j = 0; j < lazyNames.length; j++) {
    if (lazyChunks[j] !== chunk) continue;
    const n = lazyNames[j]!;
    const d = ownDescriptor(g, n);
    if (d?.get && d.get === d.set) defineGlobal(n, exports[n]);
  }
  return g[name];
}

/**
 * Puts `names` on the global object as accessors that load `chunk` when first read and then turn
 * into plain data properties. Assigning first replaces the accessor without loading anything, so
 * user code sees ordinary globals either way. Every name costs every instance heap, used or not:
 * its accessor is one small closure over the name's index (a method, so no prototype object), both
 * getter and setter (it tells them apart by argument count).
 */
export function lazyGlobals(chunk: string, names: string[]): void {
  // one descriptor object reused for every name: it is only read while defining
  const descriptor = { __proto__: null, configurable: true, enumerable: false } as PropertyDescriptor;
  for (let k = 0; k < names.length; k++) {
    const i = lazyNames.length;
    // own index properties of a fresh array, written before any user code runs
    lazyNames[i] = names[k]!;
    lazyChunks[i] = chunk;
    descriptor.get = descriptor.set = {
      m(value?: unknown) {
        return lazyAccess(i, arguments.length > 0, value);
      },
    }.m;
    ObjectDefineProperty(g, names[k]!, descriptor);
  }
}
