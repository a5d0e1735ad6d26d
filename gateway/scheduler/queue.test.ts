import { afterEach, describe, expect, it } from 'vitest';
import { SOURCES, startTestGateway, waitFor, type TestGateway } from '../../test/helpers/gateway.ts';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const queueDepth = async (gw: TestGateway) => Number(/^faas_queue_depth (\d+)/m.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1]);

const slowRunning = (gw: TestGateway) => gw.gw.runtime.stats().some((s) => s.name === 'slow' && s.inflight > 0);

async function deployAll(gw: TestGateway, fns: [string, string, object?][]) {
  for (const [name, source, config] of fns) {
    const res = await gw.deploy(name, source, config);
    if (res.status !== 201) throw new Error(`deploy ${name}: ${await res.text()}`);
    // Warm each one so cold starts do not blur the timing below.
    if (name !== 'slow') await gw.fn(name);
  }
}

describe('scheduling over HTTP', () => {
  it('runs the high-priority request first when the gateway is saturated', async () => {
    t = await startTestGateway({ scheduler: { maxConcurrent: 1, queueTimeoutMs: 5000, agingMs: 60_000 } });
    const gw = t;
    await deployAll(gw, [
      ['slow', SOURCES.sleep],
      ['low', SOURCES.version('low'), { priority: -5 }],
      ['high', SOURCES.version('high'), { priority: 5 }],
    ]);
    const done: string[] = [];
    const track = (p: Promise<Response>) => p.then(async (r) => void done.push(`${r.status} ${await r.text()}`));
    const slow = track(gw.fn('slow', '?ms=300'));
    await waitFor(() => slowRunning(gw), { what: 'slow to start' });
    const low = track(gw.fn('low'));
    await waitFor(async () => (await queueDepth(gw)) >= 1, { what: 'low to queue' });
    const high = track(gw.fn('high'));
    await waitFor(async () => (await queueDepth(gw)) >= 2, { what: 'high to queue' });
    await Promise.all([slow, low, high]);
    expect(done).toEqual(['200 slept 300', '200 high', '200 low']);
  });

  it('answers 503 overloaded with Retry-After after the queue timeout', async () => {
    t = await startTestGateway({ scheduler: { maxConcurrent: 1, queueTimeoutMs: 150 } });
    const gw = t;
    await deployAll(gw, [['slow', SOURCES.sleep], ['quick', SOURCES.hello]]);
    const slow = gw.fn('slow', '?ms=800');
    await waitFor(() => slowRunning(gw), { what: 'slow to start' });
    const started = performance.now();
    const res = await gw.fn('quick');
    const waited = performance.now() - started;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toMatchObject({ error: 'overloaded' });
    expect(waited).toBeGreaterThanOrEqual(140);
    expect(waited).toBeLessThan(700);
    expect((await slow).status).toBe(200);
    expect(await (await fetch(`${gw.url}/metrics`)).text()).toContain('faas_invocations_total{function="quick",outcome="overloaded"} 1');
  });

  it('sheds at once with 503 overloaded and Retry-After when the queue is full', async () => {
    t = await startTestGateway({ scheduler: { maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 3000 } });
    const gw = t;
    await deployAll(gw, [['slow', SOURCES.sleep], ['quick', SOURCES.hello]]);
    const slow = gw.fn('slow', '?ms=500');
    await waitFor(() => slowRunning(gw), { what: 'slow to start' });
    const queued = gw.fn('quick');
    await waitFor(async () => (await queueDepth(gw)) === 1, { what: 'one request to queue' });
    const started = performance.now();
    const shed = await gw.fn('quick');
    expect(performance.now() - started).toBeLessThan(200);
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await shed.json()).error).toBe('overloaded');
    expect((await queued).status).toBe(200);
    expect((await slow).status).toBe(200);
  });

  it('counts queue wait against the function timeout', async () => {
    t = await startTestGateway({ scheduler: { maxConcurrent: 1, queueTimeoutMs: 5000 } });
    const gw = t;
    await deployAll(gw, [['slow', SOURCES.sleep], ['short', SOURCES.hello, { timeoutMs: 150 }]]);
    const slow = gw.fn('slow', '?ms=600');
    await waitFor(() => slowRunning(gw), { what: 'slow to start' });
    const res = await gw.fn('short');
    expect(res.status).toBe(504);
    expect((await res.json()).error).toBe('timeout');
    expect((await slow).status).toBe(200);
  });
});
