// `npm run bench:where` (≈ 1.5 min): where the time and memory go, for the targets BENCHMARKS.md reports
// as missed. Four experiments on the faas default (bytecode engine), each printed and saved to
// bench/results/where.json:
//   1. warm invoke of hello, attributed with the V8 CPU profiler (node:inspector) by function;
//   2. the gateway's own cost: the gateway with its runtime's invoke() replaced by a canned response
//      (body as ArrayBuffer, as the runtime returns it, and as Uint8Array), next to the real gateway and
//      the bare Hono ceiling;
//   3. RSS per sandbox: a bare quickjs-wasi VM, a blank faas sandbox (prelude core loaded), per isolation;
//   4. cold start p50 with 0 / 100 / 400 idle instances resident (Runtime.enforceBudget walks every one).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { pino } from 'pino';
import { QuickJS } from 'quickjs-wasi';
import { startGateway } from '../gateway/server.ts';
import { createSandboxFactory } from '../runtime/engine/index.ts';
import { quickjsWasmModule } from '../contract/engine.ts';
import { Runtime, type InvokeResult, type Isolation } from '../runtime/index.ts';
import { buildPrelude } from '../runtime/prelude/build.ts';
import type { LoadResult } from './load.ts';
import { gc, settle, summarize } from './stats.ts';
import { WORKLOADS, prepareWorkload, toGuestRequest, type Prepared } from './workloads/index.ts';

const run = promisify(execFile);

// ------------------------------------------------------------------------------ 3. child: RSS per sandbox
if (process.argv[2] === '--rss-child') {
  const [, , , mode, isolation] = process.argv as string[];
  const N = 300;
  const prelude = await buildPrelude();
  const factory = createSandboxFactory('quickjs-wasi', isolation as Isolation, { bytecode: prelude });
  const hooks = { argSpecs: () => undefined, hostCall: () => undefined, shouldInterrupt: () => false, resume: () => {} };
  const limits = { memoryLimitBytes: 16 << 20, maxStackBytes: 256 << 10 };
  const make = async () => (mode === 'bare' ? QuickJS.create({ wasm: quickjsWasmModule() }) : factory.create(limits, hooks));
  const heapOf = (x: unknown) => (mode === 'bare' ? (x as QuickJS).getMemoryUsage().mallocSize : (x as { heapBytes(): number }).heapBytes());
  for (let i = 0; i < 3; i++) await make();
  gc();
  await settle(50);
  gc();
  const rss0 = process.memoryUsage().rss;
  const keep: unknown[] = [];
  for (let i = 0; i < N; i++) keep.push(await make());
  gc();
  await settle(50);
  gc();
  const rss1 = process.memoryUsage().rss;
  const heap = keep.reduce<number>((s, x) => s + heapOf(x), 0);
  process.stdout.write(`${JSON.stringify({ rssKB: (rss1 - rss0) / N / 1024, guestHeapKB: heap / N / 1024 })}\n`);
  process.exit(0);
}

const key = randomBytes(32);
const hello = await prepareWorkload(WORKLOADS.find((w) => w.id === 'hello')!, key);
const out: Record<string, unknown> = { date: new Date().toISOString() };
const us = (ms: number) => Math.round(ms * 1000);

