/**
 * faas/testing: a function in the real sandbox from a test, through the package's own export
 * (`faas/testing`), with its config's limits, env, secrets, local KV and scheduled() on demand.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFunction } from 'faas/testing';
import type { TestFunction } from 'faas/testing';
import { tempDir } from '../test/helpers/gateway.ts';

const dir = tempDir('faas-testing-');
writeFileSync(
  join(dir, 'counter.ts'),
  `export default {
  async fetch(request: Request, env: { COUNTER: KVNamespace; GREETING: string; TOKEN: string }, ctx: ExecutionContext) {
    const url = new URL(request.url);
    if (url.pathname === '/boom') throw new TypeError('boom');
    if (url.pathname === '/hog') { const a = []; for (;;) a.push(new Array(1000).fill(1)); }
    if (url.pathname === '/spin') { for (;;) {} }
    const n = Number((await env.COUNTER.get('n')) ?? '0') + 1;
    ctx.waitUntil(env.COUNTER.put('n', String(n)));
    console.log('count', n);
    return Response.json({ n, greeting: env.GREETING, token: env.TOKEN.length, method: request.method, body: request.method === 'POST' ? await request.text() : null });
  },
  async scheduled(controller: { cron: string; scheduledTime: number }, env: { COUNTER: KVNamespace }) {
    await env.COUNTER.put('cron', controller.cron + '@' + controller.scheduledTime);
  },
};
`,
);
writeFileSync(join(dir, 'counter.faas.json'), JSON.stringify({ kv: ['COUNTER'], env: { GREETING: 'hi' }, secrets: { TOKEN: 'secret!' }, crons: ['*/5 * * * *'], cpuMs: 200 }));

const opened: TestFunction[] = [];
afterAll(async () => {
  for (const f of opened) await f.close();
});
const open = async (...args: Parameters<typeof createFunction>) => {
  const f = await createFunction(...args);
  opened.push(f);
  return f;
};

describe('faas/testing', () => {
  it('runs the function with its config beside the entry: env, secrets, KV, waitUntil, logs', async () => {
    const fn = await open({ entry: join(dir, 'counter.ts') });
    await fn.kv('COUNTER').put('n', '41');
    const res = await fn.fetch('/x', { method: 'POST', body: 'payload' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ n: 42, greeting: 'hi', token: 7, method: 'POST', body: 'payload' });
    await fn.waitUntilSettled();
    expect(await fn.kv('COUNTER').get('n')).toBe('42');
    expect(fn.logs.map((l) => l.text)).toContain('count 42');
    expect(() => fn.kv('OTHER')).toThrow(/not a KV binding/);
  });

  it('runs scheduled() on demand, for the first cron by default', async () => {
    const fn = await open({ entry: join(dir, 'counter.ts') });
    await fn.scheduled(undefined, 1234);
    expect(await fn.kv('COUNTER').get('cron')).toBe('*/5 * * * *@1234');
  });

  it('answers a failure as the gateway does, under the production limits', async () => {
    const fn = await open({ entry: join(dir, 'counter.ts') });
    const boom = await fn.fetch('/boom');
    expect(boom.status).toBe(500);
    const body = (await boom.json()) as { error: string; message: string; stack: string };
    expect(body.error).toBe('function_error');
    expect(body.message).toBe('Uncaught TypeError: boom');
    expect(body.stack).toMatch(/counter\.ts:4:/);
    const hog = await fn.fetch('/hog');
    expect(hog.status).toBe(503);
    expect(await hog.json()).toMatchObject({ error: 'memory_limit_exceeded', message: expect.stringContaining('"memoryMb"') });
    const spin = await fn.fetch('/spin');
    expect(spin.status).toBe(503);
    expect(await spin.json()).toMatchObject({ error: 'cpu_limit_exceeded', message: expect.stringContaining('200 ms (config key "cpuMs")') });
    // and it still serves
    expect((await fn.fetch('/')).status).toBe(200);
  });

  it('takes source text and a config object; refuses a module that does not fit its memoryMb', async () => {
    const fn = await open({ source: 'export default { fetch: (r: Request, env: { A: string }) => new Response(env.A) }', config: { env: { A: 'a' } } });
    expect(await (await fn.fetch('http://example.com/')).text()).toBe('a');
    const big = 'export const big = Array.from({ length: 40000 }, (_, i) => ({ i, s: "x" + i }));\nexport default { fetch: () => new Response(String(big.length)) }';
    await expect(createFunction({ source: big })).rejects.toThrow(/set "memoryMb": \d+/);
    const fits = await open({ source: big, config: { memoryMb: 8 } });
    expect(await (await fits.fetch('/')).text()).toBe('40000');
  });
});
