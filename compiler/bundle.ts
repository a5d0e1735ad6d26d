import * as esbuild from 'esbuild';
import { builtinModules } from 'node:module';
import { basename, extname, join, relative, resolve } from 'node:path';
import { FaasError } from '../contract/errors.ts';
import { type LoweredSource, lowerUploadedSource, MUST_BUNDLE, refuseAllImports, refuseRuntimeImports, UNAVAILABLE_REQUIRE } from './self-contained.ts';

/**
 * What to bundle:
 * - a file path: the operator's own entry; imports resolve like Node's (relative files, npm packages);
 * - `{ source, filename }`: uploaded source text (admin API deploys, registry rebuilds). It is
 *   compiled as one self-contained module that reads no file at all: every import is a compile_error
 *   (see self-contained.ts);
 * - `{ source, filename, resolveDir }`: the operator's own source text whose imports resolve from
 *   `resolveDir` (tests and benchmarks).
 */
export type EntryInput = string | { source: string; filename: string; resolveDir?: string };

export interface Bundle {
  code: string;
  /** External source map (JSON) with sourcesContent; `sources` are relative to the working directory. */
  map: string;
  /** Every bundled input, relative to the working directory. */
  inputs: string[];
  /** Total bytes of all inputs (entry, relative imports and npm package files). */
  sourceBytes: number;
  /** Export names of the bundled module, from esbuild's metafile. */
  exports: string[];
  /** The bundle's own file name (`hello.js` for `functions/hello.ts`): the name stack traces will show. */
  fileName: string;
  /** Formatted like errors (`file:line:col: message`); the bundle is still usable. */
  warnings: string[];
}

export interface BundleOptions {
  /** Paths in messages and in the source map are relative to this. Default: cwd, or resolveDir for source entries. */
  workingDir?: string;
}

export async function bundleEntry(entry: EntryInput, options: BundleOptions = {}): Promise<Bundle> {
  const uploaded = typeof entry !== 'string' && entry.resolveDir === undefined;
  const workingDir = options.workingDir ?? (typeof entry === 'string' ? process.cwd() : (entry.resolveDir ?? process.cwd()));
  const entryName = typeof entry === 'string' ? entry : entry.filename;
  const fileName = `${basename(entryName, extname(entryName))}.js`;
  let lowered: LoweredSource | undefined;
  const located = (messages: esbuild.Message[]) => (lowered ? messages.map(lowered.relocate) : messages);
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    // Uploaded source: see self-contained.ts for why it is built without any directory and how.
    if (uploaded) lowered = await lowerUploadedSource(entry.source, entry.filename, loaderFor(entry.filename));
    result = await esbuild.build({
      ...(typeof entry === 'string'
        ? { entryPoints: [resolve(entry)] }
        : lowered
          ? { stdin: { contents: lowered.contents, sourcefile: entry.filename, loader: 'js' }, tsconfigRaw: '{}', define: { require: UNAVAILABLE_REQUIRE } }
          : { stdin: { contents: entry.source, sourcefile: entry.filename, resolveDir: entry.resolveDir, loader: loaderFor(entry.filename) } }),
      absWorkingDir: workingDir,
      outfile: join(workingDir, fileName),
      write: false,
      metafile: true,
      bundle: true,
      format: 'esm',
      // Whitespace and syntax only: renamed identifiers would change Function.prototype.name for user
      // code and make guest stack traces name `e` instead of the user's function.
      minifyWhitespace: true,
      minifySyntax: true,
      sourcemap: 'external',
      sourcesContent: true,
      target: 'es2023',
      // 'browser' rather than 'neutral': only then does esbuild honour a package's `"browser": {...}`
      // replacement map (e.g. `"fs": false`), which is how packages declare they work without Node.
      // It also defines process.env.NODE_ENV as "production" when minifying, as browser bundles expect.
      platform: 'browser',
      mainFields: ['browser', 'module', 'main'],
      conditions: ['worker', 'browser'],
      logLevel: 'silent',
      plugins: [uploaded ? refuseAllImports() : rejectNodeBuiltins(workingDir)],
    });
  } catch (err) {
    if (isBuildFailure(err)) throw bundleError(located(err.errors));
    throw err;
  }
  if (result.errors.length > 0) throw bundleError(located(result.errors));
  const code = result.outputFiles.find((file) => file.path.endsWith('.js'));
  const map = result.outputFiles.find((file) => file.path.endsWith('.js.map'));
  const output = Object.values(result.metafile.outputs).find((out) => out.entryPoint !== undefined);
  if (!code || !map || !output) throw new Error('esbuild produced no bundle output');
  const inputs = Object.keys(result.metafile.inputs);
  if (uploaded) {
    // The plugin refused every import; anything else here would be a file esbuild read on its own.
    const stray = inputs.find((input) => input !== entryName);
    if (stray !== undefined) throw new FaasError('compile_error', `${entryName}: cannot bundle "${stray}": ${MUST_BUNDLE}`, { file: entryName });
    refuseRuntimeImports(code.text, map.text);
  }
  return {
    code: code.text,
    map: map.text,
    inputs,
    sourceBytes: inputs.reduce((sum, input) => sum + result.metafile.inputs[input]!.bytes, 0),
    exports: output.exports,
    fileName,
    warnings: result.warnings.map(formatMessage),
  };
}

