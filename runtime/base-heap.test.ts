/**
 * GUEST_BASE_HEAP_BYTES (contract/engine.ts), what the compiler adds to a module's own heap when it
 * checks that a function fits its memoryMb, is the heap a real instance holds besides its module:
 * measured here on a booted sandbox with the smallest module.
 */
import { describe, expect, it } from 'vitest';
import { GUEST_BASE_HEAP_BYTES } from '../contract/engine.ts';
import { deploySource, invoke, sharedRuntime } from '../test/helpers/sandbox.ts';

describe('the base guest heap', () => {
  it('matches a booted instance of the smallest function (within 15%)', async () => {
    const rt = await sharedRuntime();
    const name = await deploySource('export default { fetch: () => new Response("") }');
    await invoke(name);
    const heap = rt.stats().find((s) => s.name === name)!.heapBytes;
    expect(heap / GUEST_BASE_HEAP_BYTES, `measured ${heap} B, GUEST_BASE_HEAP_BYTES ${GUEST_BASE_HEAP_BYTES} B`).toBeGreaterThan(0.85);
    expect(heap / GUEST_BASE_HEAP_BYTES, `measured ${heap} B, GUEST_BASE_HEAP_BYTES ${GUEST_BASE_HEAP_BYTES} B`).toBeLessThan(1.15);
  });
});
