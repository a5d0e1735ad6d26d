import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';
import { CompileFlags, EvalFlags, JSException, type JSValueHandle, QuickJS } from 'quickjs-wasi';
import { quickjsWasmModule } from '../contract/engine.ts';
import { FaasError } from '../contract/errors.ts';

/**
 * Each compile leaves its module record behind in the VM (about 0.5 KiB for a small module, 1.4 MiB for one bundling zod), so
 * the shared compiler VM is replaced once it has grown past this.
 */
const COMPILER_VM_RECYCLE_BYTES = 16 * 1024 * 1024;
const PROBE_MEMORY_LIMIT = 64 * 1024 * 1024;
/**
 * How long the probe lets a module's top-level code run (measured on the compile thread's clock).
 * A module that needs longer to evaluate would also spend it on every cold start.
 */
export const PROBE_CPU_MS = 1_000;

let compilerVm: Promise<QuickJS> | undefined;

export interface ErrorLocating {
  /** Maps a QuickJS error position in the bundle back to the user's file. */
  sourceMap?: string;
  /** Blamed when QuickJS reports no position at all (e.g. an invalid regular expression literal). */
  fallbackFile?: string;
}

/**
 * Function source text is left out of the bytecode: it was half of a bundle's bytecode (291 of 575
 * KB for one bundling the validator package), read and kept in the guest heap on every cold start
 * only to serve Function.prototype.toString, which now answers `function name() { [native code] }` for a
 * guest's own functions, as it already did for the prelude's. Line tables stay: stack traces keep
 * their positions, which the source map turns into the user's.
 */
export const FUNCTION_COMPILE_FLAGS = CompileFlags.STRIP_SOURCE;

/**
 * Compiles a bundled ES module to QuickJS bytecode. Debug info is kept so runtime stack traces
 * have positions to map back through the source map. A QuickJS compile error becomes a
 * compile_error located in the original source when `sourceMap` is given.
 */
export async function compileModuleToBytecode(js: string, filename: string, where: ErrorLocating = {}): Promise<Uint8Array> {
  for (;;) {
    const pending = (compilerVm ??= QuickJS.create({ wasm: quickjsWasmModule() }));
    let vm: QuickJS;
    try {
      vm = await pending;
    } catch (err) {
      if (compilerVm === pending) compilerVm = undefined;
      throw err;
    }
    // Another caller recycled the VM while we waited; from here on everything is synchronous.
    if (compilerVm !== pending) continue;
    try {
      return vm.compile(js, filename, EvalFlags.TYPE_MODULE, FUNCTION_COMPILE_FLAGS);
    } catch {
      throw locateCompileError(vm, js, filename, where);
    } finally {
      if (vm.getMemoryUsage().memoryUsedSize > COMPILER_VM_RECYCLE_BYTES) {
        compilerVm = undefined;
        vm.dispose();
      }
    }
  }
}

/**
 * vm.compile() only reports the message; compiling again through evalCode (compile-only, nothing
 * runs) surfaces the exception itself, whose stack carries the position.
 */
function locateCompileError(vm: QuickJS, js: string, filename: string, { sourceMap, fallbackFile }: ErrorLocating): FaasError {
  let name = 'SyntaxError';
  let message = 'QuickJS could not compile the module';
  let position: { line: number; column: number } | undefined;
  try {
    vm.evalCode(js, filename, EvalFlags.TYPE_MODULE | EvalFlags.COMPILE_ONLY).dispose();
  } catch (err) {
    if (err instanceof JSException) {
      name = err.name;
      message = err.message;
      const match = /at [^\n]*:(\d+):(\d+)/.exec(err.stack ?? '');
      if (match) position = { line: Number(match[1]), column: Number(match[2]) };
      err.dispose();
    }
  }
  if (!position) {
    const file = fallbackFile ?? filename;
    return new FaasError('compile_error', `${file}:1:1: ${name}: ${message} (QuickJS reported no position)`, { file, line: 1, column: 1 });
  }
  let file = filename;
  if (sourceMap) {
    const original = originalPositionFor(new TraceMap(sourceMap), { line: position.line, column: position.column - 1 });
    if (original.source !== null) {
      file = original.source;
      position = { line: original.line, column: original.column + 1 };
    }
  }
  return new FaasError('compile_error', `${file}:${position.line}:${position.column}: ${name}: ${message}`, {
    file,
    line: position.line,
    column: position.column,
  });
}

export type ModuleProbe =
  | { evaluated: true; hasDefault: boolean; fetch: boolean; scheduled: boolean }
  | { evaluated: false; reason: string; cpuLimitExceeded?: boolean };

/**
 * Evaluates the module once in a throwaway VM with only QuickJS's own globals, to see which
 * handlers `default` really has. Top-level code that needs a Web global (URL, fetch, ...) fails
 * here without meaning the function is broken, so a failed evaluation is "unknown", not an error.
 * Memory and CPU are capped because this is user code, possibly uploaded to the gateway; running
 * out of CPU is reported (`cpuLimitExceeded`) so that the deploy can be refused. Runs on the
 * compile worker thread (compile-worker.ts), never on the gateway thread.
 */
