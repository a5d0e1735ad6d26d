import { call, type Internals } from './host.ts';
import { defineGlobal, g } from './util.ts';

/**
 * Chunks: rarely needed APIs compiled to their own bytecode and evaluated on first touch. The host
 * evaluates a chunk synchronously from `loadChunk`; the chunk hands its installer to
 * `__faas_define`, which exists only for that moment.
 */

/** Exports of the chunks loaded so far (no prototype: a name must never resolve to Object.prototype). */
export const loaded: Record<string, any> = Object.create(null);

/** Captured before user code runs: a patched Object.defineProperty must never see the installer. */
const { defineProperty } = Object;

export function need(name: string): any {
  const have = loaded[name];
  if (have) return have;
  let exports: any;
  const define = (install: (host: unknown, shared: Internals) => any) => {
    exports = install(hostForChunks, (shared ??= makeShared()));
  };
  // defineProperty, not assignment, and a descriptor without a prototype: neither a planted setter on
  // the global nor an accessor on Object.prototype ("get", "set" …) gets to see the installer
  defineProperty(g, '__faas_define', { __proto__: null, value: define, configurable: true } as PropertyDescriptor);
  try {
    call('loadChunk', name);
  } finally {
    delete g.__faas_define;
  }
  if (!exports) throw new Error(`prelude chunk "${name}" did not load`);
  return (loaded[name] = exports);
}

let hostForChunks: unknown;
let makeShared: () => Internals;
/** Built when the first chunk loads: most instances never load one, and every object costs heap. */
let shared: Internals | undefined;

export function setChunkHost(host: unknown, internals: () => Internals): void {
  hostForChunks = host;
  makeShared = internals;
}

/**
 * Puts `names` on the global object as accessors that load `chunk` when first read and then turn
 * into plain data properties. Assigning first replaces the accessor without loading anything, so
 * user code sees ordinary globals either way. One closure serves as both getter and setter (it
 * tells them apart by argument count): every function object costs heap and load time in every
 * instance.
 */
export function lazyGlobals(chunk: string, names: string[]): void {
  // one descriptor object reused for every name: it is only read while defining
  const descriptor: PropertyDescriptor = { configurable: true, enumerable: false };
  for (const name of names) {
    const accessor = function (value?: unknown) {
      if (arguments.length) return void defineGlobal(name, value);
      const exports = need(chunk);
      for (const n of names) {
        const d = Object.getOwnPropertyDescriptor(g, n);
        if (d?.get && d.get === d.set) defineGlobal(n, exports[n]);
      }
      return g[name];
    };
    descriptor.get = descriptor.set = accessor;
    defineProperty(g, name, descriptor);
  }
}
