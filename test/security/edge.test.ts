/**
 * Attacks on the HTTP edge, by a tenant (what its function puts in a response) and by a client
 * (slow bodies, Expect: 100-continue, odd paths, request ids and header floods).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/gateway.ts';
import { bounded, NEIGHBOUR, startAttackGateway, type AttackGateway } from './harness.ts';
import { lastHeaders, lastJsonBody, rawHttp } from './raw-http.ts';

let t: AttackGateway;
beforeAll(async () => {
  t = await startAttackGateway({ bodyTimeoutMs: 500 });
});
afterAll(() => t?.close());

const accessLog = (requestId: string) => t.logs.find((l) => l.msg === 'request' && l.requestId === requestId);

/** A function answering with the headers the guest expression `build` evaluates to. */
const headerSource = (build: string, prelude = '') => `${prelude}
export default { fetch() { return new Response('body', { headers: ${build} }); } };`;

/** Asserts a JSON function_error 500 carrying the request id, and the access log saying so. */
async function expectFunctionError(res: Response, requestId: string): Promise<string> {
  expect(res.status, `${requestId}: ${await res.clone().text()}`).toBe(500);
  expect(res.headers.get('x-request-id')).toBe(requestId);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const body = await res.json();
  expect(body).toMatchObject({ error: 'function_error', requestId });
  expect(accessLog(requestId)).toMatchObject({ status: 500, error: 'function_error' });
  return body.message;
}

const get = (name: string, requestId: string) => t.fn(name, '', { headers: { 'x-request-id': requestId }, signal: AbortSignal.timeout(10_000) });

