// `node --expose-gc bin/run-ts.js bench/density.ts [--quick] [--only=bytecode/shared,...] [--counts=100,1000]`
// Density per engine/isolation for functions/hello.ts: cold start (with and without the blank pool),
// warm invoke, and the footprint of N resident idle functions. Each measurement runs in its own child
// process so RSS deltas are not blurred by memory an earlier measurement left behind.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { compileEntry } from '../compiler/index.ts';
import { verifyArtifact } from '../contract/artifact.ts';
import { Runtime, type EngineName, type Isolation } from '../runtime/index.ts';
import { parseFunctionConfig } from '../contract/config.ts';
import { createSandboxFactory } from '../runtime/engine/index.ts';
import type { QuickJSWasiFactory } from '../runtime/engine/quickjs-wasi/factory.ts';
import { opDeclaration } from '../runtime/host/op-table.ts';
import type { Sandbox, SandboxHooks } from '../runtime/engine/types.ts';
import { buildPrelude } from '../runtime/prelude/build.ts';
import { pureOps } from '../runtime/host/pure-ops.ts';
import { gc, sampleColdStarts, settle, summarize, us, type Summary } from './stats.ts';

interface Combo {
  engine: EngineName;
  isolation: Isolation;
}
type Task =
  | { kind: 'latency'; combo: Combo; iterations: number }
  | { kind: 'footprint'; combo: Combo; count: number }
  | { kind: 'profile'; growStepBytes?: number; sandboxes: number };

const COMBOS: Combo[] = [
  { engine: 'quickjs-wasi', isolation: 'instance' },
  { engine: 'quickjs-wasi', isolation: 'shared' },
  { engine: 'quickjs-emscripten', isolation: 'shared' },
];
const tag = (c: Combo) => `${c.engine}/${c.isolation}`;

const key = randomBytes(32);
const request = { method: 'GET', url: 'http://localhost/fn/hello', headers: [] as [string, string][], body: null };
const config = parseFunctionConfig({});
const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
const kb = (b: number) => (b / 1024).toFixed(0);

async function helloArtifact() {
  return verifyArtifact((await compileEntry('functions/hello.ts', key, { inThread: true })).bytes, key);
}

// ---------- child side ----------

async function latency(combo: Combo, iterations: number) {
  const artifact = await helloArtifact();
  const cold = async (poolSize: number): Promise<Summary> => {
    const rt = await Runtime.create({ ...combo, poolSize });
    const samples = await sampleColdStarts(rt, { artifact, config, request, samples: iterations, warmupSamples: 30, poolSize, prefix: `hello-${poolSize}` });
    rt.close();
    return summarize(samples);
  };
  const pooled = await cold(4);
  const unpooled = await cold(0);
  const rt = await Runtime.create({ ...combo, poolSize: 1 });
  rt.deploy('hello', 1, artifact, config);
  for (let i = 0; i < 200; i++) await rt.invoke('hello', request);
  const samples: number[] = [];
  for (let i = 0; i < iterations * 5; i++) {
    const t0 = performance.now();
    await rt.invoke('hello', request);
    samples.push(performance.now() - t0);
  }
  rt.close();
  return { pooled, unpooled, warm: summarize(samples) };
}

async function footprint(combo: Combo, count: number) {
  const artifact = await helloArtifact();
  const rt = await Runtime.create({ ...combo, poolSize: 0, memoryBudgetBytes: 64 * 1024 ** 3, maxInstancesPerFunction: 1, idleTtlMs: 3_600_000 });
  // one function first, so engine modules, the prelude and V8's code for the engine are in the baseline
  rt.deploy('warmup', 1, artifact, config);
  await rt.invoke('warmup', request);
  gc();
  await settle();
  const m0 = process.memoryUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    rt.deploy(`r-${i}`, 1, artifact, config);
    const res = await rt.invoke(`r-${i}`, request);
    if (res.response.status !== 200) throw new Error('hello failed');
  }
  const seconds = (performance.now() - t0) / 1000;
  gc();
  await settle();
  const m1 = process.memoryUsage();
  const stats = rt.stats();
  const resident = stats.reduce((s, f) => s + f.instances, 0) - 1;
  const heap = stats.filter((s) => s.name !== 'warmup').reduce((s, f) => s + f.heapBytes, 0);
  rt.close();
  return {
    count,
    resident,
    seconds,
    rssPerFn: (m1.rss - m0.rss) / count,
    guestHeapPerFn: heap / count,
    hostHeapPerFn: (m1.heapUsed - m0.heapUsed) / count,
    rssTotal: m1.rss,
  };
}

