/**
 * Attacks on the scheduler: background work (ctx.waitUntil, timers, cron) that used to run outside
 * it, and one function taking every global slot.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SOURCES, waitFor } from '../helpers/gateway.ts';
import { bounded, NEIGHBOUR, startAttackGateway, type AttackGateway } from './harness.ts';

/** A gateway of its own, for tests with their own scheduler options. */
let t: AttackGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** One gateway with default options for the rest; each test leaves nothing in flight behind it. */
let shared: AttackGateway;
beforeAll(async () => {
  shared = await startAttackGateway();
});
afterAll(() => shared?.close());

const nothingInFlight = (gw: AttackGateway, timeoutMs = 5000) =>
  waitFor(async () => (await metric(gw, 'faas_inflight_invocations')) === 0, { timeoutMs, what: 'nothing to be in flight' });

/** A busy loop of `ms` inside the guest. */
const SPIN = (ms: number) => `{ const end = Date.now() + ${ms}; while (Date.now() < end) {} }`;

/** The attack as found: a waitUntil that never settles keeps a 5 ms-per-tick interval alive after the response. */
const BACKGROUND_SPINNER = `export default {
  fetch(request: Request, env: unknown, ctx: any) {
    ctx.waitUntil(new Promise(() => {}));
    setInterval(() => ${SPIN(5)}, 10);
    return new Response('ok');
  },
};`;

async function metric(gw: AttackGateway, name: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`metric ${name} not found`);
  return Number(m[1]);
}

/** Median latency of `n` sequential JSON echoes by the neighbour. */
async function neighbourP50(gw: AttackGateway, n: number): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const res = await gw.fn(NEIGHBOUR, '', { method: 'POST', body: JSON.stringify({ i }), signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    ms.push(performance.now() - started);
  }
  return ms.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}

/** Fires `n` requests at once and returns their statuses. */
const burst = (gw: AttackGateway, name: string, n: number, path = '') =>
  bounded(30_000, `${n} requests to ${name}`, () =>
    Promise.all(Array.from({ length: n }, () => gw.fn(name, path).then(async (r) => (await r.arrayBuffer(), r.status)))),
  );