describe('response headers a guest controls', () => {
  const values: [string, string][] = [
    ['SOH', '"a\\x01b"'],
    ['DEL', '"a\\x7fb"'],
    ['ESC sequence', '"\\x1b[31mred"'],
    ['NUL', '"a\\x00b"'],
    ['a character above U+00FF', '"\\u65e5\\u672c"'],
    ['a lone surrogate', '"\\ud800"'],
  ];
  it.each(values)('a value with %s is a JSON 500 function_error with x-request-id', async (label, literal) => {
    const name = `hv-${values.findIndex(([l]) => l === label)}`;
    await t.deployOk(name, headerSource(`{ 'x-evil': ${literal} }`));
    const id = `ctl-${name}`;
    await expectFunctionError(await get(name, id), id);
    await t.assertHealthy();
  });

  it('a guest that disables its own header validation still cannot send a bad name or value', async () => {
    // RegExp.prototype.test is what guest-side validation may use: with it patched, only the host stands in between.
    const prelude = `RegExp.prototype.test = function () { return true; }; RegExp.prototype.exec = function () { return null; };`;
    const cases = ['{ "bad name": "v" }', '{ "x\\x01": "v" }', '{ "x-ok": "a\\r\\nx-injected: 1" }', '{ "(\\u00e9)": "v" }'];
    for (const [i, build] of cases.entries()) {
      const name = `hn-${i}`;
      await t.deployOk(name, headerSource(build, prelude));
      const id = `name-${i}`;
      const res = await get(name, id);
      expect(res.headers.get('x-injected')).toBeNull();
      await expectFunctionError(res, id);
    }
    await t.assertHealthy();
  });

  it('bounds the response header section: many headers or one huge value is a function_error', async () => {
    await t.deployOk('many-headers', `export default { fetch() {
      const h = new Headers();
      // Names in order: the guest's own header sorting stays linear, so only the gateway's bound is tested.
      for (let i = 0; i < 2000; i++) h.append('x-h' + String(i).padStart(5, '0'), 'v'.repeat(30));
      return new Response('x', { headers: h });
    } };`, { memoryMb: 16, cpuMs: 10_000 });
    expect(await expectFunctionError(await get('many-headers', 'many-1'), 'many-1')).toMatch(/response header/);
    await t.deployOk('huge-header', headerSource(`{ 'x-big': 'v'.repeat(256 * 1024) }`), { memoryMb: 8, cpuMs: 10_000 });
    expect(await expectFunctionError(await get('huge-header', 'huge-1'), 'huge-1')).toMatch(/response header/);
    await t.deployOk('many-cookies', `export default { fetch() {
      const h = new Headers();
      for (let i = 0; i < 10000; i++) h.append('set-cookie', 'c' + i + '=1');
      return new Response('x', { headers: h });
    } };`, { memoryMb: 16, cpuMs: 10_000 });
    await expectFunctionError(await get('many-cookies', 'cookies-1'), 'cookies-1');
    await t.assertHealthy();
  });

  it('a header value of megabytes is a function_error too', async () => {
    await t.deployOk('mega-header', headerSource(`{ 'x-big': 'v'.repeat(4 * 1024 * 1024) }`), { memoryMb: 32, cpuMs: 10_000 });
    expect(await expectFunctionError(await get('mega-header', 'mega-1'), 'mega-1')).toMatch(/response header/);
    await t.assertHealthy();
  });

  it('still sends what is valid: set-cookie lists, obs-text, long values, and names like __proto__', async () => {
    await t.deployOk('fine-headers', `export default { fetch() {
      const h = new Headers();
      h.append('set-cookie', 'a=1; Path=/');
      h.append('set-cookie', 'b=2');
      h.append('set-cookie', 'c=3');
      h.set('__proto__', 'p');
      h.set('constructor', 'c');
      h.set('x-latin1', 'caf\\u00e9');
      h.set('x-tab', 'a\\tb');
      h.set('x-long', 'y'.repeat(8000));
      h.set('content-length', '999999');
      h.set('x-request-id', 'spoofed');
      return new Response('fine', { headers: h });
    } };`, { memoryMb: 4 });
    const res = await get('fine-headers', 'fine-1');
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2', 'c=3']);
    expect(res.headers.get('__proto__')).toBe('p');
    expect(res.headers.get('constructor')).toBe('c');
    expect(res.headers.get('x-latin1')).toBe('caf\u00e9');
    expect(res.headers.get('x-tab')).toBe('a\tb');
    expect(res.headers.get('x-long')).toHaveLength(8000);
    // Framing and the request id stay the gateway's.
    expect(res.headers.get('content-length')).toBe('4');
    expect(res.headers.get('x-request-id')).toBe('fine-1');
    expect(await res.text()).toBe('fine');
    await t.assertHealthy();
  });

  it('a status text with CR LF cannot inject anything', async () => {
    await t.deployOk('status-text', `export default { fetch() { return new Response('x', { status: 299, statusText: 'OK\\r\\nx-injected: 1' }); } };`);
    const res = await get('status-text', 'status-1');
    expect(res.headers.get('x-injected')).toBeNull();
    expect([299, 500]).toContain(res.status);
    await t.assertHealthy();
  });
});

