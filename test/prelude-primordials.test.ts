import { expect, test } from 'vitest';
import { lintPrelude } from '../runtime/prelude/primordials-lint.ts';

/**
 * The guest prelude never calls a built-in user code can patch (runtime/prelude/primordials-lint.ts
 * says what that rules out): a new violation fails here with its file, line and text.
 */
test('the guest prelude calls no built-in user code can replace', () => {
  const violations = lintPrelude();
  const listed = violations.map((v) => `${v.file}:${v.line}:${v.column}: ${v.rule}: ${v.text}`);
  if (listed.length) console.log(listed.join('\n'));
  expect(listed).toEqual([]);
}, 60_000);
