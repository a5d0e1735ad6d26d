import { basename, relative, resolve } from 'node:path';
import { type ArtifactHeader, writeArtifact } from '../contract/artifact.ts';
import { type BundleOptions, bundleEntry, type EntryInput } from './bundle.ts';
import { compileAndProbe, moduleMemory, type ModuleMemory, type ProbeLimits, requireFitsMemory, requireHandlerExports } from './bytecode.ts';
import { compileOffThread } from './compile-worker.ts';

export { bundleEntry, type Bundle, type BundleOptions, type EntryInput } from './bundle.ts';
export { suggestMemoryMb, type ModuleMemory, type ProbeLimits } from './bytecode.ts';

export interface CompileResult {
  bytes: Uint8Array;
  header: ArtifactHeader;
  /** esbuild warnings, formatted `file:line:col: message`; compilation still succeeded. */
  warnings: string[];
  /** The heap the module needs once initialized, as the probe measured it (undefined when it was not probed). */
  memory?: ModuleMemory;
  timings: {
    bundleMs: number;
    /** QuickJS bytecode compilation (on the compile thread). */
    compileMs: number;
    /** Evaluating the module once in a throwaway VM to find its handlers (on the compile thread). */
    probeMs: number;
  };
}

/**
 * Bundle → bytecode → handler check → signed artifact. Every user-caused failure is a compile_error.
 * Bundling is esbuild's own process; the bytecode compile and the probe run on the compile thread
 * (compile-worker.ts), so the calling thread only waits.
 */
export interface CompileOptions extends BundleOptions {
  /**
   * Compile and probe on the calling thread instead of the compile thread: for the CLI, which has
   * nothing else to serve and would only pay the thread's start-up. The probe's CPU limit holds
   * either way.
   */
  inThread?: boolean;
  /**
   * The function's config limits (memoryMb, cpuMs): the probe evaluates the module under them, and
   * a module that does not fit its memoryMb once initialized is refused (compile_error naming the
   * memoryMb to set). Without them the probe only finds the handlers.
   */
  limits?: ProbeLimits;
  /**
   * Evaluate the module's top level once to find its handlers (default true). Without the probe a
   * module with a default export is taken to have fetch() (unverified): for generated wrappers whose
   * top level must not run outside the sandbox that will run it under its own limits (MCP run_code).
   */
  probe?: boolean;
}

export async function compileEntry(entry: EntryInput, signingKey: Uint8Array, options: CompileOptions = {}): Promise<CompileResult> {
  const started = performance.now();
  const bundle = await bundleEntry(entry, options);
  const bundled = performance.now();
  const displayName = typeof entry === 'string' ? relative(options.workingDir ?? process.cwd(), resolve(entry)) : entry.filename;
  const hasDefault = bundle.exports.includes('default');
  const request = { js: bundle.code, filename: bundle.fileName, sourceMap: bundle.map, fallbackFile: displayName, probe: hasDefault && options.probe !== false, limits: options.limits };
  const { bytecode, probe, compileMs, probeMs } = await (options.inThread ? compileAndProbe(request) : compileOffThread(request));
  const entryName = basename(displayName);
  const exports = requireHandlerExports(displayName, bundle.exports, hasDefault ? probe : { evaluated: false, reason: 'no default export' });
  const memory = options.limits ? requireFitsMemory(displayName, probe, options.limits) : moduleMemory(probe);
  const { bytes, header } = writeArtifact(
    { bytecode, js: bundle.code, sourceMap: bundle.map, entry: entryName, sourceBytes: bundle.sourceBytes, exports },
    signingKey,
  );
  return {
    bytes,
    header,
    warnings: bundle.warnings,
    memory,
    timings: { bundleMs: bundled - started, compileMs, probeMs },
  };
}