describe('background work is scheduled work', () => {
  it('a waitUntil that never settles holds its slot: 60 spinning requests cannot slow a neighbour down', async () => {
    // maxConcurrent 8: the attacker's share is 2 slots, whatever its maxConcurrency.
    t = await startAttackGateway({ scheduler: { maxConcurrent: 8, queueTimeoutMs: 300 } });
    await t.deployOk('spinner', BACKGROUND_SPINNER, { timeoutMs: 4000, cpuMs: 4000 });
    const statuses = await burst(t, 'spinner', 60);
    const admitted = statuses.filter((s) => s === 200).length;
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(admitted).toBeGreaterThanOrEqual(1);
    expect(admitted).toBeLessThanOrEqual(2);
    // The answered ones still run: in flight, and counted as background.
    expect(await metric(t, 'faas_inflight_invocations')).toBeGreaterThanOrEqual(1);
    expect(await metric(t, 'faas_background_invocations')).toBeGreaterThanOrEqual(1);
    // Unfixed, with all 60 spinning, the neighbour's p50 was ≈ 600 ms; bounded it is a few ms.
    expect(await neighbourP50(t, 15)).toBeLessThan(250);
    // The wall deadline ends the background work and frees its slots.
    await waitFor(async () => (await metric(t!, 'faas_inflight_invocations')) === 0, { timeoutMs: 10_000, what: 'background slots to be freed' });
    expect(await metric(t, 'faas_background_invocations')).toBe(0);
    await t.assertHealthy();
  });

  it('with default settings, 60 background spinners get a bounded CPU share: the neighbour stays fast', async () => {
    const gw = shared;
    await gw.deployOk('bg-spinner', BACKGROUND_SPINNER, { timeoutMs: 4000, cpuMs: 4000 });
    const statuses = await burst(gw, 'bg-spinner', 60);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(await metric(gw, 'faas_background_invocations')).toBeGreaterThanOrEqual(1);
    // Unfixed the neighbour's p50 was ≈ 600 ms here; the background budget (200 ms of guest CPU per
    // second per function and thread) leaves the rest of the thread to requests.
    expect(await neighbourP50(gw, 15)).toBeLessThan(150);
    await nothingInFlight(gw, 8000);
  });

  it('a function whose background work fills its maxConcurrency waits like any busy function, then serves again', async () => {
    const t = shared;
    await t.deployOk(
      'hoarder',
      `export default { fetch(request: Request, env: unknown, ctx: any) { ctx.waitUntil(new Promise(() => {})); return new Response('ok'); } };`,
      { maxConcurrency: 2, timeoutMs: 1500 },
    );
    expect(await burst(t, 'hoarder', 2)).toEqual([200, 200]);
    expect(await metric(t, 'faas_background_invocations')).toBe(2);
    // Its two slots are taken until the deadline (1.5 s), after the queue timeout (1 s): shed.
    const third = await t.fn('hoarder');
    expect(third.status).toBe(503);
    expect((await third.json()).error).toBe('overloaded');
    await t.assertHealthy();
    await waitFor(async () => (await metric(t, 'faas_inflight_invocations')) === 0, { timeoutMs: 5000, what: 'slots to be freed' });
    expect((await t.fn('hoarder')).status).toBe(200);
    await t.assertHealthy();
    await nothingInFlight(t);
  });

  it('waitUntil work that keeps adding waitUntil work is still bounded by the deadline', async () => {
    const t = shared;
    await t.deployOk(
      'chain',
      `export default {
        fetch(request: Request, env: unknown, ctx: any) {
          const more = () => ctx.waitUntil(new Promise<void>((r) => setTimeout(() => { more(); r(); }, 20)));
          more();
          return new Response('ok');
        },
      };`,
      { timeoutMs: 1000 },
    );
    expect(await burst(t, 'chain', 4)).toEqual([200, 200, 200, 200]);
    expect(await metric(t, 'faas_background_invocations')).toBe(4);
    await waitFor(async () => (await metric(t, 'faas_inflight_invocations')) === 0, { timeoutMs: 5000, what: 'the chain to be cut at the deadline' });
    await t.assertHealthy();
    await nothingInFlight(t);
  });

  it('timers without waitUntil die with the response: nothing stays in flight', async () => {
    const t = shared;
    await t.deployOk('ticker', `export default { fetch() { setInterval(() => ${SPIN(5)}, 10); return new Response('ok'); } };`);
    expect((await burst(t, 'ticker', 30)).every((s) => s === 200)).toBe(true);
    await waitFor(async () => (await metric(t, 'faas_inflight_invocations')) === 0, { timeoutMs: 2000, what: 'in-flight to drop' });
    expect(await neighbourP50(t, 9)).toBeLessThan(250);
    await t.assertHealthy();
    await nothingInFlight(t);
  });

  it('a cron firing holds its slot through its waitUntil work', async () => {
    const t = shared;
    const cron = '0 0 1 1 *';
    await t.deployOk(
      'cronspin',
      `export default {
        fetch() { return new Response('ok'); },
        scheduled(controller: unknown, env: unknown, ctx: any) {
          ctx.waitUntil(new Promise(() => {}));
          setInterval(() => ${SPIN(5)}, 10);
        },
      };`,
      { crons: [cron], timeoutMs: 1500, cpuMs: 1500 },
    );
    const version = t.gw.registry.get('cronspin')!.version;
    const firing = t.gw.cron.fire('cronspin', version, cron);
    await waitFor(async () => (await metric(t, 'faas_inflight_invocations')) >= 1, { what: 'the firing to take a slot' });
    await new Promise((r) => setTimeout(r, 200));
    expect(await metric(t, 'faas_inflight_invocations')).toBe(1);
    await t.assertHealthy();
    await bounded(5000, 'the firing', () => firing);
    expect(await metric(t, 'faas_inflight_invocations')).toBe(0);
    await t.assertHealthy();
    await nothingInFlight(t);
  });
});

describe('fair share of the global slots', () => {
  it('a function with maxConcurrency 10000 gets its share, not every slot: the neighbour runs at once', async () => {
    t = await startAttackGateway({ scheduler: { maxConcurrent: 8, queueTimeoutMs: 2000 } });
    await t.deployOk('greedy', SOURCES.sleep, { maxConcurrency: 10_000 });
    const attack = burst(t, 'greedy', 30, '?ms=1000');
    await waitFor(async () => (await metric(t!, 'faas_queue_depth')) >= 20, { what: 'greedy to queue' });
    // ceil(8 / 4) = 2 slots for greedy; the rest wait parked on it.
    expect(await metric(t, 'faas_inflight_invocations')).toBe(2);
    const started = performance.now();
    await t.assertHealthy(1000);
    expect(performance.now() - started).toBeLessThan(1000);
    const statuses = await attack;
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    await t.assertHealthy();
  });

  it('several greedy functions each get their share, and the default share (a quarter of 256) holds', async () => {
    const t = shared;
    for (const name of ['greedy-a', 'greedy-b']) await t.deployOk(name, SOURCES.sleep, { maxConcurrency: 10_000 });
    const attacks = [burst(t, 'greedy-a', 80, '?ms=1500'), burst(t, 'greedy-b', 80, '?ms=1500')];
    await waitFor(async () => (await metric(t, 'faas_queue_depth')) >= 32, { timeoutMs: 10_000, what: 'both to queue' });
    expect(await metric(t, 'faas_inflight_invocations')).toBe(128);
    await t.assertHealthy(1000);
    for (const statuses of await Promise.all(attacks)) expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    await t.assertHealthy();
    await nothingInFlight(t);
  });
});