export async function probeModuleExports(bytecode: Uint8Array): Promise<ModuleProbe> {
  let deadline = Number.POSITIVE_INFINITY;
  let interrupted = false;
  const vm = await QuickJS.create({
    wasm: quickjsWasmModule(),
    memoryLimit: PROBE_MEMORY_LIMIT,
    interruptHandler: () => (interrupted ||= performance.now() > deadline),
  });
  deadline = performance.now() + PROBE_CPU_MS;
  const probe = await evaluateForExports(vm, bytecode).finally(() => vm.dispose());
  // Whatever the evaluation made of the interrupt (an exception, a rejected promise), it was one.
  return interrupted ? { evaluated: false, reason: `top-level code exceeded ${PROBE_CPU_MS} ms`, cpuLimitExceeded: true } : probe;
}

async function evaluateForExports(vm: QuickJS, bytecode: Uint8Array): Promise<ModuleProbe> {
  try {
    const evaluation = vm.evalBytecode(bytecode);
    vm.executePendingJobs();
    if (evaluation.promiseState === 0) return { evaluated: false, reason: 'top-level await did not settle' };
    const settled = await vm.resolvePromise(evaluation);
    if ('error' in settled) return { evaluated: false, reason: describeThrown(settled.error) };
    const handler = settled.value.getProp('default');
    const hasDefault = !handler.isUndefined;
    const isCallable = (key: string) => (handler.isObject || handler.isFunction) && handler.getProp(key).isFunction;
    return { evaluated: true, hasDefault, fetch: isCallable('fetch'), scheduled: isCallable('scheduled') };
  } catch (err) {
    return { evaluated: false, reason: err instanceof Error ? err.message : String(err) };
  }
  // The caller disposes the VM, which frees its whole WASM instance with every handle taken here.
}

/** Reads only plain string properties, so describing the error runs no further guest code. */
function describeThrown(error: JSValueHandle): string {
  if (!error.isError) return 'module evaluation threw a non-Error value';
  const text = (key: string) => {
    const descriptor = error.getOwnPropertyDescriptor(key) ?? error.getPrototypeOf().getOwnPropertyDescriptor(key);
    return descriptor?.value?.isString ? descriptor.value.toString() : '';
  };
  return `${text('name') || 'Error'}: ${text('message')}`;
}

export interface CompileRequest extends ErrorLocating {
  /** The bundled ES module. */
  js: string;
  /** Its file name in QuickJS (stack traces). */
  filename: string;
  /** Evaluate the module once to find its handlers (only useful when it has a default export). */
  probe: boolean;
}

export interface CompileOutput {
  bytecode: Uint8Array;
  probe: ModuleProbe;
  compileMs: number;
  probeMs: number;
}

/** Bytecode compile and handler probe: what the compile worker thread does for each job. */
export async function compileAndProbe(request: CompileRequest): Promise<CompileOutput> {
  const started = performance.now();
  const bytecode = await compileModuleToBytecode(request.js, request.filename, { sourceMap: request.sourceMap, fallbackFile: request.fallbackFile });
  const compiled = performance.now();
  const probe: ModuleProbe = request.probe ? await probeModuleExports(bytecode) : { evaluated: false, reason: 'not probed' };
  return { bytecode, probe, compileMs: compiled - started, probeMs: performance.now() - compiled };
}

export interface HandlerExports {
  fetch: boolean;
  scheduled: boolean;
  /** false when the module could not be evaluated at compile time, so fetch is assumed. */
  verified: boolean;
}

/**
 * A missing `default` export is certain from the bundle's export list alone; a default without
 * fetch/scheduled is only known when the probe could evaluate the module.
 */
export function requireHandlerExports(entry: string, bundleExports: string[], probe: ModuleProbe): HandlerExports {
  const missing = () =>
    new FaasError(
      'compile_error',
      `${entry}:1:1: "${entry}" has no default export with a fetch() handler: export default { fetch(request, env, ctx) { ... } }`,
      { file: entry, line: 1, column: 1 },
    );
  if (!bundleExports.includes('default')) throw missing();
  if (!probe.evaluated && probe.cpuLimitExceeded) {
    throw new FaasError(
      'compile_error',
      `${entry}:1:1: the module's top-level code exceeded the handler probe's CPU limit of ${PROBE_CPU_MS} ms: top-level code runs on every cold start and must finish quickly (move long work into fetch())`,
      { file: entry, line: 1, column: 1 },
    );
  }
  if (!probe.evaluated) return { fetch: true, scheduled: false, verified: false };
  if (!probe.hasDefault || (!probe.fetch && !probe.scheduled)) throw missing();
  return { fetch: probe.fetch, scheduled: probe.scheduled, verified: true };
}
