import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileEntry } from '../../compiler/index.ts';
import { verifyArtifact } from '../../contract/artifact.ts';
import { Runtime, fetchOp, readAllBytes, type ByteSource, type GuestLogEntry, type RuntimeOptions } from '../../runtime/index.ts';
import { parseFunctionConfig } from '../../contract/config.ts';

/**
 * Compiles TypeScript source with the real compiler and runs it in the real sandbox: the way tests
 * drive guest code. One Runtime per test file (per options), shared by its tests.
 */
export const signingKey = randomBytes(32);
const logs: GuestLogEntry[] = [];
const runtimes = new Map<string, Promise<Runtime>>();
let counter = 0;

/**
 * The engine/isolation pair the sandbox-driven suites run on: vitest projects set FAAS_TEST_ENGINE
 * ("bytecode/instance", "emscripten/shared" …) so the same suites cover every combination.
 */
export const engineUnderTest: RuntimeOptions = (() => {
  const spec = process.env.FAAS_TEST_ENGINE;
  if (!spec) return {};
  const [engine, isolation] = spec.split('/') as [RuntimeOptions['engine'], RuntimeOptions['isolation']];
  return { engine, isolation };
})();

export function sharedRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  options = { ...engineUnderTest, ...options };
  const key = JSON.stringify(options, (k, v) => (k === 'ops' ? Object.keys(v) : v));
  let rt = runtimes.get(key);
  if (!rt) {
    rt = Runtime.create({ poolSize: 2, ...options, log: (e) => logs.push(e), ops: { fetch: fetchOp(), ...options.ops } });
    runtimes.set(key, rt);
  }
  return rt;
}

export interface RequestSpec {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** A body that streams in these chunks (as the gateway streams a long or unsized one). */
  chunks?: (string | Uint8Array)[];
}

/** A ByteSource handing out `chunks` one read at a time (and counting the reads). */
export function chunkSource(chunks: (string | Uint8Array)[]): ByteSource & { reads: number; cancelled: boolean } {
  const queue = chunks.map((c) => (typeof c === 'string' ? new TextEncoder().encode(c) : c));
  const source = {
    reads: 0,
    cancelled: false,
    async read() {
      source.reads++;
      return source.cancelled ? null : (queue.shift() ?? null);
    },
    cancel() {
      source.cancelled = true;
    },
  };
  return source;
}

export interface InvokeOutcome {
  status: number;
  headers: Record<string, string>;
  text: string;
  json(): any;
  logs: { level: string; text: string }[];
  cold: boolean;
}

const resolveDir = mkdtempSync(join(tmpdir(), 'faas-src-'));

/** Compiles `source` and deploys it under a fresh name; returns the name. */
export async function deploySource(source: string, config: object = {}, options: RuntimeOptions = {}): Promise<string> {
  const rt = await sharedRuntime(options);
  const name = `fn-${process.pid}-${++counter}`;
  const { bytes } = await compileEntry({ source, filename: `${name}.ts`, resolveDir }, signingKey);
  rt.deploy(name, 1, verifyArtifact(bytes, signingKey), parseFunctionConfig(config));
  return name;
}

/** Invokes a deployed function; throws the runtime's FaasError when the invocation fails. */
export async function invoke(name: string, request: RequestSpec = {}, options: RuntimeOptions = {}): Promise<InvokeOutcome> {
  const rt = await sharedRuntime(options);
  const requestId = `req-${++counter}`;
  const body = request.body === undefined ? null : typeof request.body === 'string' ? new TextEncoder().encode(request.body) : request.body;
  const result = await rt.invoke(
    name,
    {
      method: request.method ?? 'GET',
      url: `http://localhost${request.path ?? '/'}`,
      headers: Object.entries(request.headers ?? {}),
      body: body ? (body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer) : null,
      ...(request.chunks ? { stream: chunkSource(request.chunks) } : {}),
    },
    { requestId },
  );
  const bytes = result.response.stream ? await readAllBytes(result.response.stream) : result.response.body;
  await result.background;
  const text = bytes ? new TextDecoder().decode(bytes) : '';
  return {
    status: result.response.status,
    headers: Object.fromEntries(result.response.headers),
    text,
    json: () => JSON.parse(text),
    logs: logs.filter((l) => l.requestId === requestId).map((l) => ({ level: l.level, text: l.text })),
    cold: result.cold,
  };
}

/** Compile + deploy + invoke in one step. */
export async function invokeSource(source: string, request: RequestSpec = {}, config: object = {}, options: RuntimeOptions = {}): Promise<InvokeOutcome> {
  const name = await deploySource(source, config, options);
  return invoke(name, request, options);
}

export function allLogs(): GuestLogEntry[] {
  return logs;
}

/**
 * Gives every resident instance of `name` in `rt` a global `globalName` wired to its sandbox's
 * host-call path (user code never has it): hostile tests call host ops with arguments no prelude would
 * send. Returns how many instances were armed.
 */
export function armHostCalls(rt: unknown, name: string, globalName: string): number {
  const internals = rt as { instances: Map<{ name: string }, Set<{ sandbox: any }>> };
  let armed = 0;
  for (const [fn, set] of internals.instances) {
    if (fn.name !== name) continue;
    for (const inst of set) {
      const box = inst.sandbox;
      box.guard(() => {
        const vm = box.vm;
        const installer = vm.evalSource(`(h) => { Object.defineProperty(globalThis, ${JSON.stringify(globalName)}, { value: h, configurable: true }); }`, 'arm.js', false);
        const hostFn = vm.newFunction('host', (args: unknown[]) => box.onHostCall(args));
        try {
          vm.free(vm.call(installer, vm.undefined, [hostFn]));
        } finally {
          vm.free(installer);
          vm.free(hostFn);
        }
      });
      armed++;
    }
  }
  return armed;
}
