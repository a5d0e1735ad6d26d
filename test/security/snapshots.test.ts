import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, testWorkers, waitFor } from '../helpers/gateway.ts';
import { bounded, startAttackGateway, type AttackGateway } from './harness.ts';

// Instance snapshots (README "Snapshots"): a function version in isolation "instance" whose load is
// slow enough starts later instances from a copy of its memory taken right after its module loaded.
// Copies must not share randomness, must never carry what a request left behind, must stay under
// the same limits, and must never cross versions. Only quickjs-wasi copies instances; on the other
// engine the file is skipped.

const ENGINE = (process.env.FAAS_TEST_ENGINE ?? 'quickjs-wasi').split('/')[0];
const INSTANCE = { isolation: 'instance', memoryMb: 4 };

/** Module state at top level, state a request leaves, every source of randomness, host operations of every kind. */
const STATEFUL = (top: string) => `
let served = 0;
globalThis.top = ${JSON.stringify(top)};
const table = [];
for (let i = 0; i < 5000; i++) table.push({ i, s: 'row ' + i });
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const stash = url.searchParams.get('stash');
    if (stash) { globalThis.stash = stash; Math.random = () => 0.5; }
    const hold = Number(url.searchParams.get('hold') ?? 0);
    if (hold) await new Promise((r) => setTimeout(r, hold));
    served++;
    const key = await crypto.subtle.importKey('raw', new TextEncoder().encode('k'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(String(served))));
    console.log('served', served);
    return Response.json({
      served, top: globalThis.top, stash: globalThis.stash ?? null, secret: env.TOKEN ?? null, mac: mac[0],
      random: Math.random(), bytes: [...crypto.getRandomValues(new Uint8Array(16))].join(','), uuid: crypto.randomUUID(),
    });
  },
};`;

/** Only the faults: no host operation a neighbouring request's CPU loop could delay (host jobs are charged by their duration). */
const LIMITS = `
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
    return Response.json({ top: 'top', rows: table.length });
  },
};`;

interface Answer {
  served: number;
  top: string;
  stash: string | null;
  secret: string | null;
  random: number;
  bytes: string;
  uuid: string;
}

