// `node bin/run-ts.js bench/warm.ts [--n 4000] [--rounds 5] [--warmup 6000] [--cold 200] [--only hello]
//   [--engine bytecode|emscripten] [--isolation shared|instance] [--verbose] [--json]`
//
// The warm request path on the runtime API (no HTTP), with Runtime.create's default options unless
// asked otherwise. For functions/hello.ts and functions/json-api.ts: host CPU per warm invoke
// (process.cpuUsage() delta / n, the median of the rounds: robust on a loaded machine, unlike wall
// time) and the wall p50; then hello's guest heap, the prelude core's eval time and heap, and the
// cold-start p50 (a new function name each time, so each invoke starts an instance from the pool).
import { randomBytes } from 'node:crypto';
import { QuickJS } from 'quickjs-wasi';
import { compileEntry } from '../compiler/index.ts';
import { verifyArtifact, type Artifact } from '../contract/artifact.ts';
import { quickjsWasmModule } from '../contract/engine.ts';
import { Runtime, type EngineName, type GuestRequest, type Isolation } from '../runtime/index.ts';
import { parseFunctionConfig } from '../contract/config.ts';
import { buildPrelude } from '../runtime/prelude/build.ts';
import { settle, summarize } from './stats.ts';

function opt(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const num = (name: string, fallback: number) => Number(opt(name) ?? fallback);
const flag = (name: string) => process.argv.includes(`--${name}`);

const N = num('n', 4000);
const ROUNDS = num('rounds', 5);
/** Untimed invokes of each function first: V8 tiers the host code and the engine's WASM up slowly. */
const WARMUP = num('warmup', 6000);
const COLD = num('cold', 200);

const key = randomBytes(32);
const config = parseFunctionConfig({});
/** What the gateway hands over for a plain curl request. */
const HEADERS: [string, string][] = [
  ['host', '127.0.0.1:8080'],
  ['user-agent', 'curl/8.5.0'],
  ['accept', '*/*'],
];
const get = (url: string) => (): GuestRequest => ({ method: 'GET', url, headers: HEADERS.map((h) => [h[0], h[1]]), body: null });

interface Case {
  name: string;
  entry: string;
  request: () => GuestRequest;
  check: (status: number, body: string) => boolean;
}

const ALL_CASES: Case[] = [
  {
    name: 'hello',
    entry: 'functions/hello.ts',
    request: get('http://127.0.0.1:8080/fn/hello'),
    check: (s, b) => s === 200 && b === 'Hello from faas!',
  },
  {
    name: 'json-api',
    entry: 'functions/json-api.ts',
    request: get('http://127.0.0.1:8080/fn/json-api/todos?done=false&limit=10'),
    check: (s, b) => s === 200 && b.startsWith('{"items":[{"id":2'),
  },
];
const CASES = ALL_CASES.filter((c) => !opt('only') || c.name === opt('only'));

const decoder = new TextDecoder();
const us = (ms: number) => Math.round(ms * 1000);
const median = (xs: number[]) => summarize(xs).p50;
const round1 = (x: number) => Math.round(x * 10) / 10;

const rt = await Runtime.create({ warmup: true, engine: opt('engine') as EngineName | undefined, isolation: opt('isolation') as Isolation | undefined });
const artifacts = new Map<string, Artifact>();
for (const c of CASES) {
  const artifact = verifyArtifact((await compileEntry(c.entry, key, { inThread: true })).bytes, key);
  artifacts.set(c.name, artifact);
  rt.deploy(c.name, 1, artifact, config);
  const r = await rt.invoke(c.name, c.request());
  const body = r.response.body ? decoder.decode(r.response.body) : '';
  if (!c.check(r.response.status, body)) throw new Error(`${c.name}: unexpected response ${r.response.status} ${body}`);
}

// ------------------------------------------------------------------------------------ warm invokes
const results = new Map<string, { cpuUs: number[]; wallP50Us: number[] }>(CASES.map((c) => [c.name, { cpuUs: [], wallP50Us: [] }]));
for (let i = 0; i < WARMUP; i++) for (const c of CASES) await rt.invoke(c.name, c.request());
for (let round = 0; round < ROUNDS; round++) {
  for (const c of CASES) {
    // untimed: lets V8 settle on this function's path again after the other case ran. No gc() here:
    // a forced full GC makes the next few thousand invokes measurably slower.
    for (let i = 0; i < 200; i++) await rt.invoke(c.name, c.request());
    const reqs = Array.from({ length: N }, c.request);
    const walls = new Float64Array(N);
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      await rt.invoke(c.name, reqs[i]!);
      walls[i] = performance.now() - t0;
    }
    const cpu = process.cpuUsage(cpu0);
    const wall = summarize([...walls]);
    results.get(c.name)!.cpuUs.push((cpu.user + cpu.system) / N);
    results.get(c.name)!.wallP50Us.push(us(wall.p50));
    if (flag('verbose')) {
      console.log(`  ${c.name}: cpu ${((cpu.user + cpu.system) / N).toFixed(1)} µs, wall mean ${us(wall.mean)} p50 ${us(wall.p50)} p99 ${us(wall.p99)} µs`);
    }
  }
}

