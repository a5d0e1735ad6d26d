import { afterEach, describe, expect, it } from 'vitest';
import type { WorkerPool } from './worker-pool.ts';
import { SOURCES, startTestGateway, waitFor, type TestGateway } from '../../test/helpers/gateway.ts';

// These run with worker threads whatever FAAS_TEST_WORKERS says.
let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const metricsText = async (gw: TestGateway) => (await fetch(`${gw.url}/metrics`)).text();
const poolOf = (gw: TestGateway): WorkerPool => gw.gw.workers!;
const busyThread = (gw: TestGateway) => poolOf(gw).threads().find((th) => th.inflight > 0);

async function deploy(gw: TestGateway, name: string, source: string, config?: object): Promise<void> {
  const res = await gw.deploy(name, source, config);
  if (res.status !== 201) throw new Error(`deploy ${name}: ${res.status} ${await res.text()}`);
}

describe('guest execution on worker threads', () => {
  it.each(['terminate', 'throw'] as const)('a worker that dies mid-invocation (%s) fails only its own requests and is replaced', async (how) => {
    t = await startTestGateway({ workers: 2 });
    const gw = t;
    expect(poolOf(gw).size).toBe(2);
    await deploy(gw, 'victim', SOURCES.sleep);
    await deploy(gw, 'bystander', SOURCES.sleep);

    const doomed = gw.fn('victim', '?ms=5000', { headers: { 'x-request-id': `doomed-${how}` } });
    const victimWorker = (await waitFor(() => busyThread(gw), { what: 'the victim to be running' })).worker;
    // The other function goes to the idle thread, and must not notice the crash.
    const survivor = gw.fn('bystander', '?ms=600');
    await waitFor(() => poolOf(gw).threads().every((th) => th.inflight === 1), { what: 'both threads busy' });

    poolOf(gw).simulateFault(victimWorker, how);
    const res = await doomed;
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'unavailable', message: 'the worker running this request died', requestId: `doomed-${how}` });
    expect(res.headers.get('retry-after')).toBe('1');

    // Right away (the replacement may still be starting) and after it is up, requests succeed.
    expect(await (await gw.fn('victim', '?ms=1')).text()).toBe('slept 1');
    const survived = await survivor;
    expect(survived.status).toBe(200);
    expect(await survived.text()).toBe('slept 600');
    await waitFor(() => poolOf(gw).threads().every((th) => th.state === 'ready'), { timeoutMs: 15_000, what: 'the replacement thread' });
    const after = await Promise.all(Array.from({ length: 6 }, () => gw.fn('victim', '?ms=50')));
    expect(after.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);

    const metrics = await metricsText(gw);
    expect(metrics).toContain('faas_worker_restarts_total 1');
    expect(metrics).toContain('faas_invocations_total{function="victim",outcome="unavailable"} 1');
    expect(metrics).toMatch(/faas_worker_invocations_total\{worker="0"\} [1-9]/);
    expect(metrics).toMatch(/faas_worker_invocations_total\{worker="1"\} [1-9]/);
    expect(poolOf(gw).threads()[victimWorker]!.restarts).toBe(1);
    expect(gw.logs.find((l) => l.msg === 'worker thread died; replacing it')).toMatchObject({ worker: victimWorker, failedInvocations: 1 });
    expect(gw.logs.find((l) => l.msg === 'request' && l.requestId === `doomed-${how}`)).toMatchObject({ status: 503, error: 'unavailable' });
  });

  it('keeps a function on the thread that has it warm, and spreads a burst over every thread', async () => {
    t = await startTestGateway({ workers: 2 });
    const gw = t;
    await deploy(gw, 'hello', SOURCES.hello);
    await deploy(gw, 'nap', SOURCES.sleep);
    for (let i = 0; i < 10; i++) expect((await gw.fn('hello')).status).toBe(200);
    const sequential = poolOf(gw).threads().map((th) => th.invocations);
    expect(sequential.sort()).toEqual([0, 10]);

    // 12 concurrent 150 ms requests: the warm thread saturates and the rest spill to the other one.
    const burst = await Promise.all(Array.from({ length: 12 }, () => gw.fn('nap', '?ms=150')));
    expect(burst.every((r) => r.status === 200)).toBe(true);
    const served = gw.logs.filter((l) => l.msg === 'request' && l.function === 'nap').map((l) => l.worker);
    expect(new Set(served)).toEqual(new Set([0, 1]));
  });

  it('moves bodies both ways, keeps guest logs tagged, serves KV from every thread, and finishes old versions on redeploy', async () => {
    t = await startTestGateway({ workers: 2 });
    const gw = t;
    await deploy(gw, 'echo', SOURCES.echo, { memoryMb: 8 });
    const big = 'x'.repeat(300 * 1024);
    const echoed = await (await gw.fn('echo', '', { method: 'POST', body: big })).json();
    expect(echoed.bodyLength).toBe(big.length);

    await deploy(gw, 'chatty', `export default { fetch(req: Request, env: { TOKEN: string }) { console.log('token is', env.TOKEN); return new Response('ok'); } };`, {
      secrets: { TOKEN: 'tok-abcdef' },
    });
    expect((await gw.fn('chatty', '', { headers: { 'x-request-id': 'chatty-w' } })).status).toBe(200);
    expect(gw.logs.find((l) => l.source === 'guest' && l.requestId === 'chatty-w')).toMatchObject({ function: 'chatty', version: 1, msg: 'token is [secret]' });

    // Puts from both threads at once (each holds its request 50 ms, so they spread), then every
    // value must be visible to a get on either thread: a put is committed before it resolves.
    await deploy(gw, 'kv', `export default { async fetch(request: Request, env: any) {
      const key = new URL(request.url).searchParams.get('key')!;
      if (request.method === 'PUT') { await new Promise((r) => setTimeout(r, 50)); await env.DATA.put(key, await request.text()); return new Response('stored'); }
      return new Response(String(await env.DATA.get(key)));
    } };`, { kv: ['DATA'] });
    const puts = await Promise.all(Array.from({ length: 8 }, (_, i) => gw.fn('kv', `?key=k${i}`, { method: 'PUT', body: `v${i}` })));
    expect(puts.every((r) => r.status === 200)).toBe(true);
    const gets = await Promise.all(Array.from({ length: 8 }, (_, i) => gw.fn('kv', `?key=k${i}`).then((r) => r.text())));
    expect(gets).toEqual(Array.from({ length: 8 }, (_, i) => `v${i}`));
    const kvWorkers = new Set(gw.logs.filter((l) => l.msg === 'request' && l.function === 'kv').map((l) => l.worker));
    expect(kvWorkers).toEqual(new Set([0, 1]));

    await deploy(gw, 'swap', `export default { async fetch() { await new Promise((r) => setTimeout(r, 400)); return new Response('old'); } };`);
    const old = gw.fn('swap');
    await waitFor(() => busyThread(gw), { what: 'the old version to run' });
    await deploy(gw, 'swap', SOURCES.version('new'));
    // Every thread serves the new version as soon as the deploy answered.
    const fresh = await Promise.all(Array.from({ length: 4 }, () => gw.fn('swap').then((r) => r.text())));
    expect(fresh).toEqual(['new', 'new', 'new', 'new']);
    expect(await (await old).text()).toBe('old');
  });

  it('reports instances across threads, and close() ends every thread', async () => {
    t = await startTestGateway({ workers: 2 });
    const gw = t;
    await deploy(gw, 'nap', SOURCES.sleep);
    await Promise.all(Array.from({ length: 8 }, () => gw.fn('nap', '?ms=100')));
    const metrics = await metricsText(gw);
    const instances = Number(/^faas_instances\{function="nap"\} (\d+)/m.exec(metrics)?.[1]);
    expect(instances).toBeGreaterThanOrEqual(2);
    expect(gw.gw.runtime.stats().find((s) => s.name === 'nap')?.instances).toBe(instances);
    expect(metrics).toMatch(/^faas_worker_inflight\{worker="1"\} 0$/m);
    await gw.close();
    t = undefined;
    expect(poolOf(gw).threads().map((th) => th.state)).toEqual(['dead', 'dead']);
    await expect(poolOf(gw).invoke('nap', { method: 'GET', url: 'http://x/', headers: [], body: null })).rejects.toMatchObject({ code: 'unavailable' });
  });
});
