/**
 * Type tests of faas/types: fixtures compiled with the options `faas init` writes; each
 * `// @ts-expect-error` line must be an error there (an unused one is an error itself) and
 * everything else must compile.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TYPES_DIR, typecheckWithTypes } from './declared-globals.ts';

const fixtures = readdirSync(join(TYPES_DIR, 'fixtures')).filter((f) => f.endsWith('.ts'));

describe('faas/types', () => {
  it(`fixtures (${fixtures.join(', ')}) compile, with an error on every @ts-expect-error line`, () => {
    expect(typecheckWithTypes(fixtures.map((f) => join(TYPES_DIR, 'fixtures', f)))).toEqual([]);
  });
});
