/**
 * faas/testing: a function in the real sandbox, for the author's own tests (vitest or any runner).
 * The function is compiled as `faas compile` does (probe under its config's limits included) and runs
 * in a real Runtime with its config's memoryMb, cpuMs and timeoutMs, warmed like the gateway's (so
 * guest CPU is counted as in production), with local KV in a data directory (a temp one by default),
 * its env and secrets, and `scheduled()` on demand. A failed invocation answers as the gateway would:
 * the error's HTTP status and `{ error, message, requestId }`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeAll, mergeOps, openBindingHosts } from '../gateway/bindings.ts';
import { compileEntry } from '../compiler/index.ts';
import { verifyArtifact } from '../contract/artifact.ts';
import { parseFunctionConfig, readConfigFile, type FunctionConfig, type FunctionConfigInput } from '../contract/config.ts';
import { ERROR_STATUS, FaasError, type ErrorCode } from '../contract/errors.ts';
import { randomBytes } from 'node:crypto';
import { Runtime, fetchOp, type GuestLogEntry, type OpsProvider } from '../runtime/index.ts';
import { KvStore } from '../bindings/kv/store.ts';
import { kvPath } from '../bindings/kv/host.ts';
import type { CreateFunctionOptions, TestFunction, TestKVNamespace, TestLogLine } from '../types/testing.d.ts';

export type { CreateFunctionOptions, TestFunction, TestKVNamespace, TestLogLine };

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export async function createFunction(options: CreateFunctionOptions): Promise<TestFunction> {
  const entry = options.entry instanceof URL ? fileURLToPath(options.entry) : options.entry;
  if ((entry === undefined) === (options.source === undefined)) throw new TypeError('createFunction: give either entry or source');
  const filename = entry ?? options.filename ?? 'function.ts';
  const name = options.name ?? (basename(filename, extname(filename)).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+/, '').slice(0, 63) || 'function');
  if (!NAME.test(name)) throw new TypeError(`createFunction: invalid name "${name}"`);
  const config = configOf(options.config, entry);
  const ownData = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(`${tmpdir()}/faas-testing-`);
  const key = randomBytes(32);
  const input = entry ?? { source: options.source!, filename, resolveDir: options.resolveDir ?? process.cwd() };
  const compiled = await compileEntry(input, key, { inThread: true, limits: { memoryMb: config.memoryMb, cpuMs: config.cpuMs } });
  const logs: TestLogLine[] = [];
  let hosts: OpsProvider[] = [];
  let runtime: Runtime | undefined;
  const stores = new Map<string, KvStore>();
  try {
    hosts = await openBindingHosts({ dataDir });
    runtime = await Runtime.create({
      engine: options.engine,
      isolation: config.isolation,
      poolSize: 1,
      log: (e: GuestLogEntry) => {
        logs.push({ level: e.level, text: e.text, requestId: e.requestId });
        options.log?.({ level: e.level, text: e.text, requestId: e.requestId });
      },
      ops: { fetch: fetchOp(), ...mergeOps(hosts) },
    });
  } catch (err) {
    await closeAll(hosts);
    if (ownData) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const rt = runtime;
  rt.deploy(name, 1, verifyArtifact(compiled.bytes, key), config);
  const background = new Set<Promise<unknown>>();
  let closed = false;

  const fn: TestFunction = {
    name,
    config,
    memory: compiled.memory,
    logs,
    dataDir,
    async fetch(input, init) {
      if (closed) throw new Error('createFunction: closed');
      const request = new Request(typeof input === 'string' && input.startsWith('/') ? `http://localhost${input}` : input, init);
      const body = request.body === null ? null : await request.arrayBuffer();
      const requestId = randomUUID();
      try {
        const result = await rt.invoke(name, { method: request.method, url: request.url, headers: [...request.headers], body }, { requestId });
        const pending = result.background.then(() => undefined);
        background.add(pending);
        void pending.finally(() => background.delete(pending));
        const { status, headers, body: out } = result.response;
        const nullBody = status === 101 || status === 204 || status === 205 || status === 304 || request.method === 'HEAD';
        return new Response(nullBody ? null : (out ?? null), { status, headers });
      } catch (err) {
        return errorResponse(err, requestId);
      }
    },
    async scheduled(cron, scheduledTime) {
      if (closed) throw new Error('createFunction: closed');
      await rt.scheduled(name, { cron: cron ?? config.crons[0] ?? '* * * * *', scheduledTime: scheduledTime ?? Date.now() });
    },
    async waitUntilSettled() {
      while (background.size > 0) await Promise.all([...background]);
    },
    kv(binding) {
      if (!config.kv.includes(binding)) throw new TypeError(`createFunction: "${binding}" is not a KV binding of this function (config "kv": ${JSON.stringify(config.kv)})`);
      let store = stores.get('');
      if (!store) stores.set('', (store = new KvStore(kvPath(dataDir))));
      return kvNamespace(store, binding);
    },
    async close() {
      if (closed) return;
      closed = true;
      await fn.waitUntilSettled();
      rt.close();
      for (const s of stores.values()) s.close();
      await closeAll(hosts);
      if (ownData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return fn;
}

function configOf(config: CreateFunctionOptions['config'], entry: string | undefined): FunctionConfig {
  if (typeof config === 'string') return parseFunctionConfig(readConfigFile(entry ?? config, config));
  if (config !== undefined) return parseFunctionConfig(config satisfies FunctionConfigInput | object);
  return parseFunctionConfig(entry ? readConfigFile(entry) : {});
}

/** What the gateway answers for a failed invocation (gateway/http.ts errorResponse). */
function errorResponse(err: unknown, requestId: string): Response {
  const e = err instanceof FaasError ? err : new FaasError('internal_error', err instanceof Error ? err.message : String(err));
  const status = ERROR_STATUS[e.code as ErrorCode] ?? 500;
  const stack = typeof e.detail?.stack === 'string' ? { stack: e.detail.stack } : {};
  return Response.json({ error: e.code, message: e.message, requestId, ...stack }, { status });
}

function kvNamespace(store: KvStore, ns: string): TestKVNamespace {
  const bytes = (value: string | ArrayBuffer | ArrayBufferView) =>
    typeof value === 'string'
      ? new TextEncoder().encode(value)
      : value instanceof ArrayBuffer
        ? new Uint8Array(value)
        : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return {
    async get(key: string, type: 'text' | 'json' | 'arrayBuffer' = 'text') {
      const row = store.get(ns, key);
      if (!row) return null;
      if (type === 'arrayBuffer') return row.value;
      const text = new TextDecoder().decode(row.value);
      return type === 'json' ? JSON.parse(text) : text;
    },
    async getWithMetadata(key: string) {
      const row = store.get(ns, key);
      return row ? { value: new TextDecoder().decode(row.value), metadata: row.metadata ?? null } : { value: null, metadata: null };
    },
    async put(key, value, options) {
      store.put(ns, key, bytes(value), options);
    },
    async delete(key) {
      store.delete(ns, key);
    },
    async list(options) {
      return store.list(ns, options);
    },
  } as TestKVNamespace;
}