describe('request bodies', () => {
  const post = (path: string, headers: string[], requestId: string, method = 'POST') =>
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-request-id: ${requestId}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;

  it('a body trickled slower than the body timeout is a 408 request_timeout, and the connection is closed', async () => {
    const ex = await bounded(10_000, 'slow body', () =>
      rawHttp(t.url, [post(`/fn/${NEIGHBOUR}`, ['Content-Length: 100'], 'slow-1'), ...Array.from({ length: 20 }, () => ({ data: '{', delayMs: 100 }))], {
        timeoutMs: 8000,
      }),
    );
    expect(ex.statuses).toEqual([408]);
    expect(ex.closed).toBe(true);
    expect(ex.ms).toBeLessThan(5000);
    expect(lastJsonBody(ex.text)).toMatchObject({ error: 'request_timeout', requestId: 'slow-1' });
    expect(lastHeaders(ex.text)).toMatchObject({ 'x-request-id': 'slow-1', connection: 'close' });
    expect(accessLog('slow-1')).toMatchObject({ status: 408, error: 'request_timeout' });
    await t.assertHealthy();
  });

  it('the same for a chunked body, a deploy body, and many slow clients at once', async () => {
    const chunked = rawHttp(t.url, [post(`/fn/${NEIGHBOUR}`, ['Transfer-Encoding: chunked'], 'slow-chunked'), { data: '1\r\n{\r\n', delayMs: 50 }, { data: '1\r\n"\r\n', delayMs: 2000 }], {
      timeoutMs: 8000,
    });
    const deploy = rawHttp(
      t.url,
      [post('/admin/functions/slowdeploy', [`Authorization: Bearer ${t.token}`, 'Content-Type: application/json', 'Content-Length: 1000'], 'slow-deploy', 'PUT'), { data: '{"so', delayMs: 50 }],
      { timeoutMs: 8000 },
    );
    const crowd = Array.from({ length: 20 }, (_, i) =>
      rawHttp(t.url, [post(`/fn/${NEIGHBOUR}`, ['Content-Length: 10'], `slow-crowd-${i}`), { data: '{', delayMs: 10 }], { timeoutMs: 8000 }),
    );
    // The neighbour answers while they trickle.
    await t.assertHealthy(1000);
    for (const ex of await bounded(10_000, 'slow clients', () => Promise.all([chunked, deploy, ...crowd]))) {
      expect(ex.statuses).toEqual([408]);
      expect(ex.closed).toBe(true);
      expect(lastJsonBody(ex.text).error).toBe('request_timeout');
    }
    expect((await t.admin('GET', '/admin/functions/slowdeploy')).status).toBe(404);
    await t.assertHealthy();
  });

  it('bodies received at once share one memory budget: stalled uploads cannot pile up', async () => {
    const own = await startAttackGateway({ maxBufferedBodyBytes: 4 * 1024 * 1024 });
    try {
      await own.deployOk('sink', `export default { async fetch(r: Request) { return new Response(String((await r.arrayBuffer()).byteLength)); } };`, { memoryMb: 8 });
      const almost = Buffer.alloc(1024 * 1024 - 1, 'x');
      // Eight uploads of 1 MiB that stop one byte short: only four fit in the budget at once.
      const uploads = Array.from({ length: 8 }, (_, i) =>
        rawHttp(own.url, [post(`/fn/${NEIGHBOUR}`, [`Content-Length: ${1024 * 1024}`], `stall-${i}`), { data: almost }], { timeoutMs: 2000 }),
      );
      // A request without a body is not held up.
      const get = await own.fn(NEIGHBOUR, '', { signal: AbortSignal.timeout(2000) });
      expect(get.status).toBe(200);
      const results = await bounded(10_000, 'stalled uploads', () => Promise.all(uploads));
      const refused = results.filter((r) => r.statuses.length > 0);
      const held = results.filter((r) => r.statuses.length === 0);
      expect(held.length).toBeLessThanOrEqual(4);
      expect(refused.length).toBeGreaterThanOrEqual(4);
      for (const r of refused) {
        expect(r.statuses).toEqual([503]);
        expect(r.closed).toBe(true);
        expect(lastJsonBody(r.text).error).toBe('overloaded');
        expect(lastHeaders(r.text)['retry-after']).toBe('1');
      }
      // The held ones were cut by the client (rawHttp's timeout): once the gateway has seen them close,
      // their share of the budget is back and four full bodies fit again.
      const fourFit = async () => {
        const sent = Array.from({ length: 4 }, () => own.fn('sink', '', { method: 'POST', body: almost, signal: AbortSignal.timeout(5000) }));
        const answers = await Promise.all(sent.map(async (p) => (await p).text()));
        return answers.every((a) => a === String(almost.byteLength));
      };
      await waitFor(fourFit, { timeoutMs: 5000, everyMs: 100, what: 'the budget to be given back' });
      await own.assertHealthy();
    } finally {
      await own.close();
    }
  });

  it('Expect: 100-continue gets 100 only for a body that will be read', async () => {
    const huge = await rawHttp(t.url, [post(`/fn/${NEIGHBOUR}`, ['Content-Length: 10000000000', 'Expect: 100-continue'], 'expect-huge')], { timeoutMs: 5000 });
    expect(huge.statuses).toEqual([413]);
    expect(huge.closed).toBe(true);
    expect(lastJsonBody(huge.text)).toMatchObject({ error: 'payload_too_large', requestId: 'expect-huge' });

    const unauthorized = await rawHttp(t.url, [post('/admin/functions/x', ['Content-Length: 1000000', 'Expect: 100-continue', 'Connection: close'], 'expect-401')], {
      timeoutMs: 5000,
    });
    expect(unauthorized.statuses).toEqual([401]);

    const body = JSON.stringify({ fits: true });
    const fits = await rawHttp(
      t.url,
      [post(`/fn/${NEIGHBOUR}`, [`Content-Length: ${body.length}`, 'Expect: 100-continue', 'Connection: close'], 'expect-ok'), { data: body, delayMs: 100 }],
      { timeoutMs: 5000 },
    );
    expect(fits.statuses).toEqual([100, 200]);
    expect(lastJsonBody(fits.text)).toEqual({ ok: true, body: { fits: true } });
    await t.assertHealthy();
  });

  it('a GET whose declared body never comes is answered without waiting for it', async () => {
    const ex = await rawHttp(t.url, [`GET /fn/${NEIGHBOUR} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n{`], {
      timeoutMs: 5000,
      until: (text) => text.includes('"ok":true'),
    });
    expect(ex.statuses).toEqual([200]);
    await t.assertHealthy();
  });
});

