import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/helpers/gateway.ts';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(() => t.close());

describe('response headers from the guest', () => {
  it('keeps repeated set-cookie headers apart, combines others, and adds request id and timing', async () => {
    const source = `export default { fetch() {
      const h = new Headers({ 'content-type': 'text/plain' });
      h.append('set-cookie', 'a=1'); h.append('set-cookie', 'b=2');
      h.append('x-multi', 'one'); h.append('x-multi', 'two');
      h.set('x-request-id', 'guest-tried');
      return new Response('ok', { headers: h });
    } };`;
    expect((await t.deploy('cookies', source)).status).toBe(201);
    const res = await t.fn('cookies', '', { headers: { 'x-request-id': 'client-id-1' } });
    expect(await res.text()).toBe('ok');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(res.headers.get('x-multi')).toBe('one, two');
    expect(res.headers.get('x-request-id')).toBe('client-id-1');
    expect(res.headers.get('server-timing')).toMatch(/^queue;dur=[\d.]+, cold;dur=[\d.]+, exec;dur=[\d.]+$/);
    expect(res.headers.get('content-length')).toBe('2');
  });
});
