import { basename, relative, resolve } from 'node:path';
import { type ArtifactHeader, writeArtifact } from '../runtime/artifact.ts';
import { type BundleOptions, bundleEntry, type EntryInput } from './bundle.ts';
import { compileModuleToBytecode, probeModuleExports, requireHandlerExports } from './bytecode.ts';

export type { EntryInput } from './bundle.ts';

export interface CompileResult {
  bytes: Uint8Array;
  header: ArtifactHeader;
  /** esbuild warnings, formatted `file:line:col: message`; compilation still succeeded. */
  warnings: string[];
  timings: {
    bundleMs: number;
    /** QuickJS bytecode compilation. */
    compileMs: number;
    /** Evaluating the module once in a throwaway VM to find its handlers. */
    probeMs: number;
  };
}

/** Bundle → bytecode → handler check → signed artifact. Every user-caused failure is a compile_error. */
export async function compileEntry(entry: EntryInput, signingKey: Uint8Array, options: BundleOptions = {}): Promise<CompileResult> {
  const started = performance.now();
  const bundle = await bundleEntry(entry, options);
  const bundled = performance.now();
  const displayName = typeof entry === 'string' ? relative(options.workingDir ?? process.cwd(), resolve(entry)) : entry.filename;
  const bytecode = await compileModuleToBytecode(bundle.code, bundle.fileName, { sourceMap: bundle.map, fallbackFile: displayName });
  const compiled = performance.now();
  const entryName = basename(displayName);
  const exports = requireHandlerExports(
    displayName,
    bundle.exports,
    bundle.exports.includes('default') ? await probeModuleExports(bytecode) : { evaluated: false, reason: 'no default export' },
  );
  const probed = performance.now();
  const { bytes, header } = writeArtifact(
    { bytecode, js: bundle.code, sourceMap: bundle.map, entry: entryName, sourceBytes: bundle.sourceBytes, exports },
    signingKey,
  );
  return {
    bytes,
    header,
    warnings: bundle.warnings,
    timings: { bundleMs: bundled - started, compileMs: compiled - bundled, probeMs: probed - compiled },
  };
}
