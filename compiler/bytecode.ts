import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';
import { CompileFlags, EvalFlags, JSException, type JSValueHandle, QuickJS } from 'quickjs-wasi';
import { GUEST_BASE_HEAP_BYTES, quickjsWasmModule } from '../contract/engine.ts';
import { FaasError } from '../contract/errors.ts';

/**
 * Each compile leaves its module record behind in the VM (about 0.5 KiB for a small module, 1.4 MiB for one bundling zod), so
 * the shared compiler VM is replaced once it has grown past this.
 */
const COMPILER_VM_RECYCLE_BYTES = 16 * 1024 * 1024;
/**
 * The probe's heap: at least this, or the function's own memoryMb when that is larger, so that the
 * heap a module needs can be measured (and reported) even when it does not fit its memoryMb.
 */
const PROBE_MEMORY_LIMIT = 64 * 1024 * 1024;
/**
 * How long the probe lets a module's top-level code run at most (measured on the compile thread's
 * clock); a function's own cpuMs, when lower, is its limit (top-level code runs under cpuMs at every
 * cold start).
 */
export const PROBE_CPU_MS = 1_000;
const MiB = 1024 * 1024;

/**
 * What the bytecode keeps: line and column tables (guest stack traces are mapped to the user's
 * source through the artifact's source map, which needs them) but not each function's source text,
 * which the heap would otherwise hold for `Function.prototype.toString` (for a bundle the size of
 * zod, 0.8 MiB of a 2.1 MiB module; for the validator bundle, 291 of 575 KB of bytecode, read on every
 * cold start). `toString()` of a function the module defines answers
 * `function name() { [native code] }`.
 */
const BYTECODE_FLAGS = CompileFlags.STRIP_SOURCE;

/** The function's own limits, under which the probe runs (config memoryMb and cpuMs). */
export interface ProbeLimits {
  memoryMb: number;
  cpuMs: number;
}

let compilerVm: Promise<QuickJS> | undefined;

export interface ErrorLocating {
  /** Maps a QuickJS error position in the bundle back to the user's file. */
  sourceMap?: string;
  /** Blamed when QuickJS reports no position at all (e.g. an invalid regular expression literal). */
  fallbackFile?: string;
}

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
      return vm.compile(js, filename, EvalFlags.TYPE_MODULE, BYTECODE_FLAGS);
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

export type ModuleProbe = (
  | { evaluated: true; hasDefault: boolean; fetch: boolean; scheduled: boolean }
  | { evaluated: false; reason: string; cpuLimitExceeded?: boolean; outOfMemory?: boolean }
) & {
  /**
   * Heap the module took in the probe's VM (its bytecode's objects and what its top-level code
   * allocated); a lower bound when the evaluation stopped early.
   */
  heapBytes?: number;
  /** The CPU limit the probe ran under (ms). */
  cpuLimitMs?: number;
};

/**
 * Evaluates the module once in a throwaway VM with only QuickJS's own globals, to see which
 * handlers `default` really has. Top-level code that needs a Web global (URL, fetch, ...) fails
 * here without meaning the function is broken, so a failed evaluation is "unknown", not an error.
 * Memory and CPU are capped because this is user code, possibly uploaded to the gateway; running
 * out of CPU is reported (`cpuLimitExceeded`) so that the deploy can be refused. Runs on the
 * compile worker thread (compile-worker.ts), never on the gateway thread.
 */
export async function probeModuleExports(bytecode: Uint8Array, limits?: ProbeLimits): Promise<ModuleProbe> {
  const cpuLimitMs = Math.min(PROBE_CPU_MS, limits?.cpuMs ?? PROBE_CPU_MS);
  const first = await probeOnce(bytecode, limits, cpuLimitMs);
  // The limit is measured on the thread's clock, and the first evaluation in a thread also pays for
  // V8 compiling the engine's WASM on first use (and for a busy machine): a module that exceeded a
  // function's cpuMs below the probe's own limit gets a second, warm evaluation before it is refused.
  if (first.evaluated || !first.cpuLimitExceeded || cpuLimitMs >= PROBE_CPU_MS) return first;
  return probeOnce(bytecode, limits, cpuLimitMs);
}

async function probeOnce(bytecode: Uint8Array, limits: ProbeLimits | undefined, cpuLimitMs: number): Promise<ModuleProbe> {
  let deadline = Number.POSITIVE_INFINITY;
  let interrupted = false;
  const vm = await QuickJS.create({
    wasm: quickjsWasmModule(),
    memoryLimit: Math.max(PROBE_MEMORY_LIMIT, Math.ceil((limits?.memoryMb ?? 0) * MiB)),
    interruptHandler: () => (interrupted ||= performance.now() > deadline),
  });
  const before = vm.getMemoryUsage().memoryUsedSize;
  let heapBytes = 0;
  deadline = performance.now() + cpuLimitMs;
  const probe = await evaluateForExports(vm, bytecode).finally(() => {
    heapBytes = Math.max(0, vm.getMemoryUsage().memoryUsedSize - before);
    vm.dispose();
  });
  // Whatever the evaluation made of the interrupt (an exception, a rejected promise), it was one.
  if (interrupted) return { evaluated: false, reason: `top-level code exceeded ${cpuLimitMs} ms`, cpuLimitExceeded: true, heapBytes, cpuLimitMs };
  return { ...probe, heapBytes, cpuLimitMs };
}

