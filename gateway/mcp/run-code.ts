/**
 * MCP run_code: a snippet evaluated once in a fresh sandbox under tight limits, never deployed.
 *
 * The snippet is wrapped into a function module (snippet.ts), compiled by the same self-contained
 * path as an uploaded deploy (it can import nothing and reads no file) but without the handler probe,
 * so none of it runs outside its sandbox. The artifact goes into the runtime under a name of its own
 * (ephemeral.ts) for exactly one invocation and is undeployed after it: it is never in the registry,
 * never persisted, never listed, and unreachable at /fn/<name>. Its console lines are taken aside
 * for the answer instead of going to the live logs. Compiled artifacts are kept for identical
 * snippets of the same tenant (keyed by the snippet's sha256), which is safe because an artifact is
 * a pure function of the source; per tenant, so that timing cannot tell one tenant what another ran.
 */
import { createHash } from 'node:crypto';
import { compileEntry } from '../../compiler/index.ts';
import { verifyArtifact, type Artifact } from '../../contract/artifact.ts';
import { parseFunctionConfig, type FunctionConfig } from '../../contract/config.ts';
import { FaasError, isFaasError } from '../../contract/errors.ts';
import type { FunctionHost, InvocationUsage, Isolation } from '../../runtime/index.ts';
import type { LogHub, LogLine } from '../logs/hub.ts';
import { ephemeralName } from './ephemeral.ts';
import { MAX_NESTING, nestingDepth, relocateCompileError, relocateStack, snippetModule, SNIPPET_FILE } from './snippet.ts';

export interface RunCodeLimits {
  /** Guest heap, MiB (the prelude counts against it). */
  memoryMb: number;
  /** Guest CPU time per call (interrupt handler: uncatchable). */
  cpuMs: number;
  /** Wall time of the run, from the sandbox's start to the answer (after the compile). */
  timeoutMs: number;
  /** Egress allowlist (as a function's `allowedHosts`); empty: no fetch at all. */
  allowedHosts: string[];
  /** Size of a snippet, UTF-8 bytes. */
  maxCodeBytes: number;
  /** Size of the `input` value as JSON, UTF-8 bytes. */
  maxInputBytes: number;
  /** run_code calls of one tenant running at once; more wait in the scheduler's queue. */
  concurrency: number;
  /** The sandbox's isolation mode (default: the server's). */
  isolation?: Isolation;
}

export const RUN_CODE_DEFAULTS: RunCodeLimits = {
  memoryMb: 1,
  cpuMs: 100,
  timeoutMs: 1000,
  allowedHosts: [],
  maxCodeBytes: 64 * 1024,
  maxInputBytes: 64 * 1024,
  concurrency: 4,
};

/** Compiled snippets kept for reuse, all tenants together. */
const CACHE_ENTRIES = 256;
const CACHE_BYTES = 32 * 1024 * 1024;

export interface RunOutcome {
  /** The value as it came back: JSON text, String(value) when JSON could not carry it, or nothing for undefined. */
  form?: 'json' | 'text' | 'undefined';
  /** `typeof` the value ("null" for null). */
  type?: string;
  text?: string;
  /** Why the run failed (compile error, limit, exception): the gateway's error, messages in the snippet's terms. */
  error?: FaasError;
  console: LogLine[];
  /** Console lines over the per-call cap. */
  droppedLines: number;
  usage?: InvocationUsage;
  /** Whether the compiled snippet came from the cache. */
  cached: boolean;
  /** Absent when the snippet was refused before compiling. */
  compileMs?: number;
  coldMs?: number;
  execMs?: number;
}