const noHooks: SandboxHooks = {
  argSpecs: (op) => opDeclaration(op)?.args,
  hostCall: (op, args) => {
    if (op === 'log' || op === 'timerSet' || op === 'timerClear') return undefined;
    const pure = (pureOps as Record<string, (...a: unknown[]) => unknown>)[op];
    if (pure) return pure(...args);
    throw new Error(`unexpected host op ${op}`);
  },
  shouldInterrupt: () => false,
  resume: (task) => task(),
};

/** Where a shared-mode cold start's time and bytes go, straight on the factory. */
async function profile(sandboxes: number, growStepBytes: number | undefined) {
  const prelude = await buildPrelude();
  const artifact = await helloArtifact();
  const factory = createSandboxFactory('quickjs-wasi', 'shared', { bytecode: prelude }, { shared: { growStepBytes } }) as QuickJSWasiFactory;
  const limits = { memoryLimitBytes: 16 * 1024 * 1024, maxStackBytes: 256 * 1024 };
  const code = { filename: artifact.header.entry, bytecode: artifact.bytecode };
  const create: number[] = [];
  const load: number[] = [];
  const first: number[] = [];
  let afterCreate = 0;
  let afterLoad = 0;
  let afterInvoke = 0;
  const boxes: Sandbox[] = [];
  gc();
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < sandboxes; i++) {
    const t0 = performance.now();
    const box = await factory.create(limits, noHooks);
    const t1 = performance.now();
    afterCreate += box.heapBytes();
    box.setMemoryLimit(1024 * 1024);
    await box.loadModule(code);
    const t2 = performance.now();
    afterLoad += box.heapBytes();
    const p = box.dispatch({ method: request.method, url: request.url, headers: null, body: null, env: '{"vars":{},"secrets":{},"kv":[]}', id: `r${i}` });
    box.runJobs();
    await p;
    const t3 = performance.now();
    afterInvoke += box.heapBytes();
    if (i >= 20) {
      create.push(t1 - t0);
      load.push(t2 - t1);
      first.push(t3 - t2);
    }
    boxes.push(box);
  }
  gc();
  const rss1 = process.memoryUsage().rss;
  const stats = factory.stats();
  for (const b of boxes) b.dispose();
  return {
    growStepBytes: factory.options.growStepBytes,
    create: summarize(create),
    load: summarize(load),
    first: summarize(first),
    heap: { afterCreate: afterCreate / sandboxes, afterLoad: afterLoad / sandboxes, afterInvoke: afterInvoke / sandboxes },
    rssPerSandbox: (rss1 - rss0) / sandboxes,
    linearPerSandbox: stats.linearMemoryBytes / sandboxes,
    instances: stats.instances,
    grows: stats.grows,
  };
}

/** Cost of a runtime + context alone, and of evaluating the prelude core, measured on the raw C API. */
async function contextCost() {
  const prelude = await buildPrelude();
  const { SharedInstance } = await import('../runtime/engine/quickjs-wasi/instance.ts');
  const inst = await SharedInstance.create({ runtimesPerInstance: 100_000, instanceMemoryCapBytes: 2 ** 31, growStepBytes: 0, lowWaterBytes: 0 }, () => {});
  const p = inst.e.malloc(256 * 1024 * 1024);
  inst.e.free(p);
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 520; i++) {
    const t0 = performance.now();
    const r = inst.newRuntime();
    const dt = performance.now() - t0;
    if (i >= 20) {
      times.push(dt);
      bytes += r.bytes;
    }
  }
  return { rtCtx: summarize(times), rtCtxBytes: bytes / 500, preludeBytecode: prelude.core.byteLength };
}

async function child(task: Task): Promise<unknown> {
  if (task.kind === 'latency') return latency(task.combo, task.iterations);
  if (task.kind === 'footprint') return footprint(task.combo, task.count);
  return { ...(await profile(task.sandboxes, task.growStepBytes)), ...(await contextCost()) };
}

// ---------- parent side ----------