async function evaluateForExports(vm: QuickJS, bytecode: Uint8Array): Promise<ModuleProbe> {
  try {
    const evaluation = vm.evalBytecode(bytecode);
    vm.executePendingJobs();
    if (evaluation.promiseState === 0) return { evaluated: false, reason: 'top-level await did not settle' };
    const settled = await vm.resolvePromise(evaluation);
    if ('error' in settled) {
      const reason = describeThrown(settled.error);
      return { evaluated: false, reason, ...(/out of memory/i.test(reason) ? { outOfMemory: true } : {}) };
    }
    const handler = settled.value.getProp('default');
    const hasDefault = !handler.isUndefined;
    const isCallable = (key: string) => (handler.isObject || handler.isFunction) && handler.getProp(key).isFunction;
    return { evaluated: true, hasDefault, fetch: isCallable('fetch'), scheduled: isCallable('scheduled') };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { evaluated: false, reason, ...(/out of memory/i.test(reason) ? { outOfMemory: true } : {}) };
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
  /** The function's limits: the probe runs under them and measures the module's heap. */
  limits?: ProbeLimits;
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
  const probe: ModuleProbe = request.probe ? await probeModuleExports(bytecode, request.limits) : { evaluated: false, reason: 'not probed' };
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
    const limit = probe.cpuLimitMs ?? PROBE_CPU_MS;
    const which = limit < PROBE_CPU_MS ? `the function's CPU limit of ${limit} ms (config key "cpuMs")` : `the handler probe's CPU limit of ${limit} ms`;
    throw new FaasError(
      'compile_error',
      `${entry}:1:1: the module's top-level code exceeded ${which}: top-level code runs on every cold start and must finish quickly (move long work into fetch())`,
      { file: entry, line: 1, column: 1 },
    );
  }
  if (!probe.evaluated) return { fetch: true, scheduled: false, verified: false };
  if (!probe.hasDefault || (!probe.fetch && !probe.scheduled)) throw missing();
  return { fetch: probe.fetch, scheduled: probe.scheduled, verified: true };
}

export interface ModuleMemory {
  /** Guest heap an instance holds once the module is initialized: the runtime's base plus the module. */
  neededBytes: number;
  /** What the module itself took (its bytecode's objects and its top-level allocations). */
  moduleBytes: number;
  /** The smallest whole memoryMb that leaves room to handle requests (see suggestMemoryMb). */
  suggestedMemoryMb: number;
  /** False when the evaluation stopped early (a Web global at top level …): a lower bound. */
  complete: boolean;
}

/**
 * Headroom over the initialized heap for handling requests: the request and response objects, the
 * chunks a handler loads (URL, Headers …) and what the handler allocates (libraries such as zod
 * build more on first use). The suggestion rounds up to whole MiB.
 */
export function suggestMemoryMb(neededBytes: number): number {
  const headroom = Math.max(512 * 1024, neededBytes / 2);
  return Math.min(128, Math.max(1, Math.ceil((neededBytes + headroom) / MiB)));
}

/** What the probe found out about the module's heap, or undefined when it did not run. */
export function moduleMemory(probe: ModuleProbe): ModuleMemory | undefined {
  if (probe.heapBytes === undefined) return undefined;
  const neededBytes = GUEST_BASE_HEAP_BYTES + probe.heapBytes;
  return { neededBytes, moduleBytes: probe.heapBytes, suggestedMemoryMb: suggestMemoryMb(neededBytes), complete: probe.evaluated };
}

/** Under this much free heap after initialization, an instance cannot even take a request. */
const MIN_FREE_BYTES = 128 * 1024;

/**
 * The deploy tells the truth: a module that does not fit its function's memoryMb once initialized
 * would answer every request with memory_limit_exceeded, so it is refused here with the heap it
 * needs and the memoryMb to set.
 */
export function requireFitsMemory(entry: string, probe: ModuleProbe, limits: ProbeLimits): ModuleMemory | undefined {
  const memory = moduleMemory(probe);
  if (!memory) return undefined;
  const limitBytes = limits.memoryMb * MiB;
  const outOfMemory = !probe.evaluated && probe.outOfMemory === true;
  if (!outOfMemory && memory.neededBytes + MIN_FREE_BYTES <= limitBytes) return memory;
  const probeCap = Math.max(PROBE_MEMORY_LIMIT, limitBytes);
  const needs = outOfMemory
    ? `more than ${mib(probeCap)} of guest heap to initialize`
    : `${mib(memory.neededBytes)} of guest heap once initialized (the module ${mib(memory.moduleBytes)}, the runtime ${mib(GUEST_BASE_HEAP_BYTES)})`;
  const advice = outOfMemory
    ? probeCap >= 128 * MiB
      ? 'which is more than the largest memoryMb (128)'
      : `set "memoryMb" to more than ${Math.round(probeCap / MiB)} in its config (at most 128)`
    : `set "memoryMb": ${memory.suggestedMemoryMb} in its config (room to handle requests included)`;
  throw new FaasError(
    'compile_error',
    `${entry}:1:1: the module needs ${needs}, more than its memory limit of ${limits.memoryMb} MiB (config key "memoryMb") allows: ${advice}`,
    { file: entry, line: 1, column: 1, neededBytes: memory.neededBytes, suggestedMemoryMb: outOfMemory ? undefined : memory.suggestedMemoryMb },
  );
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(bytes < 10 * MiB ? 2 : 1)} MiB`;
}
