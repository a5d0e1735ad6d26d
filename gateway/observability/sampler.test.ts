/** The in-memory window of metrics behind the console's charts, fed from a real gateway's counters. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCES, startTestGateway, type TestGateway } from '../../test/helpers/gateway.ts';
import { quantile } from './sampler.ts';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({ sampler: { intervalMs: 60_000, points: 4 } });
  expect((await t.deploy('sampled', SOURCES.hello)).status).toBe(201);
  expect((await t.deploy('failing', SOURCES.throws)).status).toBe(201);
});
afterAll(() => t?.close());

describe('metrics sampler', () => {
  it('turns counters into per-interval requests, errors by code, percentiles, CPU and memory', async () => {
    await t.gw.sampler.sample();
    for (let i = 0; i < 7; i++) expect((await t.fn('sampled')).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await t.fn('failing')).status).toBe(500);
    t.gw.plane.usage.flush();
    await t.gw.sampler.sample();
    const w = t.gw.sampler.functionWindow('sampled');
    expect(w.t).toHaveLength(2);
    expect(w.requests.at(-1)).toBe(7);
    expect(w.errors.at(-1)).toBe(0);
    expect(w.p50Ms.at(-1)).toBeGreaterThan(0);
    expect(w.p99Ms.at(-1)!).toBeGreaterThanOrEqual(w.p50Ms.at(-1)!);
    expect(w.cpuMs.at(-1)).toBeGreaterThan(0);
    expect(w.memoryBytes.at(-1)).toBeGreaterThan(0);
    const f = t.gw.sampler.functionWindow('failing');
    expect(f.errors.at(-1)).toBe(3);
    expect(f.errorsByCode).toEqual({ function_error: [0, 3] });
    const s = t.gw.sampler.summary('sampled');
    expect(s.invocations).toBe(7);
    expect(s.perMinute.reduce((a, b) => a + b, 0)).toBe(7);
    expect(s.p50Ms).toBeGreaterThan(0);
    const gw = t.gw.sampler.gatewayWindow();
    expect(gw.requests.at(-1)).toBe(10);
    expect(gw.errors.at(-1)).toBe(3);
  });

  it('keeps a fixed window: old samples roll off, an idle function gives its ring back', async () => {
    expect((await t.admin('DELETE', '/admin/functions/failing')).status).toBe(204);
    for (let i = 0; i < 6; i++) await t.gw.sampler.sample();
    expect(t.gw.sampler.functionWindow('sampled').t).toHaveLength(4);
    // 'failing' has had no resident instance and no requests for a whole window
    expect(t.gw.sampler.tracked()).toEqual(['sampled']);
    expect(t.gw.sampler.summary('failing')).toMatchObject({ invocations: 0, errors: 0, p50Ms: null });
  });

  it('the admin routes give a tenant its own functions only; health is the operator’s', async () => {
    expect((await t.admin('POST', '/admin/tenants', { name: 'viewer' })).status).toBe(201);
    const token = (await (await t.admin('POST', '/admin/tenants/viewer/tokens', {})).json()).token;
    expect(Object.keys((await (await t.admin('GET', '/admin/stats')).json()).functions)).toEqual(['sampled']);
    expect((await (await t.admin('GET', '/admin/stats', undefined, token)).json()).functions).toEqual({});
    expect((await t.admin('GET', '/admin/functions/sampled/stats', undefined, token)).status).toBe(404);
    expect((await t.admin('GET', '/admin/health', undefined, token)).status).toBe(403);
    const health = await (await t.admin('GET', '/admin/health')).json();
    expect(health).toMatchObject({ phase: 'ready', functions: 1, queueDepth: 0 });
    expect(health.window.t.length).toBeGreaterThan(0);
  });
});

describe('quantile', () => {
  it('interpolates inside the bucket, as histogram_quantile does', () => {
    const bounds = [0.001, 0.01, 0.1, Infinity];
    expect(quantile(bounds, [0, 10, 10, 10], 0.5)).toBeCloseTo(5.5, 5);
    expect(quantile(bounds, [10, 10, 10, 10], 0.99)).toBeCloseTo(0.99, 5);
    expect(quantile(bounds, [0, 0, 0, 4], 0.5)).toBe(100);
    expect(quantile(bounds, [0, 0, 0, 0], 0.5)).toBeNaN();
  });
});
