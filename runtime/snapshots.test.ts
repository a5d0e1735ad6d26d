import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { compileEntry } from '../compiler/index.ts';
import { verifyArtifact, type Artifact } from '../contract/artifact.ts';
import { parseFunctionConfig, type FunctionConfigInput } from '../contract/config.ts';
import { Runtime, type RuntimeOptions } from './index.ts';

const key = randomBytes(32);
const compile = async (source: string): Promise<Artifact> =>
  verifyArtifact((await compileEntry({ source, filename: 'f.ts', resolveDir: process.cwd() }, key)).bytes, key);

/** Module state set at top level and by requests, randomness of every kind, and the faults the limits stop. */
const STATEFUL = `
let counter = 0;
globalThis.top = 'set at top level';
const table = [];
for (let i = 0; i < 5000; i++) table.push({ i, s: 'row ' + i });
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const mode = url.searchParams.get('mode');
    if (mode === 'loop') for (;;) {}
    if (mode === 'alloc') { const a = []; for (;;) a.push('y'.repeat(65536) + a.length); }
    const hold = Number(url.searchParams.get('hold') ?? 0);
    if (hold) await new Promise((r) => setTimeout(r, hold));
    counter++;
    globalThis.byRequest = (globalThis.byRequest ?? 0) + 1;
    return Response.json({
      counter, byRequest: globalThis.byRequest, top: globalThis.top, rows: table.length,
      random: Math.random(), bytes: [...crypto.getRandomValues(new Uint8Array(16))], uuid: crypto.randomUUID(),
    });
  },
};`;

const request = (query = '') => ({ method: 'GET', url: `http://localhost/${query}`, headers: [] as [string, string][], body: null });
const json = (r: { response: { body: ArrayBuffer | null } }) => JSON.parse(new TextDecoder().decode(r.response.body!));

let rt: Runtime | undefined;
afterEach(() => {
  rt?.close();
  rt = undefined;
});

async function runtime(options: RuntimeOptions = {}): Promise<Runtime> {
  // one request per instance, so that concurrent requests start instances of their own
  rt = await Runtime.create({ isolation: 'instance', poolSize: 2, snapshotMinLoadMs: 0, instanceConcurrency: 1, maxInstancesPerFunction: 32, warmup: false, ...options });
  return rt;
}

async function deploy(r: Runtime, name: string, source: string, config: FunctionConfigInput = {}, version = 1) {
  return r.deploy(name, version, await compile(source), parseFunctionConfig(config));
}

