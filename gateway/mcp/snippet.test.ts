import { describe, expect, it } from 'vitest';
import { FaasError } from '../../contract/errors.ts';
import { MAX_NESTING, nestingDepth, relocateCompileError, relocateStack, snippetModule, SNIPPET_FILE } from './snippet.ts';

const PREFIX_LENGTH = snippetModule('').indexOf('\n');

describe('the snippet module', () => {
  it('starts the snippet on the module’s first line, so its line numbers are the module’s', () => {
    const module = snippetModule('const a = 1;\nreturn a;');
    expect(module.split('\n')[0]!.endsWith('const a = 1;')).toBe(true);
    expect(module.split('\n')[1]).toBe('return a;');
  });

  it('moves compile error positions to the snippet: line 1 loses the prefix, past the end is the last character', () => {
    const err = (message: string, line: number, column: number) => new FaasError('compile_error', message, { file: SNIPPET_FILE, line, column });
    const code = 'return 1 +\nfoo(;';
    const a = relocateCompileError(err(`snippet.ts:2:5: Unexpected ";"`, 2, 5), code) as FaasError;
    expect(a.message).toBe('snippet.ts:2:5: Unexpected ";"');
    const b = relocateCompileError(err(`snippet.ts:1:${PREFIX_LENGTH + 7}: x`, 1, PREFIX_LENGTH + 7), code) as FaasError;
    expect(b.message).toBe('snippet.ts:1:7: x');
    expect(b.detail).toMatchObject({ line: 1, column: 7 });
    const c = relocateCompileError(err('snippet.ts:3:1: Unexpected "}"', 3, 1), code) as FaasError;
    expect(c.message).toBe('snippet.ts:2:6: Unexpected "}"');
    const d = relocateCompileError(err('snippet.ts:1:80: Unexpected "x"', 1, 80), 'import x from "y"') as FaasError;
    expect(d.message).toMatch(/cannot import or export anything/);
    const other = new FaasError('timeout', 'slow');
    expect(relocateCompileError(other, code)).toBe(other);
  });

  it('drops the wrapper’s frames from a stack and moves line-1 columns', () => {
    const stack = `    at <anonymous> (snippet.ts:1:${PREFIX_LENGTH + 3})\n    at g (snippet.ts:2:9)\n    at __faas_run (snippet.ts:5:68)`;
    expect(relocateStack(stack, 'x;\ny;')).toBe('    at <anonymous> (snippet.ts:1:3)\n    at g (snippet.ts:2:9)');
  });
});

describe('nestingDepth', () => {
  it('counts brackets in code, not in strings, comments or template text', () => {
    expect(nestingDepth('return [1, [2, {a: (3)}]];')).toBe(4);
    expect(nestingDepth('const s = "(((((" + \'[[[[\'; // ((((\n/* {{{{ */ return s;')).toBe(0);
    expect(nestingDepth("return `((( ${ [1].map((x) => `${x}`) } )))`;")).toBe(3);
    expect(nestingDepth('return "\\"((("; ')).toBe(0);
  });

  it('finds deep nesting the compiler would spend long on', () => {
    expect(nestingDepth(`${'['.repeat(MAX_NESTING + 1)}${']'.repeat(MAX_NESTING + 1)}`)).toBe(MAX_NESTING + 1);
    expect(nestingDepth('`${`${`${`${1}`}`}`}`')).toBe(4);
    // unbalanced closers never go below zero
    expect(nestingDepth(')))]]]}}}((')).toBe(2);
  });
});