/**
 * Fails the build at the import statement, so the message carries the importing file:line:col.
 * A bare built-in name is only rejected when nothing resolves it: an installed polyfill package
 * of the same name (e.g. `buffer`) or a package's browser map entry (`"fs": false`) is fine.
 */
function rejectNodeBuiltins(workingDir: string): esbuild.Plugin {
  const names = builtinModules.map((name) => name.replace(/[/]/g, '\\/'));
  const filter = new RegExp(`^(?:node:.*|(?:${names.join('|')}))$`);
  return {
    name: 'faas-reject-node-builtins',
    setup(build) {
      build.onResolve({ filter }, async (args) => {
        if (args.pluginData === RESOLVING_NORMALLY) return undefined;
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: RESOLVING_NORMALLY,
        });
        if (resolved.errors.length === 0) return undefined;
        return { errors: [{ text: builtinMessage(args.path, relative(workingDir, args.importer)) }] };
      });
    },
  };
}

const RESOLVING_NORMALLY = Symbol('faas-resolving-normally');

function builtinMessage(specifier: string, importer: string): string {
  const message = `"${specifier}" is a Node.js built-in and is not available in faas functions`;
  const pkg = packageOf(importer);
  return pkg ? `${message}: package "${pkg}" is Node-only (imported by ${importer})` : message;
}

/** The npm package a file belongs to, from its innermost node_modules segment. */
function packageOf(file: string): string | undefined {
  const parts = file.split(/[\\/]/);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return undefined;
  const name = parts[at + 1]!;
  return name.startsWith('@') && parts[at + 2] ? `${name}/${parts[at + 2]}` : name;
}

function bundleError(messages: esbuild.Message[]): FaasError {
  // The user's own files first: their mistakes are the likeliest cause of a dependency's errors too.
  const ordered = [...messages].sort((a, b) => rank(a) - rank(b) || compareLocation(a, b));
  const first = ordered[0];
  const loc = first?.location;
  return new FaasError(
    'compile_error',
    ordered.map(formatMessage).join('\n') || 'bundling failed',
    loc ? { file: loc.file, line: loc.line, column: loc.column + 1 } : undefined,
  );
}

/** `file:line:col: message` with a 1-based column (esbuild's is 0-based), like tsc and QuickJS. */
function formatMessage(message: esbuild.Message): string {
  const loc = message.location;
  return loc ? `${loc.file}:${loc.line}:${loc.column + 1}: ${message.text}` : message.text;
}

function rank(message: esbuild.Message): number {
  const file = message.location?.file;
  if (file === undefined) return 2;
  return file.split(/[\\/]/).includes('node_modules') ? 1 : 0;
}

function compareLocation(a: esbuild.Message, b: esbuild.Message): number {
  const x = a.location;
  const y = b.location;
  if (!x || !y) return 0;
  return x.file.localeCompare(y.file) || x.line - y.line || x.column - y.column;
}

function loaderFor(filename: string): esbuild.Loader {
  const ext = extname(filename).toLowerCase();
  if (ext === '.ts' || ext === '.mts' || ext === '.cts') return 'ts';
  if (ext === '.tsx') return 'tsx';
  if (ext === '.jsx') return 'jsx';
  return 'js';
}

function isBuildFailure(err: unknown): err is esbuild.BuildFailure {
  return err instanceof Error && Array.isArray((err as Partial<esbuild.BuildFailure>).errors);
}
