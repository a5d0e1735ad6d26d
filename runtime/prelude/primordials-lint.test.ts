import ts from 'typescript';
import { expect, test } from 'vitest';
import { VENDORED_CHUNKS, buildPreludeSources } from './build.ts';
import { lintPrelude } from './primordials-lint.ts';

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

/**
 * QuickJS compiles a template literal with a substitution to a call of String.prototype.concat looked
 * up on the string: the lint keeps them out of the sources, this keeps the bundler from putting one back.
 * Vendored chunks (build.ts VENDORED_CHUNKS) are third-party code outside these rules.
 */
test('the built prelude has no template literal with a substitution', async () => {
  const { core, chunks } = await buildPreludeSources();
  const found: string[] = [];
  for (const [name, code] of [['core', core] as const, ...chunks]) {
    if (VENDORED_CHUNKS.includes(name)) continue;
    const sf = ts.createSourceFile(`${name}.js`, code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
    const visit = (node: ts.Node): void => {
      if (ts.isTemplateExpression(node) || ts.isTaggedTemplateExpression(node)) found.push(`${name}: ${node.getText(sf).slice(0, 60)}`);
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  expect(found).toEqual([]);
}, 60_000);