describe.skipIf(ENGINE !== 'quickjs-wasi')('instance snapshots under attack', () => {
  let t: AttackGateway;
  beforeAll(async () => {
    // one request per instance, so that requests at once start instances of their own
    t = await startAttackGateway({ runtime: { poolSize: 1, snapshotMinLoadMs: 0, instanceConcurrency: 1, maxInstancesPerFunction: 32 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const counts = () => t.gw.runtime.counts();
  const answer = async (res: Response): Promise<Answer> => {
    const body = await res.text();
    expect(res.status, body).toBe(200);
    return JSON.parse(body) as Answer;
  };
  /** The first request (a load), then the snapshot made off the request path. */
  const loadAndSnapshot = async (name: string, path = '') => {
    const bytes = counts().snapshotBytes;
    const first = await answer(await t.fn(name, path));
    await waitFor(() => counts().snapshotBytes > bytes, { timeoutMs: 10_000, what: `a snapshot of ${name}` });
    return first;
  };
  /** Rounds of requests at once until instances were restored (each round outnumbers the instances there are). */
  const restoredAnswers = async (name: string, wanted: number): Promise<Answer[]> => {
    const before = counts().restoredStarts;
    const out: Answer[] = [];
    await bounded(30_000, 'restored starts', async () => {
      for (let round = 0; round < 10 && counts().restoredStarts - before < wanted; round++) {
        const resident = t.gw.runtime.stats().filter((s) => s.name === name).reduce((n, s) => n + s.instances, 0);
        const all = await Promise.all(Array.from({ length: resident + wanted }, () => t.fn(name, '?hold=60').then(answer)));
        out.push(...all);
        // worker threads report their counts once a second
        if (counts().restoredStarts - before < wanted) await sleep(testWorkers() > 0 ? 1100 : 20);
      }
    });
    expect(counts().restoredStarts - before).toBeGreaterThanOrEqual(wanted);
    return out;
  };

  it('restored copies draw randomness of their own: the first Math.random of every instance differs', async () => {
    await t.deployOk('rand', STATEFUL('top'), INSTANCE);
    const first = await loadAndSnapshot('rand');
    const answers = [first, ...(await restoredAnswers('rand', 3))];
    // every instance's first request (served === 1) made the first draw after its start
    const firsts = answers.filter((a) => a.served === 1);
    expect(firsts.length).toBeGreaterThanOrEqual(4);
    for (const field of ['random', 'bytes', 'uuid'] as const) expect(new Set(firsts.map((a) => a[field])).size).toBe(firsts.length);
    await t.assertHealthy();
  });

  it('state a request leaves behind (and a patched Math.random) never reaches a restored instance; env and secrets do', async () => {
    await t.deployOk('stash', STATEFUL('top'), { ...INSTANCE, secrets: { TOKEN: 'tok-123' } });
    const first = await loadAndSnapshot('stash', '?stash=from-request-one');
    expect(first).toMatchObject({ stash: 'from-request-one', random: 0.5, secret: 'tok-123' });
    const answers = await restoredAnswers('stash', 2);
    const fresh = answers.filter((a) => a.served === 1);
    expect(fresh.length).toBeGreaterThanOrEqual(2);
    for (const a of fresh) {
      expect(a).toMatchObject({ top: 'top', stash: null, secret: 'tok-123' });
      expect(a.random).not.toBe(0.5);
    }
    await t.assertHealthy();
  });

  it('CPU and memory limits stop a restored instance exactly as a loaded one', async () => {
    await t.deployOk('limits', LIMITS, { ...INSTANCE, cpuMs: 50, memoryMb: 4 });
    await loadAndSnapshot('limits');
    for (const [mode, code] of [
      ['loop', 'cpu_limit_exceeded'],
      ['alloc', 'memory_limit_exceeded'],
    ] as const) {
      const before = counts().restoredStarts;
      // the warm instances are busy, so the attack starts (and restores) an instance of its own
      const resident = t.gw.runtime.stats().filter((s) => s.name === 'limits').reduce((n, s) => n + s.instances, 0);
      const busy = Array.from({ length: resident }, () => t.fn('limits', '?hold=150'));
      const res = await bounded(10_000, mode, () => t.fn('limits', `?mode=${mode}`));
      const text = await res.text();
      expect(res.status, text).toBe(503);
      expect(text).toContain(code);
      for (const b of await Promise.all(busy)) expect(b.status, await b.text()).toBe(200);
      await waitFor(() => counts().restoredStarts > before, { timeoutMs: 5000, what: `a restored start for ${mode}` });
    }
    expect((await answer(await t.fn('limits'))).top).toBe('top');
    await t.assertHealthy();
  });

  it('a load that leaves a host operation, a timer or randomness behind is never snapshotted', async () => {
    const tops = [
      `await new Promise((r) => setTimeout(r, 5));`,
      `setTimeout(() => { globalThis.top = 'changed later'; }, 50);`,
      `globalThis.leakedId = crypto.randomUUID();`,
      `globalThis.seed = Math.random();`,
      `globalThis.key = await crypto.subtle.importKey('raw', new Uint8Array(16), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);`,
    ];
    const bytes = counts().snapshotBytes;
    for (const [i, top] of tops.entries()) {
      await t.deployOk(`dirty-${i}`, `${top}\nexport default { async fetch() { await new Promise((r) => setTimeout(r, 40)); return new Response('ok ' + (globalThis.top ?? '')); } };`, INSTANCE);
      expect((await t.fn(`dirty-${i}`)).status).toBe(200);
    }
    // a clean one deployed after them: once its snapshot exists, theirs had their chance
    await t.deployOk('clean', STATEFUL('clean'), INSTANCE);
    await loadAndSnapshot('clean');
    await sleep(testWorkers() > 0 ? 1100 : 100);
    const oneImage = counts().snapshotBytes - bytes;
    const before = counts().restoredStarts;
    for (const i of tops.keys()) {
      const all = await Promise.all([0, 1, 2].map(() => t.fn(`dirty-${i}`)));
      for (const r of all) expect(await r.text()).toMatch(/^ok /);
    }
    await sleep(testWorkers() > 0 ? 1100 : 100);
    expect(counts().restoredStarts).toBe(before);
    expect(counts().snapshotBytes - bytes).toBe(oneImage);
    await t.assertHealthy();
  });

  it('a redeploy never restores the snapshot of the version before it', async () => {
    await t.deployOk('versions', STATEFUL('one'), INSTANCE);
    await loadAndSnapshot('versions');
    await t.deployOk('versions', STATEFUL('two'), INSTANCE);
    const answers = await Promise.all([0, 1, 2, 3].map(() => t.fn('versions', '?hold=40').then(answer)));
    for (const a of answers) expect(a.top).toBe('two');
    await t.assertHealthy();
  });
});
