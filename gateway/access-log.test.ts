import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../test/helpers/gateway.ts';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ accessLogSample: 0 });
});
afterAll(() => t.close());

const requestLines = (id: string) => t.logs.filter((l) => l.msg === 'request' && l.requestId === id);

describe('access log sampling (accessLogSample)', () => {
  it('with 0, leaves successful requests out and still logs every error', async () => {
    const source = `export default { fetch(req) {
      if (new URL(req.url).pathname === '/boom') throw new Error('boom');
      return new Response('ok');
    } };`;
    expect((await t.deploy('sampled', source)).status).toBe(201);
    const ok = await t.fn('sampled', '', { headers: { 'x-request-id': 'sample-ok' } });
    expect(await ok.text()).toBe('ok');
    const bad = await t.fn('sampled', '/boom', { headers: { 'x-request-id': 'sample-bad' } });
    expect(bad.status).toBe(500);
    await bad.arrayBuffer();
    const missing = await t.fn('absent', '', { headers: { 'x-request-id': 'sample-404' } });
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
    expect(requestLines('sample-ok')).toEqual([]);
    expect(requestLines('sample-bad')).toHaveLength(1);
    expect(requestLines('sample-bad')[0]).toMatchObject({ status: 500, error: 'function_error' });
    expect(requestLines('sample-404')).toHaveLength(1);
  });

  it('refuses a sample outside 0..1', async () => {
    await expect(startTestGateway({ accessLogSample: 2 })).rejects.toThrow(/accessLogSample/);
  });

  it('generates UUID-shaped request ids that differ per request', async () => {
    const a = (await t.fn('sampled')).headers.get('x-request-id');
    const b = (await t.fn('sampled')).headers.get('x-request-id');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(b).not.toBe(a);
  });
});
