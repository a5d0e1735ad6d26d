// `npm run bench` (≈ 6–8 min) / `npm run bench -- --quick` (≈ 2 min): cold start, warm invoke, resident
// footprint and gateway HTTP throughput of faas side by side with its peers (workerd for the HTTP rounds
// and the footprint, as a process of its own), all in one run. Writes
// bench/results/latest.json, bench/results/cold-start.svg and BENCHMARKS.md. See BENCHMARKS.md § Method.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gatewayBench, type GatewayTarget } from './gateway.ts';
import { allFaasPeers, faasPeerId, runtimeDefaults } from './peers/faas.ts';
import { foreignPeers } from './peers/foreign.ts';
import type { Peer, PlainResponse } from './peers/types.ts';
import { WORKERD_LABEL, WORKERD_METHOD, workerdFootprint, workerdStatus } from './peers/workerd.ts';
import { REFERENCE_PEER, machineFacts, useDefaults, writeReport, type ColdStats, type Results } from './report.ts';
import { gc, percentile, summarize } from './stats.ts';
import type { FootprintResult } from './footprint.ts';
import { WORKLOADS, prepareWorkload, type Prepared, type WorkloadId } from './workloads/index.ts';

const quick = process.argv.includes('--quick');
const started = performance.now();

const CONFIG = quick
  ? {
      samples: { hello: 60, api: 60, signup: 16 } as Record<WorkloadId, number>,
      warmup: { hello: 8, api: 8, signup: 2 } as Record<WorkloadId, number>,
      rounds: 4,
      warmInvokes: { hello: 200, api: 200, signup: 40 } as Record<WorkloadId, number>,
      footprint: [['hello', 200]] as [WorkloadId, number][],
      gateway: { connections: 10, durationSeconds: 2, warmupSeconds: 2, rounds: 1, coldFunctions: 100 },
    }
  : {
      samples: { hello: 400, api: 400, signup: 120 } as Record<WorkloadId, number>,
      warmup: { hello: 30, api: 30, signup: 6 } as Record<WorkloadId, number>,
      rounds: 10,
      warmInvokes: { hello: 2000, api: 1000, signup: 200 } as Record<WorkloadId, number>,
      footprint: [
        ['hello', 100],
        ['hello', 200],
        ['hello', 1000],
        ['api', 100],
        ['signup', 100],
      ] as [WorkloadId, number][],
      gateway: { connections: 10, durationSeconds: 5, warmupSeconds: 2, rounds: 3, coldFunctions: 300 },
    };

/** workerd's footprint: this many copies of hello as workers of one process (the comparison). */
const WORKERD_WORKERS = 200;

