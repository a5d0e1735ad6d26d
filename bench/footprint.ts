// Resident footprint of one peer, measured in a fresh process so that RSS is not polluted by what other
// peers allocated and freed before (freed memory is rarely returned to the OS). bench/index.ts runs:
//   node --expose-gc bin/run-ts.js bench/footprint.ts <peer> <workload> <count> <artifact dir>
// and reads one JSON line. The process starts `count` instances of the workload (each invoked once, then
// left idle) and reports the RSS growth and the engine's own guest heap figure per instance.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import { gc, settle } from './stats.ts';
import { allFaasPeers } from './peers/faas.ts';
import { foreignPeers } from './peers/foreign.ts';
import type { Instance } from './peers/types.ts';
import { WORKLOADS, fromArtifactBytes } from './workloads/index.ts';

export interface FootprintResult {
  peer: string;
  /** For peers that are not in the cold-start table (workerd). */
  label?: string;
  workload: string;
  count: number;
  status: string;
  rssPerInstanceKB?: number;
  guestHeapPerInstanceKB?: number;
  /** Where the guest heap figure comes from. */
  heapSource?: string;
  /** Wall time to start the instances, per instance (they are started one after the other). */
  startMsPerInstance?: number;
}

async function measure(peerId: string, workloadId: string, count: number, dir: string): Promise<FootprintResult> {
  const base = { peer: peerId, workload: workloadId, count };
  const peer = [...allFaasPeers(), ...foreignPeers()].find((p) => p.id === peerId);
  const workload = WORKLOADS.find((w) => w.id === workloadId);
  if (!peer || !workload) return { ...base, status: 'unknown peer or workload' };
  const why = await peer.init();
  if (why) return { ...base, status: why };
  const key = readFileSync(join(dir, 'signing.key'));
  const w = fromArtifactBytes(workload, readFileSync(join(dir, `${workload.id}.qbc`)), key);

  // One-time costs (module compilation, V8 tiering, lazily built engine state) are not per instance.
  for (let i = 0; i < 3; i++) {
    const inst = await peer.prepare(w);
    await inst.start();
    await inst.dispose();
  }
  await peer.settle();
  gc();
  await settle(50);
  gc();
  const rss0 = process.memoryUsage().rss;
  const v8Heap0 = v8.getHeapStatistics().used_heap_size;

  const instances: Instance[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const inst = await peer.prepare(w);
    const res = await inst.start();
    if (res.status !== 200) throw new Error(`${peerId}/${workloadId}: status ${res.status}`);
    instances.push(inst);
  }
  const startMs = performance.now() - t0;
  await peer.settle();
  await settle(50);
  gc();
  await settle(50);
  gc();
  const rss1 = process.memoryUsage().rss;
  const v8Heap1 = v8.getHeapStatistics().used_heap_size;

  let engineHeap = peer.totalHeapBytes?.();
  if (engineHeap === undefined) {
    const heaps = instances.map((i) => i.heapBytes());
    if (heaps.every((h) => h !== undefined)) engineHeap = heaps.reduce<number>((s, h) => s + h!, 0);
  }
  const result: FootprintResult = {
    ...base,
    status: 'ok',
    rssPerInstanceKB: (rss1 - rss0) / count / 1024,
    guestHeapPerInstanceKB: (engineHeap ?? v8Heap1 - v8Heap0) / count / 1024,
    heapSource: engineHeap !== undefined ? 'engine' : 'V8 heap growth',
    startMsPerInstance: startMs / count,
  };
  for (const inst of instances) await inst.dispose();
  await peer.close();
  return result;
}

const [peerId, workloadId, count, dir] = process.argv.slice(2);
let out: FootprintResult;
try {
  out = await measure(peerId!, workloadId!, Number(count), dir!);
} catch (err) {
  out = { peer: peerId!, workload: workloadId!, count: Number(count), status: `error: ${(err as Error).message}` };
}
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
