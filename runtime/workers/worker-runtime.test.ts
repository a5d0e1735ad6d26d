import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { compileEntry } from '../../compiler/index.ts';
import { verifyArtifact } from '../../contract/artifact.ts';
import { parseFunctionConfig } from '../../contract/config.ts';
import type { FaasError } from '../../contract/errors.ts';
import { DIED_MESSAGE, WorkerPool, type WorkerEvent } from './worker-pool.ts';
import { tempDir, waitFor } from '../../test/helpers/gateway.ts';

// The WorkerPool on its own, without the gateway.
const key = randomBytes(32);
const build = async (source: string) => verifyArtifact((await compileEntry({ source, filename: 'f.ts', resolveDir: tempDir('faas-wk-') }, key)).bytes, key);
const request = (path = '/') => ({ method: 'GET', url: `http://localhost${path}`, headers: [] as [string, string][], body: null });
const text = (body: ArrayBuffer | null) => new TextDecoder().decode(body ?? new ArrayBuffer(0));

let pool: WorkerPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('WorkerPool', () => {
  it('orders deploys with invocations: a call made right after deploy() runs the new version on every thread', async () => {
    pool = await WorkerPool.create({ size: 2, runtime: { poolSize: 1 } });
    const v1 = await build(`export default { fetch() { return new Response('v1'); } };`);
    const v2 = await build(`export default { fetch() { return new Response('v2'); } };`);
    const config = parseFunctionConfig({});
    await pool.deploy('f', 1, v1, config);
    expect(text((await pool.invoke('f', request())).response.body)).toBe('v1');
    const deploying = pool.deploy('f', 2, v2, config);
    // Not awaited: the deploy message is ahead of these in every thread's queue.
    const results = await Promise.all(Array.from({ length: 6 }, () => pool!.invoke('f', request())));
    await deploying;
    expect(results.map((r) => text(r.response.body))).toEqual(Array(6).fill('v2'));
    expect(new Set(results.map((r) => r.worker))).toEqual(new Set([0, 1]));
    expect(pool.get('f')?.version).toBe(2);

    await pool.undeploy('f');
    await expect(pool.invoke('f', request())).rejects.toMatchObject({ code: 'not_found' });
  });

  it('transfers request and response bodies instead of copying them', async () => {
    pool = await WorkerPool.create({ size: 1, runtime: { poolSize: 1 } });
    const echo = await build(`export default { async fetch(r: Request) { return new Response(await r.arrayBuffer()); } };`);
    await pool.deploy('echo', 1, echo, parseFunctionConfig({ memoryMb: 4 }));
    const body = new TextEncoder().encode('x'.repeat(256 * 1024)).buffer as ArrayBuffer;
    const result = await pool.invoke('echo', { ...request(), method: 'POST', body });
    expect(body.byteLength).toBe(0); // detached: it moved to the worker
    expect(result.response.body?.byteLength).toBe(256 * 1024);
  });

  it('terminates and replaces a thread that stops answering', async () => {
    const events: WorkerEvent[] = [];
    pool = await WorkerPool.create({ size: 1, runtime: { poolSize: 1 }, hangGraceMs: 300, onEvent: (e) => events.push(e) });
    const nap = await build(`export default { async fetch() { await new Promise((r) => setTimeout(r, 200)); return new Response('rested'); } };`);
    await pool.deploy('nap', 1, nap, parseFunctionConfig({ cpuMs: 100 }));
    const started = performance.now();
    const stuck = pool.invoke('nap', request());
    pool.simulateFault(0, 'hang', 20_000);
    const err = (await stuck.catch((e: FaasError) => e)) as FaasError;
    expect(err).toMatchObject({ code: 'unavailable', message: DIED_MESSAGE });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(events[0]).toMatchObject({ type: 'exit', worker: 0, failed: 1, reason: expect.stringMatching(/^unresponsive/) });
    // With its only thread being replaced the pool queues the call for the new one.
    expect(text((await pool.invoke('nap', request())).response.body)).toBe('rested');
    await waitFor(() => events.some((e) => e.type === 'restarted'), { what: 'the restart event' });
    expect(pool.restarts).toBe(1);
  });

  it('sums instance stats over threads and reports in-flight work live', async () => {
    pool = await WorkerPool.create({ size: 2, runtime: { poolSize: 1 } });
    const nap = await build(`export default { async fetch() { await new Promise((r) => setTimeout(r, 150)); return new Response('ok'); } };`);
    await pool.deploy('nap', 1, nap, parseFunctionConfig({}));
    const coldBefore = pool.coldStarts; // each thread's runtime warms itself up at start
    const running = Promise.all(Array.from({ length: 6 }, () => pool!.invoke('nap', request())));
    expect(pool.stats()).toEqual([expect.objectContaining({ name: 'nap', version: 1, inflight: 6 })]);
    await running;
    await pool.refreshStats();
    const [s] = pool.stats();
    expect(s).toMatchObject({ name: 'nap', inflight: 0, instances: 2 });
    expect(s!.heapBytes).toBeGreaterThan(0);
    expect(pool.coldStarts - coldBefore).toBe(2);
    expect(pool.threads().map((t) => t.warm)).toEqual([1, 1]);
  });
});