// ---------------------------------------------------------------------- 1. warm invoke, CPU-profiled
{
  const rt = await Runtime.create({ poolSize: 1 });
  rt.deploy('hello', 1, hello.artifact, hello.functionConfig);
  const req = () => ({ ...toGuestRequest(hello.request), headers: [['host', '127.0.0.1:8080'], ['user-agent', 'bench']] as [string, string][] });
  for (let i = 0; i < 3000; i++) await rt.invoke('hello', req());
  const N = 20_000;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await rt.invoke('hello', req());
  const wallUs = ((performance.now() - t0) * 1000) / N;
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  rt.close();
  const byLeaf = selfByCategory(profile as CpuProfile);
  const inclusive = inclusiveByFunction(profile as CpuProfile);
  const per = (t: number) => Math.round((t / N) * 10) / 10;
  const leaf = Object.fromEntries([...byLeaf].sort((a, b) => b[1] - a[1]).map(([k, t]) => [k, per(t)]));
  const entries = ['dispatch', 'runJobs', 'loadModule', 'enforceBudget', 'heapBytes', 'sampleHeap'];
  const incl = Object.fromEntries(entries.map((fn) => [fn, per(inclusive.get(fn) ?? 0)]));
  out.warmInvoke = { invokes: N, wallUsPerInvoke: Math.round(wallUs), selfCpuUsByCategory: leaf, inclusiveCpuUs: incl };
  console.log(`1. warm invoke of hello: ${Math.round(wallUs)} µs per invoke (mean of ${N}, under the profiler)`);
  console.log('   CPU per invoke by where the sample landed (self time):');
  for (const [k, v] of Object.entries(leaf)) console.log(`   ${String(v).padStart(6)} µs  ${k}`);
  console.log(`   inclusive: ${entries.map((e) => `${e} ${incl[e]} µs`).join(', ')} (inlined frames may be missing)`);
}

