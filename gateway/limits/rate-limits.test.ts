import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/helpers/gateway.ts';
import { TokenBucket } from './rate-limits.ts';

describe('token bucket', () => {
  it('allows a burst, then the rate, and says how long until the next token', () => {
    const b = new TokenBucket(10, 3, 0);
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 0]);
    expect(b.take(0)).toBeCloseTo(0.1);
    expect(b.take(50)).toBeCloseTo(0.05);
    expect(b.take(100)).toBe(0);
    // refills up to the burst, not beyond
    expect([b.take(10_000), b.take(10_000), b.take(10_000), b.take(10_000)].filter((w) => w === 0)).toHaveLength(3);
  });

  it('defaults the burst to one second of the rate (at least 1)', () => {
    expect(new TokenBucket(20, undefined).capacity).toBe(20);
    expect(new TokenBucket(0.5, undefined).capacity).toBe(1);
  });
});

/** Fires sequential requests for `ms` (at most `max`), counting the answers by status. */
async function hammer(send: () => Promise<Response>, ms: number, max = 5000): Promise<{ ok: number; limited: number; retryAfter: Set<string | null>; elapsedMs: number }> {
  const started = performance.now();
  let ok = 0;
  let limited = 0;
  const retryAfter = new Set<string | null>();
  for (let i = 0; i < max && performance.now() - started < ms; i++) {
    const res = await send();
    await res.arrayBuffer();
    if (res.status === 200) ok++;
    else if (res.status === 429) {
      limited++;
      retryAfter.add(res.headers.get('retry-after'));
    } else throw new Error(`unexpected ${res.status}`);
  }
  return { ok, limited, retryAfter, elapsedMs: performance.now() - started };
}

describe('rate limits through the gateway', () => {
  let t: TestGateway;
  const hello = `export default { fetch() { return new Response('hi'); } };`;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(() => t?.close());

  it('a function’s rateLimit answers 429 rate_limited with Retry-After past its rate', async () => {
    expect((await t.deploy('limited', hello, { rateLimit: { requestsPerSecond: 20, burst: 5 } })).status).toBe(201);
    const r = await hammer(() => t.fn('limited'), 2000);
    // burst 5 plus 20/s over the elapsed time, give or take the edges
    const expected = 5 + (20 * r.elapsedMs) / 1000;
    expect(r.ok).toBeGreaterThanOrEqual(Math.floor(expected * 0.85));
    expect(r.ok).toBeLessThanOrEqual(Math.ceil(expected * 1.1) + 1);
    expect(r.limited).toBeGreaterThan(0);
    expect(r.retryAfter).toEqual(new Set(['1']));
    const refused = await t.fn('limited');
    if (refused.status === 429) expect(await refused.json()).toMatchObject({ error: 'rate_limited', message: expect.stringMatching(/20 requests per second/) });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const counted = Number(/faas_rate_limited_total\{function="limited",tenant="default",scope="function"\} (\d+)/.exec(metrics)?.[1]);
    expect(counted).toBeGreaterThanOrEqual(r.limited);
    // a function without a limit is not limited
    expect((await t.deploy('free', hello)).status).toBe(201);
    expect((await hammer(() => t.fn('free'), 300)).limited).toBe(0);
  });

  it('a tenant’s requestsPerSecond quota limits all its functions together', async () => {
    expect((await t.admin('POST', '/admin/tenants', { name: 'metered', quota: { requestsPerSecond: 10, burst: 2 } })).status).toBe(201);
    const tok = (await (await t.admin('POST', '/admin/tenants/metered/tokens', {})).json()).token;
    for (const name of ['m-one', 'm-two']) {
      expect((await t.admin('PUT', `/admin/functions/${name}`, { source: hello }, tok)).status).toBe(201);
    }
    let i = 0;
    const r = await hammer(() => t.fn(i++ % 2 ? 'm-one' : 'm-two'), 1500);
    const expected = 2 + (10 * r.elapsedMs) / 1000;
    expect(r.ok).toBeGreaterThanOrEqual(Math.floor(expected * 0.8));
    expect(r.ok).toBeLessThanOrEqual(Math.ceil(expected * 1.15) + 1);
    expect(r.limited).toBeGreaterThan(0);
    // lifting the quota lifts the limit at once
    expect((await t.admin('PUT', '/admin/tenants/metered/quota', {})).status).toBe(200);
    expect((await hammer(() => t.fn('m-one'), 200)).limited).toBe(0);
  });

  it('refuses a malformed rateLimit', async () => {
    for (const rateLimit of [{ requestsPerSecond: 0 }, { requestsPerSecond: 5, burst: 0 }, { burst: 5 }, { requestsPerSecond: 5, extra: 1 }]) {
      expect((await t.deploy('bad-limit', hello, { rateLimit })).status).toBe(400);
    }
  });
});
