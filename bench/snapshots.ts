// `npm run bench:snapshots [-- --quick]`: what instance snapshots (README "Snapshots") buy, on the
// runtime API (no HTTP), for the three bench workloads, interleaved in rounds in one process:
//  - node:vm: a new context evaluating the bundle, then the request (the bench's node:vm peer);
//  - faas default (shared instance, pool): a never-invoked function (BENCHMARKS.md's cold start);
//  - faas isolation "instance" (pool): a never-invoked function;
//  - faas isolation "instance" (pool), another instance of a version that already ran, with snapshots
//    off (the module is loaded again) and on (the instance is restored from the version's snapshot).
// "Another instance" is what a scale-out or a start after the idle TTL does; the bench makes one by
// disposing the version's instances between samples (the snapshot, like the artifact, stays).
import { randomBytes } from 'node:crypto';
import { Runtime, type Isolation } from '../runtime/index.ts';
import { foreignPeers } from './peers/foreign.ts';
import { POOL_SIZE, plain } from './peers/faas.ts';
import { settle, summarize, us } from './stats.ts';
import { WORKLOADS, prepareWorkload, type Prepared } from './workloads/index.ts';

const quick = process.argv.includes('--quick');
const SAMPLES = quick ? 40 : 200;
const ROUNDS = quick ? 4 : 10;
const WARMUP = quick ? 5 : 20;

type Sampler = (w: Prepared) => Promise<number>;

const key = randomBytes(32);
const workloads: Prepared[] = [];
for (const w of WORKLOADS) workloads.push(await prepareWorkload(w, key));

/** The resident instances of a runtime, to dispose between samples (no public API needs this). */
const residents = (rt: Runtime) => (rt as unknown as { instances: Map<unknown, Set<{ kill(): void }>> }).instances;

async function poolFull(rt: Runtime, isolation: Isolation): Promise<void> {
  const until = performance.now() + 5_000;
  while (performance.now() < until && rt.poolStats().some((p) => p.isolation === isolation && p.ready < POOL_SIZE)) await new Promise((r) => setImmediate(r));
  await settle(2);
}

let seq = 0;
function neverInvoked(rt: Runtime, isolation: Isolation): Sampler {
  return async (w) => {
    const name = `${w.id}-${seq++}`;
    rt.deploy(name, 1, w.artifact, { ...w.functionConfig, isolation });
    const t0 = performance.now();
    const res = await rt.invoke(name, w.guestRequest);
    const dt = performance.now() - t0;
    if (!res.cold || res.response.status !== 200) throw new Error(`${name}: ${res.response.status}`);
    await res.background;
    rt.undeploy(name);
    await poolFull(rt, isolation);
    return dt;
  };
}

/** Another instance of one deployed version: its instances are disposed, then it is invoked again. */
function restarted(rt: Runtime): Sampler {
  const deployed = new Map<string, string>();
  return async (w) => {
    let name = deployed.get(w.id);
    if (!name) {
      deployed.set(w.id, (name = `${w.id}-again-${seq++}`));
      rt.deploy(name, 1, w.artifact, { ...w.functionConfig, isolation: 'instance' });
      await (await rt.invoke(name, w.guestRequest)).background;
      // the snapshot (when the load is slow enough for one) is made off the request path, right after the first start
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const set of residents(rt).values()) for (const inst of [...set]) inst.kill();
    await poolFull(rt, 'instance');
    const t0 = performance.now();
    const res = await rt.invoke(name, w.guestRequest);
    const dt = performance.now() - t0;
    if (!res.cold || res.response.status !== 200) throw new Error(`${name}: ${res.response.status} ${plain(res.response).body.slice(0, 200)}`);
    await res.background;
    return dt;
  };
}

const shared = await Runtime.create({ isolation: 'shared', poolSize: POOL_SIZE });
const own = await Runtime.create({ isolation: 'instance', poolSize: POOL_SIZE, snapshotCacheBytes: 0 });
const snap = await Runtime.create({ isolation: 'instance', poolSize: POOL_SIZE });
const vm = foreignPeers().find((p) => p.id === 'node-vm')!;
const vmReady = (await vm.init()) === null;

const samplers: [string, Sampler][] = [
  ...(vmReady
    ? ([
        [
          'node:vm (new context + bundle)',
          async (w: Prepared) => {
            const inst = await vm.prepare(w);
            const t0 = performance.now();
            await inst.start();
            const dt = performance.now() - t0;
            await inst.dispose();
            await vm.settle();
            return dt;
          },
        ],
      ] as [string, Sampler][])
    : []),
  ['faas default (shared), never invoked', neverInvoked(shared, 'shared')],
  ['faas instance, never invoked', neverInvoked(own, 'instance')],
  ['faas instance, again: module loaded', restarted(own)],
  ['faas instance, again: from snapshot', restarted(snap)],
];

console.log(`bench/snapshots${quick ? ' --quick' : ''}: ${SAMPLES} samples per row in ${ROUNDS} interleaved rounds (µs, wall time)`);
for (const w of workloads) {
  const samples = new Map<string, number[]>(samplers.map(([n]) => [n, []]));
  for (const [, s] of samplers) for (let i = 0; i < WARMUP; i++) await s(w);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [n, s] of samplers) for (let i = 0; i < Math.ceil(SAMPLES / ROUNDS); i++) samples.get(n)!.push(await s(w));
  }
  console.log(`\n${w.id}`);
  for (const [n, list] of samples) {
    const m = summarize(list);
    console.log(`  ${n.padEnd(40)} p50 ${String(us(m.p50)).padStart(6)}  p90 ${String(us(m.p90)).padStart(6)}  (n=${m.n})`);
  }
  const c = snap.counts();
  console.log(`  snapshots kept: ${c.snapshots}, ${(c.snapshotBytes / 1024).toFixed(0)} KiB; restored starts so far: ${c.restoredStarts}`);
}
shared.close();
own.close();
snap.close();
await vm.close();