// ------------------------------------------------------------------------- 2. the gateway's own cost
{
  const loadFor = async (url: string): Promise<LoadResult> => {
    const spec = { url, path: '/fn/hello', connections: 10, warmupSeconds: 1, durationSeconds: 3 };
    const { stdout } = await run(process.execPath, ['bin/run-ts.js', 'bench/load.ts', JSON.stringify(spec)], { maxBuffer: 1 << 20 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult;
  };
  const results: Record<string, number> = {};
  const modes = ['hono-ceiling', 'gateway', 'gateway, stub runtime, ArrayBuffer body', 'gateway, stub runtime, Uint8Array body'];
  for (const round of [0, 1]) {
    for (const mode of round ? [...modes].reverse() : modes) {
      const server = mode === 'hono-ceiling' ? await startCeiling() : await startStubbableGateway(hello, mode);
      const r = await loadFor(server.url);
      await server.close();
      results[mode] = (results[mode] ?? 0) + r.rps / 2;
    }
  }
  out.gateway = results;
  console.log('2. HTTP req/s for a warm hello, 10 connections (mean of 2 alternating rounds of 3 s):');
  for (const m of modes) console.log(`   ${Math.round(results[m]!).toString().padStart(7)}  ${m}  (${((1e6 / results[m]!) | 0)} µs of server time per request at saturation)`);
}

// -------------------------------------------------------------------------------- 3. RSS per sandbox
{
  const rss: Record<string, { rssKB: number; guestHeapKB: number }> = {};
  for (const [mode, isolation] of [
    ['bare', 'instance'],
    ['sandbox', 'instance'],
    ['sandbox', 'shared'],
  ] as const) {
    const { stdout } = await run(process.execPath, ['--expose-gc', 'bin/run-ts.js', 'bench/where.ts', '--rss-child', mode, isolation], { maxBuffer: 1 << 20 });
    rss[`${mode === 'bare' ? 'bare quickjs-wasi VM (QuickJS.create)' : `blank faas sandbox, isolation ${isolation} (prelude core loaded)`}`] = JSON.parse(
      stdout.trim().split('\n').pop()!,
    );
  }
  out.rss = rss;
  console.log('3. per sandbox (300 of them, fresh process each):');
  for (const [k, v] of Object.entries(rss)) console.log(`   RSS ${v.rssKB.toFixed(0).padStart(4)} KB, guest heap ${v.guestHeapKB.toFixed(0).padStart(4)} KB  ${k}`);
}

// ------------------------------------------------------------------- 4. cold start vs resident count
{
  const table: Record<string, Record<string, number>> = {};
  for (const isolation of ['instance', 'shared'] as const) {
    const rt = await Runtime.create({ isolation, poolSize: 4, memoryBudgetBytes: 16 * 1024 ** 3 });
    let resident = 0;
    table[isolation] = {};
    for (const target of [0, 100, 400]) {
      for (; resident < target; resident++) {
        rt.deploy(`idle-${resident}`, 1, hello.artifact, hello.functionConfig);
        await (await rt.invoke(`idle-${resident}`, toGuestRequest(hello.request))).background;
      }
      const xs: number[] = [];
      for (let i = 0; i < 40; i++) {
        while (rt.poolStats().some((p) => p.isolation === isolation && p.ready < 4)) await settle(1);
        const name = `probe-${target}-${i}`;
        rt.deploy(name, 1, hello.artifact, hello.functionConfig);
        const t0 = performance.now();
        const res: InvokeResult = await rt.invoke(name, toGuestRequest(hello.request));
        xs.push(performance.now() - t0);
        await res.background;
        rt.undeploy(name);
      }
      table[isolation]![String(target)] = us(summarize(xs.slice(5)).p50);
    }
    rt.close();
  }
  out.coldVsResident = table;
  console.log('4. cold start p50 (µs, pool) with N idle instances resident:');
  for (const [iso, row] of Object.entries(table)) console.log(`   isolation ${iso.padEnd(8)} ${Object.entries(row).map(([n, v]) => `N=${n}: ${v}`).join('   ')}`);
}

writeFileSync('bench/results/where.json', `${JSON.stringify(out, null, 2)}\n`);
console.log('wrote bench/results/where.json');
process.exit(0);

// ------------------------------------------------------------------------------------------- helpers
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url?: string }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time (µs) by where each sample's leaf frame is: QuickJS (WASM), quickjs-wasi's JS glue, faas, Node, GC. */
function selfByCategory(profile: CpuProfile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const { functionName: fn, url = '' } = byId.get(id)!.callFrame;
    const category =
      fn.startsWith('wasm-function') || url.startsWith('wasm')
        ? 'QuickJS itself (WASM code: interpreter, GC, parser, allocator)'
        : fn === 'encode' || fn === 'encodeUtf8String' || fn === 'decode'
          ? 'TextEncoder/TextDecoder (strings copied into/out of linear memory)'
          : url.includes('quickjs-wasi')
            ? 'quickjs-wasi host glue (handles, hostToHandle, dump, calls)'
            : url.includes('/runtime/')
              ? 'faas runtime (runtime/*.ts)'
              : fn === '(garbage collector)'
                ? 'V8 garbage collector'
                : fn === '(idle)' || fn === '(program)'
                  ? 'idle / program'
                  : fn.startsWith('js-to-wasm') || fn.startsWith('wasm-to-js') || fn === 'GenericJSToWasmWrapper'
                    ? 'JS↔WASM call wrappers'
                    : 'Node.js / other JS';
    out.set(category, (out.get(category) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return out;
}

/** Inclusive time (µs) per function name, counting a name once per stack. */
function inclusiveByFunction(profile: CpuProfile): Map<string, number> {
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const out = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = byId.get(cur)!.callFrame.functionName;
      if (seen.has(name)) continue;
      seen.add(name);
      out.set(name, (out.get(name) ?? 0) + dt);
    }
  });
  return out;
}

async function startCeiling(): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Hono();
  app.get('/fn/hello', (c) => c.text('Hello from faas!'));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function startStubbableGateway(w: Prepared, mode: string): Promise<{ url: string; close(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'faas-where-'));
  const gw = await startGateway({ port: 0, dataDir, adminToken: 'where', logger: pino({ level: 'silent' }), runtime: {}, scheduler: {} });
  gw.runtime.deploy('hello', 1, w.artifact, w.functionConfig);
  if (mode.includes('stub')) {
    // Experiment only: the gateway as it is, with the runtime answering at once (what the gateway costs alone).
    const bytes = new TextEncoder().encode('Hello from faas!');
    const asU8 = mode.includes('Uint8Array');
    (gw.runtime as unknown as { invoke: () => Promise<unknown> }).invoke = async () => ({
      response: { status: 200, headers: [['content-type', 'text/plain;charset=UTF-8']], body: asU8 ? bytes.slice() : bytes.slice().buffer },
      cold: false,
      coldMs: 0,
      execMs: 0,
      instanceId: 0,
      background: Promise.resolve(),
    });
  }
  return {
    url: gw.url,
    async close() {
      await gw.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