const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s`;
const log = (line: string) => console.log(`[${elapsed()}] ${line}`);
const us = (ms: number) => ms * 1000;

// ---------------------------------------------------------------------------------------------- set-up
const meta = machineFacts(quick);
log(`faas bench${quick ? ' --quick' : ''}: ${meta.cpus.count} × ${meta.cpus.model}, ${meta.totalMemGiB} GiB, Node ${meta.node}`);
const signingKey = randomBytes(32);
const workloads: Prepared[] = [];
for (const w of WORKLOADS) workloads.push(await prepareWorkload(w, signingKey));
const artifactDir = join('bench/results/tmp', `artifacts-${process.pid}`);
mkdirSync(artifactDir, { recursive: true });
writeFileSync(join(artifactDir, 'signing.key'), signingKey);
for (const w of workloads) writeFileSync(join(artifactDir, `${w.id}.qbc`), w.artifactBytes);

const defaults = await runtimeDefaults();
useDefaults(defaults);
log(`faas defaults: engine ${defaults.engine}, isolation ${defaults.isolation} (the reference for every ratio)`);
const peers: Peer[] = [...allFaasPeers(defaults), ...foreignPeers()];
const status = new Map<string, string>();
for (const p of peers) {
  const why = await p.init().catch((err: Error) => `error: ${err.message}`);
  status.set(p.id, why ?? 'ok');
  log(`peer ${p.id.padEnd(34)} ${why ?? 'ok'}`);
}
const ready = peers.filter((p) => status.get(p.id) === 'ok');
const workerd = (await workerdStatus()) ?? 'ok';
log(`peer ${'workerd'.padEnd(34)} ${workerd} (HTTP rounds and footprint only: a process of its own)`);

// ------------------------------------------------------------------------------ cold start + warm invoke
const cold: Results['cold'] = {};
/** What faas answered to each workload: every other peer and every HTTP target must answer the same. */
const references = new Map<WorkloadId, PlainResponse>();
for (const w of workloads) {
  cold[w.id] = {};
  const samples = new Map<string, number[]>(ready.map((p) => [p.id, []]));
  const failed = new Map<string, string>();
  let reference: PlainResponse | undefined;
  const mismatches = new Map<string, string>();

  const sample = async (p: Peer, record: boolean) => {
    const inst = await p.prepare(w);
    const t0 = performance.now();
    const res = await inst.start();
    const dt = performance.now() - t0;
    await inst.dispose();
    await p.settle();
    if (res.status !== 200) throw new Error(`status ${res.status}: ${res.body.slice(0, 200)}`);
    if (p.id === REFERENCE_PEER && !reference) references.set(w.id, (reference = res));
    if (reference && (res.status !== reference.status || res.body !== reference.body) && !mismatches.has(p.id)) {
      mismatches.set(p.id, res.body.slice(0, 200));
    }
    if (record) samples.get(p.id)!.push(us(dt));
  };
  const guarded = async (p: Peer, fn: () => Promise<void>) => {
    if (failed.has(p.id)) return;
    try {
      await fn();
    } catch (err) {
      failed.set(p.id, (err as Error).message);
      log(`  ${p.id} failed on ${w.id}: ${(err as Error).message}`);
    }
  };

  log(`cold start: ${w.id} (${CONFIG.samples[w.id]} samples per peer, ${CONFIG.rounds} interleaved rounds)`);
  // Warm-up: V8 tiers up the host code (and the WASM code) of every peer before anything is recorded.
  for (const p of ready) await guarded(p, async () => {
    for (let i = 0; i < CONFIG.warmup[w.id]; i++) await sample(p, false);
  });
  const perRound = Math.ceil(CONFIG.samples[w.id] / CONFIG.rounds);
  for (let r = 0; r < CONFIG.rounds; r++) {
    // Rotate the order every round so that no peer always runs right after the same neighbour.
    const order = ready.map((_, i) => ready[(i + r) % ready.length]!);
    for (const p of order) {
      // A full GC before each batch: the garbage of the previous peer's batch is not collected on this one's clock.
      gc();
      await guarded(p, async () => {
        for (let i = 0; i < perRound; i++) await sample(p, true);
      });
    }
  }

  log(`warm invoke: ${w.id} (${CONFIG.warmInvokes[w.id]} per peer)`);
  const warm = new Map<string, number[]>();
  const warmFailed = new Map<string, string>();
  for (const p of ready) {
    if (failed.has(p.id)) continue;
    gc();
    const inst = await p.prepare(w);
    const xs: number[] = [];
    try {
      await inst.start();
      for (let i = 0; i < 20; i++) await inst.invoke();
      for (let i = 0; i < CONFIG.warmInvokes[w.id]; i++) {
        const t0 = performance.now();
        const res = await inst.invoke();
        xs.push(us(performance.now() - t0));
        if (res.status !== 200) throw new Error(`status ${res.status}`);
      }
      warm.set(p.id, xs);
    } catch (err) {
      // Keep the cold-start figures; say how far the warm loop got.
      warmFailed.set(p.id, `after ${xs.length} warm invokes: ${(err as Error).message}`);
      log(`  ${p.id} warm invoke failed on ${w.id} ${warmFailed.get(p.id)}`);
    }
    await inst.dispose().catch(() => {});
    await p.settle();
  }

  for (const p of peers) {
    const s = samples.get(p.id);
    const st: ColdStats = { status: failed.get(p.id) ? `error: ${failed.get(p.id)}` : status.get(p.id)! };
    if (s && s.length > 0 && !failed.has(p.id)) {
      const sorted = [...s].sort((a, b) => a - b);
      const sum = summarize(sorted);
      Object.assign(st, {
        n: sum.n,
        mean: sum.mean,
        min: sorted[0],
        p1: percentile(sorted, 1),
        p10: percentile(sorted, 10),
        p25: percentile(sorted, 25),
        p50: sum.p50,
        p75: percentile(sorted, 75),
        p90: sum.p90,
        p99: sum.p99,
        max: sorted[sorted.length - 1],
      });
      const wx = warm.get(p.id);
      if (wx) Object.assign(st, { warmN: wx.length, warmP50: summarize(wx).p50, warmP99: summarize(wx).p99 });
      if (warmFailed.has(p.id)) st.warmError = warmFailed.get(p.id);
      if (mismatches.has(p.id)) st.mismatch = mismatches.get(p.id);
    }
    cold[w.id]![p.id] = st;
    if (st.p50 !== undefined) {
      log(
        `  ${p.id.padEnd(34)} cold p50 ${Math.round(st.p50).toString().padStart(6)} µs  p90 ${Math.round(st.p90!).toString().padStart(6)}  p99 ${Math.round(st.p99!).toString().padStart(6)}` +
          `  warm p50 ${Math.round(st.warmP50 ?? NaN).toString().padStart(5)} µs${st.mismatch ? '  RESPONSE DIFFERS' : ''}`,
      );
    }
  }
}
for (const p of peers) await p.close();

// ------------------------------------------------------------------------------------ resident footprint
const run = promisify(execFile);
const footprintPeers = [
  ...(['quickjs-wasi', 'quickjs-emscripten'] as const).flatMap((engine) =>
    (['instance', 'shared'] as const).map((isolation) => faasPeerId({ engine, isolation, pool: false })),
  ),
  ...foreignPeers().map((p) => p.id),
];
const footprint: FootprintResult[] = [];
for (const [workload, count] of CONFIG.footprint) {
  for (const peer of footprintPeers) {
    if (status.get(peer) !== 'ok') {
      footprint.push({ peer, workload, count, status: status.get(peer) ?? 'not available' });
      continue;
    }
    let r: FootprintResult;
    try {
      const { stdout } = await run(process.execPath, ['--expose-gc', 'bin/run-ts.js', 'bench/footprint.ts', peer, workload, String(count), artifactDir], {
        maxBuffer: 1 << 20,
        timeout: 600_000,
      });
      r = JSON.parse(stdout.trim().split('\n').pop()!) as FootprintResult;
    } catch (err) {
      r = { peer, workload, count, status: `error: ${(err as Error).message.split('\n')[0]}` };
    }
    footprint.push(r);
    logFootprint(r);
  }
  if (workload === 'hello' && count === WORKERD_WORKERS) {
    const hello = workloads.find((w) => w.id === 'hello')!;
    const r: FootprintResult =
      workerd === 'ok'
        ? await workerdFootprint(hello, count, references.get('hello')?.body ?? 'Hello from faas!')
        : { peer: 'workerd', label: WORKERD_LABEL, workload, count, status: workerd };
    footprint.push(r);
    logFootprint(r);
  }
}
function logFootprint(r: FootprintResult): void {
  log(
    `footprint ${r.workload} × ${r.count} ${r.peer.padEnd(32)} ` +
      (r.status === 'ok'
        ? `RSS ${r.rssPerInstanceKB!.toFixed(0).padStart(5)} KB/instance, guest heap ${r.guestHeapPerInstanceKB?.toFixed(0).padStart(5) ?? '    –'} KB, start ${r.startMsPerInstance!.toFixed(2)} ms/instance`
        : r.status),
  );
}

// ------------------------------------------------------------------------------------------- gateway HTTP
const gatewayTargets: GatewayTarget[] = [];
for (const engine of ['quickjs-wasi', 'quickjs-emscripten'] as const) {
  for (const isolation of ['instance', 'shared'] as const) {
    if (status.get(faasPeerId({ engine, isolation, pool: true })) === 'ok') {
      // api on the engine faas ships by default only: api on every engine would add a minute to each run.
      const httpWorkloads: WorkloadId[] = engine === defaults.engine ? ['hello', 'api'] : ['hello'];
      gatewayTargets.push({ id: `faas-${engine}-${isolation}`, label: `faas gateway (${engine}, isolation ${isolation})`, kind: 'faas', workloads: httpWorkloads, engine, isolation });
    }
  }
}
if (workerd === 'ok') gatewayTargets.push({ id: 'workerd', label: WORKERD_LABEL, kind: 'workerd', workloads: ['hello', 'api'] });
log(`gateway: warm hello and api, ${CONFIG.gateway.rounds} round(s) of ${CONFIG.gateway.warmupSeconds} s warm-up + ${CONFIG.gateway.durationSeconds} s per target, ${CONFIG.gateway.connections} connections`);
const gateway = await gatewayBench(
  gatewayTargets,
  workloads.filter((w) => w.id === 'hello' || w.id === 'api'),
  { ...CONFIG.gateway, log },
  references,
);

// ---------------------------------------------------------------------------------------------- report
rmSync(artifactDir, { recursive: true, force: true });
const results: Results = {
  meta: { ...meta, durationS: (performance.now() - started) / 1000, config: CONFIG, defaults },
  workloads: workloads.map((w) => ({
    id: w.id,
    title: w.title,
    jsBytes: Buffer.byteLength(w.artifact.js),
    bytecodeBytes: w.artifact.bytecode.byteLength,
    sourceBytes: w.artifact.header.sourceBytes,
    memoryMb: w.functionConfig.memoryMb,
  })),
  peers: peers.map((p) => ({ id: p.id, label: p.label, kind: p.kind, method: p.method, status: status.get(p.id)! })),
  workerd: { label: WORKERD_LABEL, method: WORKERD_METHOD, status: workerd, workers: WORKERD_WORKERS },
  cold,
  footprint,
  gateway: { ...gateway, connections: CONFIG.gateway.connections, durationSeconds: CONFIG.gateway.durationSeconds, warmupSeconds: CONFIG.gateway.warmupSeconds },
};
const written = writeReport(results);
log(`wrote ${written.join(', ')}`);
for (const line of written.length ? results.targets ?? [] : []) console.log(`  target ${line.pass ? 'met   ' : 'MISSED'} ${line.name}: ${line.value} (target ${line.target})`);
log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
process.exit(0);
