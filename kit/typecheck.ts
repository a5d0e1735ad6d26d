/**
 * Typecheck on compile: `faas compile`, `faas deploy` and `faas dev` check a TypeScript entry with
 * the TypeScript compiler API, under the nearest tsconfig.json above the entry, before bundling
 * (esbuild only strips types). An entry with no tsconfig above it, or a JavaScript one, is not
 * checked; `--no-check` skips it. Only the CLI does this: the gateway compiles uploaded sources as
 * they are, and TypeScript is loaded only when a check runs.
 */
import { dirname, extname, relative, resolve } from 'node:path';
import type ts from 'typescript';
import { FaasError } from '../contract/errors.ts';

const CHECKED = new Set(['.ts', '.tsx', '.mts', '.cts']);

export interface TypecheckResult {
  /** The tsconfig.json used. */
  tsconfig: string;
  /** Errors, formatted `file:line:col: error TS<code>: message` (paths relative to cwd). */
  errors: string[];
  ms: number;
}

let typescript: Promise<typeof ts> | undefined;
/** The last program per tsconfig: the next check reuses its unchanged source files (lib files above all). */
const previous = new Map<string, ts.Program>();

/** The tsconfig.json that governs `entry`, if any. */
export async function tsconfigFor(entry: string): Promise<string | undefined> {
  if (!CHECKED.has(extname(entry).toLowerCase())) return undefined;
  const t = await loadTypeScript();
  return t.findConfigFile(dirname(resolve(entry)), t.sys.fileExists, 'tsconfig.json');
}

/**
 * Checks `entry` (and what it imports, plus the ambient `.d.ts` files its tsconfig includes, such
 * as faas-env.d.ts) with its tsconfig's options. Undefined when there is nothing to check.
 */
export async function typecheckEntry(entry: string, cwd = process.cwd()): Promise<TypecheckResult | undefined> {
  const tsconfig = await tsconfigFor(entry);
  if (!tsconfig) return undefined;
  const t = await loadTypeScript();
  const started = performance.now();
  const parsed = t.getParsedCommandLineOfConfigFile(tsconfig, { noEmit: true }, {
    ...t.sys,
    onUnRecoverableConfigFileDiagnostic: () => {},
  });
  if (!parsed) return { tsconfig, errors: [`${relative(cwd, tsconfig)}: cannot read this tsconfig.json`], ms: performance.now() - started };
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, declaration: false, composite: false, incremental: false };
  const roots = [resolve(entry), ...parsed.fileNames.filter((f) => f.endsWith('.d.ts'))];
  const program = t.createProgram({ rootNames: roots, options, projectReferences: parsed.projectReferences, oldProgram: previous.get(tsconfig) });
  previous.set(tsconfig, program);
  const diagnostics = [...parsed.errors, ...t.getPreEmitDiagnostics(program)].filter((d) => d.category === t.DiagnosticCategory.Error);
  return { tsconfig, errors: diagnostics.map((d) => format(t, d, cwd)), ms: performance.now() - started };
}

/** Checks `entry` and throws a compile_error listing the type errors, if there are any. */
export async function assertTypes(entry: string, cwd = process.cwd()): Promise<TypecheckResult | undefined> {
  const result = await typecheckEntry(entry, cwd);
  if (result && result.errors.length > 0) {
    const first = /^(.*?):(\d+):(\d+): /.exec(result.errors[0]!);
    throw new FaasError(
      'compile_error',
      `${result.errors.join('\n')}\n${result.errors.length} type error${result.errors.length === 1 ? '' : 's'} (checked with ${relative(cwd, result.tsconfig)}; --no-check skips the check)`,
      first ? { file: first[1], line: Number(first[2]), column: Number(first[3]) } : undefined,
    );
  }
  return result;
}

function format(t: typeof ts, d: ts.Diagnostic, cwd: string): string {
  const text = t.flattenDiagnosticMessageText(d.messageText, '\n');
  if (!d.file || d.start === undefined) return `error TS${d.code}: ${text}`;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return `${relative(cwd, d.file.fileName)}:${line + 1}:${character + 1}: error TS${d.code}: ${text}`;
}

function loadTypeScript(): Promise<typeof ts> {
  typescript ??= import('typescript').then((m) => (m.default ?? m) as typeof ts);
  return typescript;
}
