/**
 * Ephemeral runs: compile a self-contained source and answer one request with it in a throwaway
 * function, under tight limits, then forget it. The function is never registered: no name a client
 * can reach (its runtime name is not a valid function name), no artifact file, no version, no
 * bindings, no egress; its console output is returned with the response. Used by `POST /admin/run`
 * (the console's playground); kept apart so other front ends (an MCP tool) can share the idea.
 */
import { randomBytes } from 'node:crypto';
import { compileEntry } from '../../compiler/index.ts';
import { verifyArtifact } from '../../contract/artifact.ts';
import { parseFunctionConfig } from '../../contract/config.ts';
import { FaasError, isFaasError } from '../../contract/errors.ts';
import type { FunctionHost, GuestRequest } from '../../runtime/index.ts';
import type { LogHub, LogLine } from '../logs/hub.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { Quota } from '../tenants/store.ts';

/** The most an ephemeral run may use, whatever it asks for. */
export const EPHEMERAL_LIMITS = {
  cpuMs: 200,
  memoryMb: 16,
  timeoutMs: 3000,
  /** Runs at once in one gateway; more are refused with `overloaded`. */
  concurrent: 2,
  /** Response body bytes handed back (the rest is cut, and said so). */
  responseBytes: 256 * 1024,
} as const;

export interface EphemeralInput {
  source: string;
  filename: string;
  tenant: string;
  /** The tenant's quota: its cpuMs and timeoutMs lower the limits further. */
  quota: Quota;
  /** Plain string vars for `env` (no secrets, no bindings). */
  env: Record<string, string>;
  request: { method: string; url: string; headers: [string, string][]; body: Uint8Array | null };
  requestId: string;
}

export interface EphemeralResult {
  status: number | null;
  headers: [string, string][];
  body: string;
  bodyEncoding: 'utf8' | 'base64';
  bodyBytes: number;
  truncated: boolean;
  /** The guest failed (uncaught error, a limit): its error code and message. */
  error: { code: string; message: string } | null;
  logs: LogLine[];
  limits: { cpuMs: number; memoryMb: number; timeoutMs: number };
  timing: { compileMs: number; queueMs: number; coldMs: number; execMs: number; cpuMs: number | null };
}

export interface EphemeralDeps {
  runtime: FunctionHost;
  scheduler: Scheduler;
  logs: LogHub;
  signingKey: Uint8Array;
}

let running = 0;

export async function runEphemeral(deps: EphemeralDeps, input: EphemeralInput): Promise<EphemeralResult> {
  if (running >= EPHEMERAL_LIMITS.concurrent) {
    throw new FaasError('overloaded', `${EPHEMERAL_LIMITS.concurrent} ephemeral runs are already in progress; try again shortly`, { retryAfterSeconds: 1 });
  }
  running++;
  try {
    return await run(deps, input);
  } finally {
    running--;
  }
}

async function run(deps: EphemeralDeps, input: EphemeralInput): Promise<EphemeralResult> {
  const limits = {
    cpuMs: Math.min(EPHEMERAL_LIMITS.cpuMs, input.quota.cpuMs ?? Infinity),
    memoryMb: EPHEMERAL_LIMITS.memoryMb,
    timeoutMs: Math.min(EPHEMERAL_LIMITS.timeoutMs, input.quota.timeoutMs ?? Infinity),
  };
  const config = parseFunctionConfig({ ...limits, env: input.env, maxConcurrency: 1 });
  const compileStarted = performance.now();
  const { bytes } = await compileEntry({ source: input.source, filename: input.filename }, deps.signingKey);
  const artifact = verifyArtifact(bytes, deps.signingKey);
  if (!artifact.header.exports.fetch) throw new FaasError('compile_error', `${input.filename}: an ephemeral run needs export default { fetch }`);
  const compileMs = performance.now() - compileStarted;

  // "~" is outside the function-name alphabet: no route, admin call or registry row can name it.
  const name = `~run-${randomBytes(6).toString('hex')}`;
  const deadline = performance.now() + limits.timeoutMs;
  const timing: EphemeralResult['timing'] = { compileMs: round(compileMs), queueMs: 0, coldMs: 0, execMs: 0, cpuMs: null };
  const request: GuestRequest = {
    method: input.request.method,
    url: input.request.url,
    headers: input.request.headers,
    body: input.request.body && input.request.body.byteLength > 0 ? own(input.request.body) : null,
  };
  await deps.runtime.deploy(name, 1, artifact, config, { tenant: input.tenant });
  try {
    const slot = await deps.scheduler.acquire({ name, priority: -5, maxConcurrency: 1 }, deadline);
    timing.queueMs = round(slot.waitedMs);
    let result;
    try {
      result = await deps.runtime.invoke(name, request, { requestId: input.requestId, deadline });
      // waitUntil work runs out (bounded by the deadline) before the function goes away
      const final = await result.background;
      timing.cpuMs = round((final ?? result.usage).cpuMs);
    } catch (err) {
      if (!isFaasError(err) || err.code === 'internal_error') throw err;
      const usage = err.detail?.usage as { cpuMs: number } | undefined;
      if (usage) timing.cpuMs = round(usage.cpuMs);
      return { ...empty(limits, timing), error: { code: err.code, message: err.message }, logs: logsOf(deps.logs, name, input.tenant, input.requestId, 0, err.code) };
    } finally {
      slot.release();
    }
    timing.coldMs = round(result.coldMs);
    timing.execMs = round(result.execMs);
    const raw = result.response.body ? new Uint8Array(result.response.body) : new Uint8Array(0);
    const truncated = raw.byteLength > EPHEMERAL_LIMITS.responseBytes;
    const shown = truncated ? raw.subarray(0, EPHEMERAL_LIMITS.responseBytes) : raw;
    const text = utf8(shown);
    return {
      status: result.response.status,
      headers: result.response.headers.filter((h): h is [string, string] => Array.isArray(h) && typeof h[0] === 'string' && typeof h[1] === 'string').slice(0, 256),
      body: text ?? Buffer.from(shown).toString('base64'),
      bodyEncoding: text === undefined ? 'base64' : 'utf8',
      bodyBytes: raw.byteLength,
      truncated,
      error: null,
      logs: logsOf(deps.logs, name, input.tenant, input.requestId, result.response.status, 'ok'),
      limits,
      timing,
    };
  } finally {
    await deps.runtime.undeploy(name);
    deps.logs.forget(name);
  }
}

/** The console lines the run printed: the log hub holds them for its request until told it ended. */
function logsOf(hub: LogHub, name: string, tenant: string, requestId: string, status: number, outcome: string): LogLine[] {
  hub.invocation({ function: name, version: 1, requestId, method: 'RUN', path: '/', status, outcome, ms: 0 }, tenant);
  const out: LogLine[] = [];
  for (const e of hub.recent(name, tenant)) {
    if (e.type === 'invocation') out.push(...e.logs);
    else out.push({ at: e.at, level: e.level, source: e.source, text: e.text });
  }
  return out;
}

function empty(limits: EphemeralResult['limits'], timing: EphemeralResult['timing']): EphemeralResult {
  return { status: null, headers: [], body: '', bodyEncoding: 'utf8', bodyBytes: 0, truncated: false, error: null, logs: [], limits, timing };
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function own(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

const round = (n: number) => Math.round(n * 100) / 100;
