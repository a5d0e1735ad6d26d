import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';
import * as esbuild from 'esbuild';
import { FaasError } from '../contract/errors.ts';

/**
 * Uploaded source (an admin API deploy, or a registry rebuild from a stored source) is compiled on
 * the gateway, which can read its signing key, its environment and every tenant's secrets. Such a
 * build must read no file at all: `faas deploy` bundles relative imports and npm packages on the
 * client, so the text that arrives is already one self-contained module (a whitelist: nothing is
 * importable, not even a `data:` URL).
 *
 * esbuild reads files for: resolved imports (any kind, with any import attribute); glob imports
 * (`import(\`./${x}.json\`)`, `require("../" + x)`), which it expands by walking the directory tree
 * from its own working directory before any plugin is asked; tsconfig files; a linked source map
 * (`//# sourceMappingURL=<path or file: URL>`); and the `sources` of an input source map that come
 * without `sourcesContent`, even from an inline `data:` map. So an uploaded source is built in these
 * steps, none of which has a directory to start from:
 *
 * 1. `prepareUploadedSource`: every source-map comment but an inline map on the last line is a
 *    compile_error, and that map is rewritten so that every source carries its content.
 * 2. `lowerUploadedSource`: esbuild's transform (which never touches the file system) strips types
 *    and turns every `import()` into `require()`.
 * 3. The build (bundle.ts) replaces the global `require` with UNAVAILABLE_REQUIRE, so no call is left
 *    that esbuild could expand as a glob, while `refuseAllImports` owns every resolution of what
 *    remains (static imports and re-exports) and refuses it.
 * 4. `refuseRuntimeImports`: a call of UNAVAILABLE_REQUIRE with a literal path (what was a
 *    `require("x")` or `import("x")`, or a glob) is a compile_error too.
 */
export const MUST_BUNDLE = 'uploaded source must be self-contained: imports must be bundled by faas deploy (it bundles relative imports and npm packages on the client)';

/** Refuses every import: nothing is resolved, so nothing is read. */
export function refuseAllImports(): esbuild.Plugin {
  return {
    name: 'faas-refuse-all-imports',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => ({ errors: [{ text: `cannot import "${clip(args.path)}": ${MUST_BUNDLE}` }] }));
    },
  };
}

/**
 * What the global `require` becomes in an uploaded build: a name nothing defines, so a call that
 * survives (a non-literal `require(x)` or `import(x)`, which could never load anything in a guest
 * anyway) fails at run time as `require` would have.
 */
export const UNAVAILABLE_REQUIRE = '__faas_require_unavailable';

export interface LoweredSource {
  /** JavaScript for the build, with its source map inline. */
  contents: string;
  /** Moves a message located in `contents` to where it came from (the upload, or the files its inline map names). */
  relocate(message: esbuild.Message): esbuild.Message;
}

/** Step 2: types stripped, `import()` turned into `require()`; reads no file. */
export async function lowerUploadedSource(source: string, filename: string, loader: esbuild.Loader): Promise<LoweredSource> {
  const result = await esbuild.transform(prepareUploadedSource(source, filename), {
    loader,
    sourcefile: filename,
    format: 'esm',
    supported: { 'dynamic-import': false },
    sourcemap: 'external',
    sourcesContent: true,
    tsconfigRaw: '{}',
    logLevel: 'silent',
  });
  const map = completeSourceMap(result.map, filename, 1);
  let trace: TraceMap | undefined;
  return {
    contents: `${result.code}${TRAILING_PREFIX}data:application/json;base64,${Buffer.from(map).toString('base64')}\n`,
    relocate(message) {
      const loc = message.location;
      if (!loc) return message;
      const original = originalPositionFor((trace ??= new TraceMap(map)), { line: loc.line, column: loc.column });
      if (original.source === null) return message;
      return { ...message, location: { ...loc, file: original.source, line: original.line, column: original.column } };
    },
  };
}