function run(task: Task): any {
  const script = fileURLToPath(import.meta.url);
  const out = spawnSync(process.execPath, ['--expose-gc', 'bin/run-ts.js', script, '--child', JSON.stringify(task)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = out.stdout.trim().split('\n').pop() ?? '';
  if (out.status !== 0 || !line.startsWith('{')) {
    return { error: (out.stderr || out.stdout).trim().split('\n').slice(-6).join('\n') };
  }
  return JSON.parse(line);
}

const p50p99 = (s: Summary) => `p50 ${us(s.p50)} µs  p99 ${us(s.p99)} µs`;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const childAt = argv.indexOf('--child');
  if (childAt >= 0) {
    const result = await child(JSON.parse(argv[childAt + 1]!) as Task);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const quick = argv.includes('--quick');
  const only = argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
  const countsArg = argv.find((a) => a.startsWith('--counts='))?.slice(9).split(',').map(Number);
  const combos = COMBOS.filter((c) => !only || only.includes(tag(c)));
  const iterations = quick ? 100 : 400;
  console.log(`node ${process.version}, ${quick ? 'quick' : 'full'} run; hello = functions/hello.ts\n`);

  for (const combo of combos) {
    console.log(`== ${tag(combo)}`);
    const lat = run({ kind: 'latency', combo, iterations });
    if (lat.error) console.log(`  latency: failed\n${lat.error}`);
    else {
      console.log(`  cold start, pool      ${p50p99(lat.pooled)}  (n=${lat.pooled.n})`);
      console.log(`  cold start, no pool   ${p50p99(lat.unpooled)}  (n=${lat.unpooled.n})`);
      console.log(`  warm invoke           ${p50p99(lat.warm)}  (n=${lat.warm.n})`);
    }
    // a WASM instance per function costs ~0.5 MB each: 10,000 of them is a separate, slower question
    const counts = countsArg ?? (combo.isolation === 'instance' ? [100, 1000] : quick ? [100, 1000] : [100, 1000, 10_000]);
    for (const count of counts) {
      const fp = run({ kind: 'footprint', combo, count });
      if (fp.error) {
        console.log(`  resident x${count}: failed\n${fp.error}`);
        continue;
      }
      console.log(
        `  resident x${String(count).padEnd(6)} RSS ${kb(fp.rssPerFn)} KB/fn  guest heap ${kb(fp.guestHeapPerFn)} KB/fn  ` +
          `host JS heap ${kb(fp.hostHeapPerFn)} KB/fn  (RSS total ${mb(fp.rssTotal)} MB, ${fp.resident} resident, ${fp.seconds.toFixed(1)} s)`,
      );
    }
  }

  if (!only || only.includes('bytecode/shared')) {
    console.log('\n== shared-mode profile (factory direct, hello loaded and invoked once per sandbox)');
    const n = quick ? 500 : 2000;
    for (const growStepBytes of [undefined, 0]) {
      const p = run({ kind: 'profile', sandboxes: n, growStepBytes });
      if (p.error) {
        console.log(`  profile failed\n${p.error}`);
        continue;
      }
      const label = p.growStepBytes > 0 ? `pre-grow ${mb(p.growStepBytes)} MiB steps` : 'no pre-grow (allocator grows 64 KiB at a time)';
      console.log(`  ${label}: ${n} sandboxes, ${p.instances} instances, ${p.grows} pre-grows`);
      console.log(`    create (runtime + context + prelude)  ${p50p99(p.create)}  mean ${us(p.create.mean)} µs`);
      console.log(`    load hello                            ${p50p99(p.load)}`);
      console.log(`    first invoke                          ${p50p99(p.first)}`);
      console.log(
        `    heap/sandbox: after create ${kb(p.heap.afterCreate)} KB, after load ${kb(p.heap.afterLoad)} KB, after invoke ${kb(p.heap.afterInvoke)} KB;` +
          ` RSS ${kb(p.rssPerSandbox)} KB, linear memory ${kb(p.linearPerSandbox)} KB`,
      );
      if (growStepBytes === undefined) {
        console.log(`    JS_NewRuntime2 + JS_NewContext alone  ${p50p99(p.rtCtx)}  ${kb(p.rtCtxBytes)} KB allocator bytes`);
        console.log(`    prelude core bytecode ${kb(p.preludeBytecode)} KB`);
      }
    }
  }
}

await main();
