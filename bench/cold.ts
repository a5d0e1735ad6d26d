// `npm run bench:cold`: cold start, warm invoke and resident footprint of functions/hello.ts on the
// runtime API directly (no HTTP), with and without the blank-sandbox pool.
import { randomBytes } from 'node:crypto';
import { compileEntry } from '../compiler/index.ts';
import { verifyArtifact } from '../contract/artifact.ts';
import { Runtime, type Isolation } from '../runtime/index.ts';
import { parseFunctionConfig } from '../contract/config.ts';
import { buildPrelude } from '../runtime/prelude/build.ts';
import { gc, sampleColdStarts, settle, summarize, us } from './stats.ts';

const quick = process.argv.includes('--quick');
const ITER = quick ? 100 : 400;
const RESIDENT = quick ? 100 : 1000;
const key = randomBytes(32);
const artifact = verifyArtifact((await compileEntry('functions/hello.ts', key, { inThread: true })).bytes, key);
const config = parseFunctionConfig({});
const request = { method: 'GET', url: 'http://localhost/fn/hello', headers: [] as [string, string][], body: null };

async function coldStarts(isolation: Isolation, poolSize: number): Promise<number[]> {
  const rt = await Runtime.create({ isolation, poolSize });
  const samples = await sampleColdStarts(rt, { artifact, config, request, samples: ITER, warmupSamples: 20, poolSize, prefix: `hello-${isolation}-${poolSize}` });
  rt.close();
  return samples;
}

async function warmInvokes(isolation: Isolation): Promise<number[]> {
  const rt = await Runtime.create({ isolation, poolSize: 1 });
  rt.deploy('hello', 1, artifact, config);
  await rt.invoke('hello', request);
  const samples: number[] = [];
  for (let i = 0; i < ITER * 5; i++) {
    const t0 = performance.now();
    await rt.invoke('hello', request);
    samples.push(performance.now() - t0);
  }
  rt.close();
  return samples;
}

async function footprint(isolation: Isolation, count: number) {
  const rt = await Runtime.create({ isolation, poolSize: 0, memoryBudgetBytes: 8 * 1024 ** 3, maxInstancesPerFunction: 1 });
  gc();
  await settle();
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < count; i++) {
    rt.deploy(`r-${i}`, 1, artifact, config);
    await rt.invoke(`r-${i}`, request);
  }
  gc();
  await settle();
  const rss1 = process.memoryUsage().rss;
  const heap = rt.stats().reduce((s, f) => s + f.heapBytes, 0);
  rt.close();
  return { count, rssPerInstanceKB: (rss1 - rss0) / count / 1024, guestHeapPerInstanceKB: heap / count / 1024 };
}

const prelude = await buildPrelude();
console.log(`prelude: core bytecode ${prelude.core.byteLength} B; chunks ${[...prelude.chunks].map(([n, b]) => `${n} ${b.byteLength} B`).join(', ')}`);
console.log(`hello artifact: bytecode ${artifact.bytecode.byteLength} B\n`);

for (const isolation of ['shared', 'instance'] as Isolation[]) {
  const pooled = summarize(await coldStarts(isolation, 4));
  const unpooled = summarize(await coldStarts(isolation, 0));
  const warm = summarize(await warmInvokes(isolation));
  const fp = await footprint(isolation, RESIDENT);
  console.log(`isolation=${isolation}`);
  console.log(`  cold start, pool      p50 ${us(pooled.p50)} µs  p90 ${us(pooled.p90)} µs  p99 ${us(pooled.p99)} µs  (n=${pooled.n})`);
  console.log(`  cold start, no pool   p50 ${us(unpooled.p50)} µs  p90 ${us(unpooled.p90)} µs  p99 ${us(unpooled.p99)} µs  (n=${unpooled.n})`);
  console.log(`  warm invoke           p50 ${us(warm.p50)} µs  p99 ${us(warm.p99)} µs  (n=${warm.n})`);
  console.log(`  resident idle x${fp.count}  RSS ${fp.rssPerInstanceKB.toFixed(0)} KB/instance  guest heap ${fp.guestHeapPerInstanceKB.toFixed(0)} KB/instance`);
}