describe('request line and headers', () => {
  const request = (target: string, extra = '') => rawHttp(t.url, [`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`], { timeoutMs: 5000 });

  it('no path under /fn reaches anything but a function', async () => {
    const targets = [
      '/fn/..%2fadmin%2ffunctions',
      '/fn/%2e%2e/admin/functions',
      '/fn/../admin/functions',
      '/fn/%2E%2E%2F%2E%2E%2Fadmin%2Ffunctions',
      `/fn/${NEIGHBOUR}/../../admin/functions`,
      `/fn/${NEIGHBOUR}%00`,
      `/fn/${NEIGHBOUR}%2f..%2f..%2fadmin`,
      '/fn/NEIGHBOUR',
      '/fn/',
      '/fn//admin/functions',
      `http://evil.example/fn/${NEIGHBOUR}`,
    ];
    for (const target of targets) {
      const ex = await request(target, `Authorization: Bearer ${t.token}\r\n`);
      expect(ex.statuses.length, target).toBe(1);
      const [status] = ex.statuses;
      if (status === 200) expect(lastJsonBody(ex.text), target).toMatchObject({ ok: true });
      else expect([400, 404], target).toContain(status);
      expect(ex.text, target).not.toMatch(/"sha256"/);
    }
    await t.assertHealthy();
  });

  it('an odd x-request-id is replaced, never echoed', async () => {
    const odd = ['x'.repeat(5000), 'has space', '<script>', 'caf\xe9', 'a,b', '"quoted"', '{}'];
    for (const id of odd) {
      const ex = await request(`/fn/${NEIGHBOUR}`, `x-request-id: ${id}\r\n`);
      expect(ex.statuses, id).toEqual([200]);
      const echoed = lastHeaders(ex.text)['x-request-id'];
      expect(echoed).toMatch(/^[0-9a-f-]{36}$/);
    }
    const twice = await request(`/fn/${NEIGHBOUR}`, 'x-request-id: one\r\nx-request-id: two\r\n');
    expect(lastHeaders(twice.text)['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const sane = await request(`/fn/${NEIGHBOUR}`, 'x-request-id: trace-0af7651916cd43dd\r\n');
    expect(lastHeaders(sane.text)['x-request-id']).toBe('trace-0af7651916cd43dd');
    await t.assertHealthy();
  });

  it('header floods and oversized request lines are refused by the server before any handler', async () => {
    const many = Array.from({ length: 1000 }, (_, i) => `x-${i}: ${i}\r\n`).join('');
    expect((await request(`/fn/${NEIGHBOUR}`, many)).statuses).toEqual([200]);
    const tooMany = Array.from({ length: 4000 }, (_, i) => `x-${i}: ${i}\r\n`).join('');
    const flood = await request(`/fn/${NEIGHBOUR}`, tooMany);
    expect(flood.statuses).toEqual([431]);
    expect(flood.closed).toBe(true);
    expect((await request(`/fn/${NEIGHBOUR}`, `x-big: ${'b'.repeat(32 * 1024)}\r\n`)).statuses).toEqual([431]);
    expect([414, 431]).toContain((await request(`/fn/${NEIGHBOUR}?q=${'q'.repeat(32 * 1024)}`)).statuses[0]);
    await t.assertHealthy();
  });
});