/** run_code's limits over the defaults, and the function config they make; an invalid option is `bad_request`. */
export function resolveRunCodeLimits(options: Partial<RunCodeLimits> = {}): { limits: RunCodeLimits; config: FunctionConfig } {
  const limits: RunCodeLimits = { ...RUN_CODE_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
  for (const k of ['maxCodeBytes', 'maxInputBytes', 'concurrency'] as const) {
    const v = limits[k];
    if (!Number.isInteger(v) || v < 1) throw new FaasError('bad_request', `run_code option ${k} must be a positive integer (got ${v})`);
  }
  const { memoryMb, cpuMs, timeoutMs, allowedHosts, isolation } = limits;
  let config: FunctionConfig;
  try {
    // The same schema as a deployed function's config.
    config = parseFunctionConfig({ memoryMb, cpuMs, timeoutMs, allowedHosts, maxConcurrency: 1, ...(isolation ? { isolation } : {}) });
  } catch (err) {
    throw new FaasError('bad_request', `run_code options: ${(err as Error).message}`);
  }
  return { limits, config };
}

export class CodeRunner {
  readonly limits: RunCodeLimits;
  private readonly config: FunctionConfig;
  private readonly cache = new Map<string, Artifact>();
  private cacheBytes = 0;
  /** Compiles under way, shared by identical snippets that arrive meanwhile. */
  private readonly compiling = new Map<string, Promise<Artifact>>();

  constructor(
    private readonly deps: { runtime: FunctionHost; signingKey: Uint8Array; logs: LogHub },
    limits: Partial<RunCodeLimits> = {},
  ) {
    ({ limits: this.limits, config: this.config } = resolveRunCodeLimits(limits));
  }

  /** Compiles (or reuses) and runs `code` once for `tenant`; every failure is in the outcome, never thrown. */
  async run(tenant: string, code: string, input: unknown, requestId: string): Promise<RunOutcome> {
    let compiling: number | undefined;
    const outcome: RunOutcome = { console: [], droppedLines: 0, cached: false };
    let body: ArrayBuffer | null = null;
    try {
      if (Buffer.byteLength(code) > this.limits.maxCodeBytes) throw new FaasError('bad_request', `code is over ${this.limits.maxCodeBytes} bytes`);
      if (nestingDepth(code) > MAX_NESTING) throw new FaasError('bad_request', `code nests brackets deeper than ${MAX_NESTING} levels`);
      if (input !== undefined) {
        const json = Buffer.from(JSON.stringify(input));
        if (json.byteLength > this.limits.maxInputBytes) throw new FaasError('bad_request', `input is over ${this.limits.maxInputBytes} bytes as JSON`);
        body = json.buffer.slice(json.byteOffset, json.byteOffset + json.byteLength) as ArrayBuffer;
      }
      const key = `${tenant}\0${createHash('sha256').update(code).digest('hex')}`;
      compiling = performance.now();
      const { artifact, cached } = await this.compiled(key, code);
      outcome.cached = cached;
      outcome.compileMs = performance.now() - compiling;
      await this.once(tenant, code, artifact, body, requestId, outcome);
    } catch (err) {
      outcome.error = isFaasError(err) ? err : new FaasError('internal_error', 'internal error', { cause: err instanceof Error ? err.message : String(err) });
      if (compiling !== undefined && !outcome.compileMs) outcome.compileMs = performance.now() - compiling;
    }
    return outcome;
  }

  private async compiled(key: string, code: string): Promise<{ artifact: Artifact; cached: boolean }> {
    const hit = this.cache.get(key);
    if (hit) {
      // least recently used goes first: a hit moves to the end
      this.cache.delete(key);
      this.cache.set(key, hit);
      return { artifact: hit, cached: true };
    }
    let pending = this.compiling.get(key);
    if (!pending) {
      pending = this.compile(code).finally(() => this.compiling.delete(key));
      this.compiling.set(key, pending);
    }
    const artifact = await pending;
    if (!this.cache.has(key)) this.remember(key, artifact);
    return { artifact, cached: false };
  }

  private async compile(code: string): Promise<Artifact> {
    const { signingKey } = this.deps;
    try {
      const { bytes } = await compileEntry({ source: snippetModule(code), filename: SNIPPET_FILE }, signingKey, { probe: false });
      return verifyArtifact(bytes, signingKey);
    } catch (err) {
      throw relocateCompileError(err, code);
    }
  }

  private remember(key: string, artifact: Artifact): void {
    const size = sizeOf(artifact);
    if (size > CACHE_BYTES / 4) return;
    this.cache.set(key, artifact);
    this.cacheBytes += size;
    for (const [k, a] of this.cache) {
      if (this.cache.size <= CACHE_ENTRIES && this.cacheBytes <= CACHE_BYTES) break;
      this.cache.delete(k);
      this.cacheBytes -= sizeOf(a);
    }
  }

  /** One invocation of the artifact under a one-call name: deployed, invoked, undeployed. */
  private async once(tenant: string, code: string, artifact: Artifact, body: ArrayBuffer | null, requestId: string, outcome: RunOutcome): Promise<void> {
    const { runtime, logs } = this.deps;
    const name = ephemeralName();
    const capture = logs.capture(name);
    try {
      await runtime.deploy(name, 1, artifact, this.config, { tenant });
      try {
        const deadline = performance.now() + this.limits.timeoutMs;
        const request = { method: 'POST', url: 'https://run-code.invalid/', headers: [['content-type', 'application/json']] as [string, string][], body };
        const result = await runtime.invoke(name, request, { requestId, deadline });
        outcome.usage = result.usage;
        outcome.coldMs = result.coldMs;
        outcome.execMs = result.execMs;
        const header = (n: string) => result.response.headers.find(([k]) => k.toLowerCase() === n)?.[1];
        const form = header('x-faas-form');
        outcome.form = form === 'json' || form === 'undefined' ? form : 'text';
        outcome.type = header('x-faas-type')?.slice(0, 16) ?? 'unknown';
        if (outcome.form !== 'undefined') outcome.text = result.response.body ? new TextDecoder().decode(result.response.body) : '';
      } catch (err) {
        if (isFaasError(err)) {
          outcome.usage = err.detail?.usage as InvocationUsage | undefined;
          throw scrubbed(err, name, code);
        }
        throw err;
      } finally {
        await runtime.undeploy(name);
      }
    } finally {
      // After the undeploy: a worker's lines arrive before its answer to it.
      capture.close();
      outcome.console = capture.lines.map((l) => ({ ...l, text: l.text.split(name).join('run_code') }));
      outcome.droppedLines = capture.dropped;
    }
  }
}

/** The error in the snippet's terms: its one-call function is called run_code. */
function scrubbed(err: FaasError, name: string, code: string): FaasError {
  const scrub = (s: string) => s.split(`function "${name}"`).join('run_code').split(name).join('run_code');
  const detail = { ...err.detail };
  if (typeof detail.stack === 'string') detail.stack = relocateStack(scrub(detail.stack), code);
  delete detail.usage;
  return new FaasError(err.code, scrub(err.message), detail);
}

function sizeOf(a: Artifact): number {
  return a.bytecode.byteLength + a.js.length * 2 + a.sourceMap.length * 2 + 512;
}