/** Step 4: the built code may call UNAVAILABLE_REQUIRE only with a computed argument. */
export function refuseRuntimeImports(code: string, map: string): void {
  const call = `${UNAVAILABLE_REQUIRE}(`;
  for (let at = code.indexOf(call); at >= 0; at = code.indexOf(call, at + 1)) {
    // esbuild prints a string or template argument (a literal path or a glob) starting with a quote.
    if (!'"\'`'.includes(code.charAt(at + call.length))) continue;
    const argument = code.slice(at + call.length, at + call.length + 200);
    const spec = /^(["'`])((?:\\.|(?!\1)[^\\])*)\1/.exec(argument)?.[0] ?? argument;
    const before = code.slice(0, at);
    const line = before.split('\n').length;
    const original = originalPositionFor(new TraceMap(map), { line, column: at - before.lastIndexOf('\n') - 1 });
    const where = original.source === null ? '' : `${original.source}:${original.line}:${original.column + 1}: `;
    throw new FaasError('compile_error', `${where}cannot import ${clip(spec)} with require() or import(): ${MUST_BUNDLE}`, {
      ...(original.source === null ? {} : { file: original.source, line: original.line, column: original.column + 1 }),
    });
  }
}

/**
 * Anything esbuild could take for a source-map comment (its own rule: `//#`, `//@`, `/*#`, `/*@`
 * followed by ` sourceMappingURL=`; this one is looser so that nothing esbuild honours escapes it).
 * It also matches inside string literals, which is why targets that start like a string
 * continuation are let through: esbuild reads nothing for those.
 */
const MAP_COMMENT = /\/[/*][#@]\s*sourceMappingURL\s*=\s*(\S*)/g;
const HARMLESS_TARGET = /^(?:$|['"`$+])/;
/** The one form accepted: `faas deploy`'s own last line (gateway/bundle-source.ts). */
const TRAILING_MAP = /^\/\/# sourceMappingURL=data:application\/json(?:;charset=[\w-]+)?;base64,([A-Za-z0-9+/]*={0,2})$/;
const TRAILING_PREFIX = '\n//# sourceMappingURL=';

/**
 * Returns the text to hand to esbuild: the source with its trailing inline source map (if any)
 * rewritten so that every `sources` entry has its content, so esbuild never goes looking for it.
 * Any other source-map comment is a compile_error.
 */
export function prepareUploadedSource(source: string, filename: string): string {
  let code = source;
  let map: string | undefined;
  const at = source.lastIndexOf(TRAILING_PREFIX);
  if (at >= 0) {
    const match = TRAILING_MAP.exec(source.slice(at + 1).trimEnd());
    if (match) {
      code = source.slice(0, at);
      map = completeSourceMap(Buffer.from(match[1]!, 'base64').toString('utf8'), filename, lineOf(source, at + 1));
    }
  }
  for (const found of code.matchAll(MAP_COMMENT)) {
    if (HARMLESS_TARGET.test(found[1]!)) continue;
    const line = lineOf(code, found.index);
    const column = found.index - code.lastIndexOf('\n', found.index - 1);
    throw new FaasError(
      'compile_error',
      `${filename}:${line}:${column}: source map comment "${clip(found[0])}" is not allowed: ${MUST_BUNDLE}; an inline source map is accepted only as the last line, as faas deploy writes it`,
      { file: filename, line, column },
    );
  }
  return map === undefined ? source : `${code}${TRAILING_PREFIX}data:application/json;base64,${Buffer.from(map).toString('base64')}\n`;
}

/** Keeps what a source map needs and gives every source its content ('' when none was sent). */
function completeSourceMap(json: string, filename: string, line: number): string {
  const invalid = (why: string) =>
    new FaasError('compile_error', `${filename}:${line}:1: the inline source map on the last line is not valid: ${why}`, { file: filename, line, column: 1 });
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw invalid('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('not an object');
  const { version, sources, sourcesContent, names, mappings } = parsed as Record<string, unknown>;
  if (version !== 3) throw invalid('version must be 3');
  if (!Array.isArray(sources) || !sources.every((s) => typeof s === 'string')) throw invalid('"sources" must be an array of strings');
  if (typeof mappings !== 'string') throw invalid('"mappings" must be a string');
  const contents = Array.isArray(sourcesContent) ? sourcesContent : [];
  return JSON.stringify({
    version: 3,
    sources,
    sourcesContent: sources.map((_, i) => (typeof contents[i] === 'string' ? contents[i] : '')),
    // Mappings refer to names by index, so a bad entry is blanked rather than dropped.
    names: Array.isArray(names) ? names.map((n) => (typeof n === 'string' ? n : '')) : [],
    mappings,
  });
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function clip(s: string): string {
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}
