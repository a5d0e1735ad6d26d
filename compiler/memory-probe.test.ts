/**
 * The deploy tells the truth: the handler probe evaluates a module under its function's own
 * memoryMb and cpuMs and measures the heap it needs once initialized. A zod-based function at the
 * default 1 MiB is refused with the memoryMb to set; deployed with that value, it serves.
 */
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleEntry, compileEntry } from './index.ts';
import { bundleSource } from '../gateway/bundle-source.ts';
import { signingKey } from '../test/helpers/sandbox.ts';
import { startTestGateway, type TestGateway } from '../test/helpers/gateway.ts';
import { FaasError } from '../contract/errors.ts';
import { GUEST_BASE_HEAP_BYTES } from '../contract/engine.ts';

const ZOD_API = new URL('./fixtures/zod-api.ts', import.meta.url).pathname;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw?.close());

describe('the probe under the function\'s own limits', () => {
  it('measures the heap a module needs once initialized', async () => {
    const small = await compileEntry({ source: 'export default { fetch: () => new Response("hi") }', filename: 'small.ts', resolveDir: tmpdir() }, signingKey, { inThread: true, limits: { memoryMb: 1, cpuMs: 1000 } });
    expect(small.memory!.complete).toBe(true);
    expect(small.memory!.moduleBytes).toBeLessThan(16 * 1024);
    expect(small.memory!.neededBytes).toBe(GUEST_BASE_HEAP_BYTES + small.memory!.moduleBytes);
    expect(small.memory!.suggestedMemoryMb).toBe(1);
  });

  it('refuses a module whose initialized heap does not fit memoryMb, naming the memoryMb to set', async () => {
    const err = await compileEntry(ZOD_API, signingKey, { inThread: true, limits: { memoryMb: 1, cpuMs: 1000 } }).catch((e) => e);
    expect(err).toBeInstanceOf(FaasError);
    expect(err.code).toBe('compile_error');
    expect(err.message).toMatch(/needs \d+\.\d+ MiB of guest heap once initialized .*more than its memory limit of 1 MiB \(config key "memoryMb"\) allows: set "memoryMb": \d+/);
    expect(err.detail.suggestedMemoryMb).toBeGreaterThan(1);
  });

  it('refuses top-level code over the function\'s cpuMs, naming cpuMs', async () => {
    const err = await compileEntry(
      { source: 'const t = Date.now(); while (Date.now() - t < 200) {}\nexport default { fetch: () => new Response("") }', filename: 'slow.ts', resolveDir: tmpdir() },
      signingKey,
      { inThread: true, limits: { memoryMb: 1, cpuMs: 50 } },
    ).catch((e) => e);
    expect(err.code).toBe('compile_error');
    expect(err.message).toMatch(/exceeded the function's CPU limit of 50 ms \(config key "cpuMs"\)/);
  });

  it('a zod-based function: refused at the default 1 MiB with the memoryMb to set; deployed with it, it serves', async () => {
    const bundle = await bundleEntry(ZOD_API);
    const source = bundleSource(bundle);
    const refused = await gw.admin('PUT', '/admin/functions/zod-api', { source, filename: bundle.fileName, config: {} });
    expect(refused.status).toBe(422);
    const body = (await refused.json()) as { error: string; message: string };
    expect(body.error).toBe('compile_error');
    const memoryMb = Number(/set "memoryMb": (\d+)/.exec(body.message)?.[1]);
    expect(memoryMb, body.message).toBeGreaterThan(1);
    process.stderr.write(`refused: ${body.message}\n`);
    expect(gw.gw.registry.get('zod-api')).toBeUndefined();

    const deployed = await gw.admin('PUT', '/admin/functions/zod-api', { source, filename: bundle.fileName, config: { memoryMb } });
    expect(deployed.status, await deployed.clone().text()).toBe(201);
    for (let i = 0; i < 5; i++) {
      const ok = await gw.fn('zod-api', '/', { method: 'POST', body: JSON.stringify({ name: `n${i}`, age: i }) });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ ok: true, user: { name: `n${i}`, age: i } });
    }
    const bad = await gw.fn('zod-api', '/', { method: 'POST', body: JSON.stringify({ name: '', age: -1 }) });
    expect(await bad.json()).toEqual({ ok: false, issues: 2 });
  });
});
