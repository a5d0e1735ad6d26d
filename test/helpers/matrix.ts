import type { EngineName, Isolation } from '../../runtime/engine/types.ts';

/**
 * Every engine/isolation combination the runtime offers. Suites that drive guest code through
 * test/helpers/sandbox.ts run once per entry, passing it as the helpers' RuntimeOptions, e.g.
 * `describe.each(ENGINE_MATRIX)('limits ($engine/$isolation)', (opts) => { ... invoke(name, {}, opts) })`.
 * FAAS_TEST_ENGINES narrows it ("bytecode/shared,emscripten/shared") for a quick local run.
 */
export interface EngineCombination {
  engine: EngineName;
  isolation: Isolation;
}

export const ALL_COMBINATIONS: readonly EngineCombination[] = [
  { engine: 'bytecode', isolation: 'instance' },
  { engine: 'bytecode', isolation: 'shared' },
  { engine: 'emscripten', isolation: 'shared' },
];

const only = process.env.FAAS_TEST_ENGINES?.split(',').map((s) => s.trim()).filter(Boolean);

export const ENGINE_MATRIX: readonly EngineCombination[] = only
  ? ALL_COMBINATIONS.filter((c) => only.includes(`${c.engine}/${c.isolation}`))
  : ALL_COMBINATIONS;

export const label = (c: EngineCombination): string => `${c.engine}/${c.isolation}`;
