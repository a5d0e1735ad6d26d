import type { QuickJS } from 'quickjs-wasi';

/**
 * Finds the address of quickjs-wasi's allocator counter (`qjs_mem_used`, the live bytes of every
 * runtime in the instance). The package reads and limits it but exports no getter, so it is located
 * once per instance and verified by behaviour, never assumed:
 *  1. `qjs_set_memory_limit(MAGIC)` stores MAGIC in `qjs_mem_limit`, a static in the data segment right
 *     after the C stack: exactly one word there must hold it.
 *  2. The counter is one of that word's neighbours; the right one grows by a known allocation's size
 *     and returns to its value when the allocation is freed.
 * Anything else (another build of the package) fails loudly: the shared engine's limits depend on it.
 */
const MAGIC = 0x7a5a_5a5a;
const DATA_SCAN_BYTES = 1 << 20;
const PROBE_BYTES = 200_000;
const NEIGHBOURS = [8, 4, -4, -8, 12, -12, 16, -16];

export function findAllocatorCounter(vm: QuickJS, dataStart: number): number {
  const e = vm._getExports();
  e.qjs_set_memory_limit(MAGIC);
  const words = new Uint32Array(e.memory.buffer);
  const from = dataStart >> 2;
  const to = Math.min(words.length, (dataStart + DATA_SCAN_BYTES) >> 2);
  const hits: number[] = [];
  for (let i = from; i < to; i++) if (words[i] === MAGIC) hits.push(i << 2);
  e.qjs_set_memory_limit(0);
  if (hits.length !== 1) throw unsupported(`found ${hits.length} candidates for the allocator limit`);
  const limitAddr = hits[0]!;

  const read = (addr: number) => new Uint32Array(e.memory.buffer, addr, 1)[0]!;
  const candidates = NEIGHBOURS.map((d) => limitAddr + d).filter((a) => a >= dataStart);
  const before = candidates.map(read);
  const held = vm.evalCode(`"x".repeat(${PROBE_BYTES}) + "!"`);
  const during = candidates.map(read);
  held.dispose();
  vm.runGC();
  const after = candidates.map(read);
  const found = candidates.filter((_, i) => {
    const grew = during[i]! - before[i]!;
    return grew >= PROBE_BYTES && grew < PROBE_BYTES + 4096 && after[i] === before[i];
  });
  if (found.length !== 1) throw unsupported(`found ${found.length} candidates for the allocator counter`);
  return found[0]!;
}

function unsupported(detail: string): Error {
  return new Error(`isolation "shared" does not support this quickjs-wasi build (${detail}); use isolation "instance"`);
}