// ------------------------------------------------------------------- hello: guest heap, cold starts
const hello = artifacts.get('hello');
let helloHeapKB = NaN;
const coldWall: number[] = [];
const coldCpu: number[] = [];
if (hello) {
  // a freshly started instance after one request: what a resident idle function holds
  rt.deploy('hello-heap', 1, hello, config);
  await rt.invoke('hello-heap', CASES[0]!.request());
  helloHeapKB = rt.stats().find((s) => s.name === 'hello-heap')!.heapBytes / 1024;
  rt.undeploy('hello-heap');
  for (let i = 0; i < COLD + 20; i++) {
    const name = `cold-${i}`;
    rt.deploy(name, 1, hello, config);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await rt.invoke(name, CASES[0]!.request());
    const dt = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (!r.cold || r.response.status !== 200) throw new Error('expected a successful cold start');
    if (i >= 20) {
      coldWall.push(dt);
      coldCpu.push((c.user + c.system) / 1000);
    }
    rt.undeploy(name);
    await settle(16); // the pool refills off the measured path
  }
}
rt.close();

// ------------------------------------------------------ prelude core: eval into a fresh QuickJS context
const prelude = await buildPrelude();
const evalMs: number[] = [];
const evalHeap: number[] = [];
for (let i = 0; i < 80; i++) {
  const vm = await QuickJS.create({ wasm: quickjsWasmModule() });
  const host = vm.newFunction('__faas_host', () => vm.undefined);
  vm.setProp(vm.global, '__faas_host', host);
  host.dispose();
  const heap0 = vm.getMemoryUsage().mallocSize;
  const t0 = performance.now();
  const api = vm.evalBytecode(prelude.core);
  const dt = performance.now() - t0;
  if (i >= 20) {
    evalMs.push(dt);
    evalHeap.push(vm.getMemoryUsage().mallocSize - heap0);
  }
  api.dispose();
  vm.dispose();
}

const out = {
  n: N,
  rounds: ROUNDS,
  warm: Object.fromEntries(
    [...results].map(([k, v]) => [k, { cpuUsPerInvoke: round1(median(v.cpuUs)), cpuUsRounds: v.cpuUs.map(Math.round), wallP50Us: median(v.wallP50Us) }]),
  ),
  helloHeapKB: round1(helloHeapKB),
  coreEvalMs: Math.round(median(evalMs) * 1000) / 1000,
  coreHeapKB: round1(median(evalHeap) / 1024),
  coreBytecodeBytes: prelude.core.byteLength,
  coldStartP50Us: coldWall.length ? us(median(coldWall)) : NaN,
  coldStartCpuP50Us: coldCpu.length ? us(median(coldCpu)) : NaN,
};

if (flag('json')) {
  console.log(JSON.stringify(out));
} else {
  for (const [k, v] of Object.entries(out.warm)) {
    console.log(`${k.padEnd(9)} warm invoke  ${v.cpuUsPerInvoke} µs host CPU (rounds ${v.cpuUsRounds.join(', ')}), wall p50 ${v.wallP50Us} µs  (n=${N}×${ROUNDS})`);
  }
  console.log(`hello guest heap        ${out.helloHeapKB} KB (one request served)`);
  console.log(`prelude core eval       ${out.coreEvalMs} ms (bytecode ${out.coreBytecodeBytes} B, +${out.coreHeapKB} KB guest heap)`);
  console.log(`cold start p50          ${out.coldStartP50Us} µs wall, ${out.coldStartCpuP50Us} µs CPU  (n=${coldWall.length})`);
}
