/** POST /admin/run: one request answered by a throwaway function that is never registered. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/helpers/gateway.ts';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(() => t?.close());

const run = (body: unknown, token?: string) => t.admin('POST', '/admin/run', body, token);

describe('ephemeral runs', () => {
  it('answers the request and returns status, headers, body, timing and the run’s console output', async () => {
    const res = await run({
      source: `export default { async fetch(req: Request, env: any) {
        console.log('method', req.method, 'greeting', env.GREETING);
        console.warn('body', await req.text());
        return new Response('path ' + new URL(req.url).pathname, { status: 201, headers: { 'x-made-by': 'run' } });
      } };`,
      env: { GREETING: 'hi' },
      request: { method: 'POST', path: '/some/where?q=1', headers: [['content-type', 'text/plain']], body: 'payload' },
    });
    expect(res.status).toBe(200);
    const r = await res.json();
    expect(r.status).toBe(201);
    expect(r.body).toBe('path /some/where');
    expect(r.headers).toContainEqual(['x-made-by', 'run']);
    expect(r.error).toBeNull();
    expect(r.logs.map((l: { level: string; text: string }) => `${l.level} ${l.text}`)).toEqual(['log method POST greeting hi', 'warn body payload']);
    expect(r.timing.compileMs).toBeGreaterThan(0);
    expect(r.timing.cpuMs).toBeGreaterThanOrEqual(0);
    expect(r.limits).toEqual({ cpuMs: 200, memoryMb: 16, timeoutMs: 3000 });
  });

  it('is never registered: no function, no route, no version afterwards', async () => {
    await run({ source: `export default { fetch() { return new Response('x'); } };` });
    expect(await (await t.admin('GET', '/admin/functions')).json()).toEqual([]);
    expect(t.gw.runtime.list().filter((f) => f.name.startsWith('~'))).toEqual([]);
    const audit = await (await t.admin('GET', '/admin/audit?limit=1')).json();
    expect(audit[0]).toMatchObject({ action: 'run', outcome: 'ok' });
  });

  it('a compile error is a 422 naming the line; a guest error comes back as the run’s error', async () => {
    const bad = await run({ source: 'export default {\n  fetch() {\n    return new Response(;\n  },\n};\n' });
    expect(bad.status).toBe(422);
    expect((await bad.json()).message).toMatch(/playground\.ts:3:\d+:/);
    const thrown = await (await run({ source: `export default { fetch() { console.log('before'); throw new Error('boom'); } };` })).json();
    expect(thrown.error).toMatchObject({ code: 'function_error' });
    expect(thrown.error.message).toContain('boom');
    expect(thrown.logs.map((l: { text: string }) => l.text)).toContain('before');
    expect(thrown.status).toBeNull();
  });

  it('runs as the caller’s tenant, under its quota', async () => {
    expect((await t.admin('POST', '/admin/tenants', { name: 'small', quota: { cpuMs: 50 } })).status).toBe(201);
    const token = (await (await t.admin('POST', '/admin/tenants/small/tokens', {})).json()).token;
    const r = await (await run({ source: `export default { fetch() { return new Response('ok'); } };` }, token)).json();
    expect(r.limits.cpuMs).toBe(50);
    expect(r.body).toBe('ok');
  });
});
