/**
 * MCP run_code's snippet as a function module. The snippet is the body of an async function (so
 * `return` gives the result and `await` works), `input` is the call's JSON input, and the module
 * answers with the returned value serialised in the guest. The snippet starts on the module's
 * first line, so its line numbers are the module's; only columns on line 1 are shifted, by PREFIX.
 *
 * A snippet can close the wrapper's braces and put code at the module's top level: that is allowed
 * to happen, because the module is compiled without the handler probe (nothing of it runs outside
 * the sandbox) and top-level code runs at cold start under the call's own CPU, memory and wall limits.
 */
import { FaasError } from '../../contract/errors.ts';

export const SNIPPET_FILE = 'snippet.ts';

/** A function expression, not an arrow: `arguments` and `this` are the snippet's own, not fetch()'s (no env, no ctx). */
const PREFIX = 'export default{async fetch(q){return __faas_run(q,async function(input){';

// The result travels as the response body (JSON text, or String(value) when JSON cannot carry it)
// and its form in a header, so nothing is encoded twice inside a 1 MiB heap.
const SUFFIX = `
})}};
async function __faas_run(request, snippet) {
  const text = await request.text();
  const value = await snippet(text === '' ? undefined : JSON.parse(text));
  const type = value === null ? 'null' : typeof value;
  if (value === undefined) return new Response(null, { headers: { 'x-faas-form': 'undefined', 'x-faas-type': type } });
  let json;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    json = undefined;
  }
  if (typeof json === 'string') return new Response(json, { headers: { 'x-faas-form': 'json', 'x-faas-type': type } });
  let shown;
  try {
    shown = String(value);
  } catch (err) {
    shown = Object.prototype.toString.call(value);
  }
  return new Response(shown, { headers: { 'x-faas-form': 'text', 'x-faas-type': type } });
}
`;

/**
 * How deep a snippet may nest brackets. QuickJS's parser recurses per level: a few thousand levels
 * cost the shared compile thread hundreds of ms (and can trap it), so deeper snippets are refused
 * before they are compiled. Real code and data literals stay far below.
 */
export const MAX_NESTING = 256;

/**
 * The deepest bracket nesting of `code` ((, [, { and template substitutions), outside strings and
 * comments. Regular expression literals are read as code: a bracket in one can only make the
 * count higher, so the check errs towards refusing.
 */
export function nestingDepth(code: string): number {
  let depth = 0;
  let max = 0;
  /** What a `}` closes: a block (false) or a template substitution (true). */
  const closes: boolean[] = [];
  let i = 0;
  const n = code.length;
  const template = (): void => {
    // inside a template literal: until its end or a substitution
    while (i < n) {
      const c = code[i]!;
      if (c === '\\') i += 2;
      else if (c === '`') {
        i++;
        return;
      } else if (c === '$' && code[i + 1] === '{') {
        i += 2;
        closes.push(true);
        if (++depth > max) max = depth;
        return;
      } else i++;
    }
  };
  while (i < n) {
    const c = code[i]!;
    if (c === '/' && code[i + 1] === '/') {
      const end = code.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
    } else if (c === '/' && code[i + 1] === '*') {
      const end = code.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === '"' || c === "'") {
      i++;
      while (i < n && code[i] !== c && code[i] !== '\n') i += code[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '`') {
      i++;
      template();
    } else if (c === '(' || c === '[' || c === '{') {
      if (c === '{') closes.push(false);
      if (++depth > max) max = depth;
      i++;
    } else if (c === ')' || c === ']' || c === '}') {
      depth = Math.max(0, depth - 1);
      i++;
      if (c === '}' && closes.pop() === true) template();
    } else i++;
  }
  return max;
}

const MODULE_SYNTAX = /(?:^|[\n;])\s*(?:import\s*[\w{*'"]|export\s)/;

/** The module source for `code`. */
export function snippetModule(code: string): string {
  return PREFIX + code + SUFFIX;
}

/**
 * A compile error of the module as a position in the snippet: columns on line 1 lose the prefix, and
 * a position past the snippet's end (an unclosed brace is reported in the wrapper) is its last character.
 */
export function relocateCompileError(err: unknown, code: string): unknown {
  if (!(err instanceof FaasError) || err.code !== 'compile_error') return err;
  const lines = code.split('\n');
  const at = (line: number, column: number): { line: number; column: number } => {
    if (line > lines.length || (line === lines.length && column > lines[line - 1]!.length + (line === 1 ? PREFIX.length : 0) + 1)) {
      const last = lines.length;
      return { line: last, column: lines[last - 1]!.length + 1 };
    }
    return { line, column: line === 1 ? Math.max(1, column - PREFIX.length) : column };
  };
  const file = SNIPPET_FILE.replace(/\./g, '\\.');
  const message = err.message.replace(new RegExp(`(^|\\n)${file}:(\\d+):(\\d+):`, 'g'), (_m, start: string, l: string, c: string) => {
    const p = at(Number(l), Number(c));
    return `${start}${SNIPPET_FILE}:${p.line}:${p.column}:`;
  });
  const hint = MODULE_SYNTAX.test(code) ? `\n${SNIPPET_FILE}: the snippet is the body of an async function: it cannot import or export anything; return the result instead` : '';
  const detail = { ...err.detail };
  if (detail.file === SNIPPET_FILE && typeof detail.line === 'number' && typeof detail.column === 'number') Object.assign(detail, at(detail.line, detail.column));
  return new FaasError('compile_error', message + hint, detail);
}

/** A stack trace in the snippet's terms: the wrapper's frames go, columns on line 1 lose the prefix. */
export function relocateStack(stack: string, code: string): string {
  const lines = code.split('\n').length;
  const frame = new RegExp(`${SNIPPET_FILE.replace(/\./g, '\\.')}:(\\d+):(\\d+)`);
  return stack
    .split('\n')
    .filter((l) => {
      const m = frame.exec(l);
      return !m || Number(m[1]) <= lines;
    })
    .map((l) => l.replace(frame, (_m, line: string, column: string) => `${SNIPPET_FILE}:${line}:${line === '1' ? Math.max(1, Number(column) - PREFIX.length) : column}`))
    .join('\n');
}
