import { randomBytes } from 'node:crypto';
import { QuickJS } from 'quickjs-wasi';
import { quickjsWasmModule } from '../../../contract/engine.ts';

/**
 * Where a QuickJS context keeps Math.random's state (quickjs-ng: `JSContext.random_state`, one
 * xorshift64* word seeded when the context is made). A copy of an instance's memory (snapshot.ts)
 * copies that word too, so every copy would draw the same numbers: a restored sandbox writes a fresh
 * seed there. The package exports no setter, so the word is located once per thread on a probe VM and
 * verified by behaviour, never assumed: exactly one word of the context must step by xorshift64* on a
 * call of Math.random, and the number returned must be the one that step yields. Any other build of
 * the package leaves it unlocated, and snapshots are then not taken.
 */
const CONTEXT_SCAN_BYTES = 8192;
const MASK = (1n << 64n) - 1n;

let located: Promise<number | undefined> | undefined;
let offset: number | undefined;

/** Offset of the state word from the context pointer, once located (undefined before, or when this build hides it). */
export function randomStateOffset(): number | undefined {
  return offset;
}

/** Locates the word (once per thread; later calls share the first). */
export function locateRandomState(): Promise<number | undefined> {
  located ??= probe().then(
    (o) => (offset = o),
    () => undefined,
  );
  return located;
}

async function probe(): Promise<number | undefined> {
  const vm = await QuickJS.create({ wasm: quickjsWasmModule() });
  try {
    const e = vm._getExports();
    const ctx = e.qjs_get_context_ptr();
    const read = () => new BigUint64Array(e.memory.buffer.slice(ctx, ctx + CONTEXT_SCAN_BYTES));
    const before = read();
    const drawn = vm.evalCode('Math.random()');
    const value = drawn.toNumber();
    drawn.dispose();
    const after = read();
    const hits: number[] = [];
    for (let i = 0; i < before.length; i++) {
      const next = xorshift(before[i]!);
      if (after[i] === next && toUnit(next) === value) hits.push(i * 8);
    }
    return hits.length === 1 ? hits[0] : undefined;
  } finally {
    vm.dispose();
  }
}

function xorshift(x: bigint): bigint {
  x ^= x >> 12n;
  x ^= (x << 25n) & MASK;
  x ^= x >> 27n;
  return x;
}

/** js_math_random: the top 52 bits of state × 0x2545F4914F6CDD1D as the mantissa of a number in [1, 2), minus 1. */
function toUnit(state: bigint): number {
  return Number(((state * 0x2545f4914f6cdd1dn) & MASK) >> 12n) / 2 ** 52;
}

/** Reads the state word of the context at `ctx` in `memory`. */
export function readRandomState(memory: WebAssembly.Memory, ctx: number, at: number): bigint {
  return new DataView(memory.buffer).getBigUint64(ctx + at, true);
}

/** A fresh, non-zero seed from the host's CSPRNG (xorshift's state must never be 0). */
export function reseed(memory: WebAssembly.Memory, ctx: number, at: number): void {
  let seed = 0n;
  while (seed === 0n) seed = randomBytes(8).readBigUInt64LE(0);
  new DataView(memory.buffer).setBigUint64(ctx + at, seed, true);
}