/** Waits (bounded) until the runtime holds `n` snapshots. */
async function untilSnapshots(r: Runtime, n: number): Promise<void> {
  const until = Date.now() + 5000;
  while (r.counts().snapshots < n) {
    if (Date.now() > until) throw new Error(`no snapshot within 5 s (have ${r.counts().snapshots})`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

/** Keeps every resident instance busy while `query` goes to an instance started for it. */
async function onNewInstance(r: Runtime, name: string, query: string) {
  const resident = r.stats().find((s) => s.name === name)?.instances ?? 0;
  const busy = Array.from({ length: resident }, () => r.invoke(name, request('?hold=80')));
  try {
    const result = await r.invoke(name, request(query));
    expect(result.cold).toBe(true);
    return result;
  } finally {
    await Promise.all(busy);
  }
}

describe('snapshots (isolation "instance", quickjs-wasi)', () => {
  it('a restored instance answers like a loaded one, with its top-level state, none of a request, and randomness of its own', async () => {
    const r = await runtime();
    await deploy(r, 'f', STATEFUL);
    const loaded = json(await r.invoke('f', request()));
    expect(loaded).toMatchObject({ counter: 1, byRequest: 1, top: 'set at top level', rows: 5000 });
    await untilSnapshots(r, 1);
    // four at once on a one-request-per-instance runtime: the warm instance takes one, three start
    const results = await Promise.all([0, 1, 2, 3].map(() => r.invoke('f', request('?hold=30'))));
    const bodies = results.map(json);
    const restored = bodies.filter((_, i) => results[i]!.cold);
    expect(restored).toHaveLength(3);
    expect(r.counts().restoredStarts).toBe(3);
    for (const b of restored) expect(b).toMatchObject({ counter: 1, byRequest: 1, top: 'set at top level', rows: 5000 });
    expect(new Set(results.map((x) => x.instanceId)).size).toBe(4);
    const all = [loaded, ...bodies];
    for (const field of ['random', 'uuid'] as const) expect(new Set(all.map((b) => b[field])).size).toBe(all.length);
    expect(new Set(all.map((b) => JSON.stringify(b.bytes))).size).toBe(all.length);
  });

  it('CPU and memory limits hold in a restored instance, and the function serves on afterwards', async () => {
    const r = await runtime();
    await deploy(r, 'f', STATEFUL, { cpuMs: 50, memoryMb: 4 });
    await r.invoke('f', request());
    await untilSnapshots(r, 1);
    await expect(onNewInstance(r, 'f', '?mode=loop')).rejects.toMatchObject({ code: 'cpu_limit_exceeded' });
    expect(r.counts().restoredStarts).toBe(1);
    await expect(onNewInstance(r, 'f', '?mode=alloc')).rejects.toMatchObject({ code: 'memory_limit_exceeded' });
    expect(r.counts().restoredStarts).toBe(2);
    const after = await onNewInstance(r, 'f', '');
    expect(after.cold).toBe(true);
    expect(json(after)).toMatchObject({ counter: 1, top: 'set at top level' });
    expect(r.counts().restoredStarts).toBe(3);
  });

  it('the heap a restored instance reports is the one its load left', async () => {
    const r = await runtime();
    await deploy(r, 'f', STATEFUL);
    await r.invoke('f', request());
    await untilSnapshots(r, 1);
    const loadedHeap = r.stats()[0]!.heapBytes;
    await onNewInstance(r, 'f', '');
    const heaps = r.stats()[0]!.heapBytes;
    expect(r.counts().restoredStarts).toBe(1);
    // two instances now: the restored one holds about what the loaded one does (both served one request)
    expect(heaps).toBeGreaterThan(loadedHeap * 1.5);
    expect(heaps).toBeLessThan(loadedHeap * 2.5);
  });

  it('a load that leaves host-side state or draws randomness is never snapshotted', async () => {
    const r = await runtime();
    const sources = [
      `await new Promise((r) => setTimeout(r, 1));`,
      `const id = crypto.randomUUID();`,
      `const n = Math.random();`,
      `const b = crypto.getRandomValues(new Uint8Array(4));`,
      `const k = await crypto.subtle.importKey('raw', new Uint8Array(16), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);`,
    ];
    for (const [i, top] of sources.entries()) {
      await deploy(r, `f${i}`, `${top}\nexport default { fetch() { return new Response('ok'); } };`);
      expect((await r.invoke(`f${i}`, request())).cold).toBe(true);
    }
    // a clean module beside them: once it has its snapshot, the others had their chance
    await deploy(r, 'clean', STATEFUL);
    await r.invoke('clean', request());
    await untilSnapshots(r, 1);
    await new Promise((res) => setTimeout(res, 100));
    expect(r.counts().snapshots).toBe(1);
    for (const i of sources.keys()) {
      const again = await onNewInstance(r, `f${i}`, '');
      expect(new TextDecoder().decode(again.response.body!)).toBe('ok');
    }
    expect(r.counts().restoredStarts).toBe(0);
  });

  it('snapshots are an LRU by bytes, and a version that lost its snapshot loads again', async () => {
    const probe = await runtime();
    await deploy(probe, 'a', STATEFUL);
    await probe.invoke('a', request());
    await untilSnapshots(probe, 1);
    const one = probe.counts().snapshotBytes;
    expect(one).toBeGreaterThan(64 * 1024);
    probe.close();

    const r = await runtime({ snapshotCacheBytes: Math.floor(one * 1.5) });
    await deploy(r, 'a', STATEFUL);
    await r.invoke('a', request());
    await untilSnapshots(r, 1);
    await deploy(r, 'b', STATEFUL.replace('set at top level', 'b at top level'));
    await r.invoke('b', request());
    // b's snapshot (made off the request path) pushes a's out: b's next start restores, a's loads
    for (let i = 0; i < 10 && r.counts().restoredStarts === 0; i++) {
      await new Promise((res) => setTimeout(res, 50));
      await onNewInstance(r, 'b', '');
    }
    expect(r.counts().restoredStarts).toBe(1);
    expect(r.counts()).toMatchObject({ snapshots: 1, snapshotBytes: expect.any(Number) });
    expect(r.counts().snapshotBytes).toBeLessThanOrEqual(Math.floor(one * 1.5));
    expect(json(await onNewInstance(r, 'a', ''))).toMatchObject({ counter: 1 });
    expect(r.counts().restoredStarts).toBe(1);
  });

  it('a redeploy drops the old version snapshot and never restores it', async () => {
    const r = await runtime();
    await deploy(r, 'f', `const v = 'one';\n${STATEFUL.replace("'set at top level'", 'v')}`);
    await r.invoke('f', request());
    await untilSnapshots(r, 1);
    await deploy(r, 'f', `const v = 'two';\n${STATEFUL.replace("'set at top level'", 'v')}`, {}, 2);
    expect(r.counts().snapshots).toBe(0);
    const results = await Promise.all([0, 1, 2].map(() => r.invoke('f', request('?hold=20'))));
    for (const x of results) expect(json(x).top).toBe('two');
    expect(r.counts().restoredStarts).toBe(0);
  });

  it('isolation "shared" takes no snapshots (its memory holds its neighbours)', async () => {
    const r = await runtime({ isolation: 'shared' });
    await deploy(r, 'f', STATEFUL);
    await r.invoke('f', request());
    await new Promise((res) => setTimeout(res, 100));
    expect(r.counts()).toMatchObject({ snapshots: 0, snapshotBytes: 0 });
  });

  it('snapshotCacheBytes 0 turns them off', async () => {
    const r = await runtime({ snapshotCacheBytes: 0 });
    await deploy(r, 'f', STATEFUL);
    await r.invoke('f', request());
    await new Promise((res) => setTimeout(res, 100));
    expect(r.counts().snapshots).toBe(0);
    expect((await onNewInstance(r, 'f', '')).cold).toBe(true);
    expect(r.counts().restoredStarts).toBe(0);
  });
});
