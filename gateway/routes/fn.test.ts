import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleEntry } from '../../compiler/index.ts';
import { REPO_ROOT, SOURCES, startTestGateway, type TestGateway } from '../../test/helpers/gateway.ts';
import { bundleSource } from '../bundle-source.ts';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ maxBodyBytes: 64 * 1024 });
  const deploys: [string, string, object?][] = [
    ['echo', SOURCES.echo],
    ['spin', SOURCES.spin, { cpuMs: 100 }],
    ['hog', SOURCES.memoryBomb, { memoryMb: 1 }],
    ['hang', SOURCES.hang, { timeoutMs: 200 }],
    ['boom', SOURCES.throws],
    ['chatty', `export default { fetch(req: Request, env: { TOKEN: string }) { console.log('token is', env.TOKEN); console.warn('careful'); return new Response('ok'); } };`, { secrets: { TOKEN: 'tok-123456' } }],
  ];
  for (const [name, source, config] of deploys) {
    const res = await t.deploy(name, source, config);
    if (res.status !== 201) throw new Error(`deploy ${name}: ${res.status} ${await res.text()}`);
  }
});
afterAll(() => t?.close());

describe('invoking functions', () => {
  it('passes the full URL, method, headers and body to the guest', async () => {
    const res = await t.fn('echo', '/a/b?x=1&y=two', { method: 'POST', headers: { 'x-custom': 'yes' }, body: 'payload' });
    expect(res.status).toBe(200);
    const seen = await res.json();
    expect(seen.method).toBe('POST');
    // the function owns its path space: /fn/echo is the gateway's, named in x-forwarded-prefix
    expect(seen.url).toBe(`${t.url}/a/b?x=1&y=two`);
    expect(seen.body).toBe('payload');
    expect(seen.headers).toContainEqual(['x-custom', 'yes']);
    expect(seen.headers).toContainEqual(['x-forwarded-prefix', '/fn/echo']);
    expect((await (await t.fn('echo')).json()).url).toBe(`${t.url}/`);
    expect((await (await t.fn('echo', '/?q=1')).json()).url).toBe(`${t.url}/?q=1`);
    expect((await (await t.fn('echo', '?q=1')).json()).url).toBe(`${t.url}/?q=1`);
  });

  it('keeps the /fn/<name> prefix for a function that asks (stripPrefix: false), and a client cannot forge x-forwarded-prefix', async () => {
    expect((await t.deploy('echo-full', SOURCES.echo, { stripPrefix: false })).status).toBe(201);
    const seen = await (await t.fn('echo-full', '/a?x=1')).json();
    expect(seen.url).toBe(`${t.url}/fn/echo-full/a?x=1`);
    const forged = await (await t.fn('echo', '/a', { headers: { 'x-forwarded-prefix': '/evil' } })).json();
    expect(forged.headers.filter(([k]: [string]) => k === 'x-forwarded-prefix')).toEqual([['x-forwarded-prefix', '/fn/echo']]);
  });

  it('a Hono app, bundled as faas deploy bundles it, routes under /fn/<name> exactly as at the root of its own host', async () => {
    const bundle = await bundleEntry({
      filename: 'hono-app.ts',
      resolveDir: REPO_ROOT,
      source: `import { Hono } from 'hono';
        const app = new Hono();
        app.get('/', (c) => c.text('root'));
        app.get('/users/:id', (c) => c.json({ id: c.req.param('id'), q: c.req.query('q') ?? null, path: c.req.path, url: c.req.url }));
        app.post('/users', async (c) => c.json({ created: await c.req.json() }, 201));
        const api = new Hono().basePath('/api');
        api.get('/ping', (c) => c.text('pong'));
        app.route('/', api);
        app.notFound((c) => c.text('hono 404 ' + c.req.path, 404));
        export default app;`,
    });
    expect((await t.deploy('hono-app', bundleSource(bundle))).status).toBe(201);
    expect(await (await t.fn('hono-app')).text()).toBe('root');
    expect(await (await t.fn('hono-app', '/')).text()).toBe('root');
    expect(await (await t.fn('hono-app', '/users/42?q=x%20y')).json()).toEqual({ id: '42', q: 'x y', path: '/users/42', url: `${t.url}/users/42?q=x%20y` });
    const created = await t.fn('hono-app', '/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"ada"}' });
    expect([created.status, await created.json()]).toEqual([201, { created: { name: 'ada' } }]);
    expect(await (await t.fn('hono-app', '/api/ping')).text()).toBe('pong');
    const missing = await t.fn('hono-app', '/fn/hono-app/users/1');
    expect([missing.status, await missing.text()]).toEqual([404, 'hono 404 /fn/hono-app/users/1']);
  });

  it('sets x-request-id (honouring a sane incoming one) and server-timing', async () => {
    const res = await t.fn('echo', '', { headers: { 'x-request-id': 'client-id-42' } });
    expect(res.headers.get('x-request-id')).toBe('client-id-42');
    expect(res.headers.get('server-timing')).toMatch(/^queue;dur=[\d.]+, cold;dur=[\d.]+, exec;dur=[\d.]+$/);
    const odd = await t.fn('echo', '', { headers: { 'x-request-id': 'has spaces and <tags>' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const line = t.logs.find((l) => l.msg === 'request' && l.requestId === 'client-id-42');
    expect(line).toMatchObject({ method: 'GET', path: '/fn/echo', function: 'echo', status: 200, queueMs: expect.any(Number), execMs: expect.any(Number) });
  });

  it('refuses a body over the cap with 413, by Content-Length or while streaming', async () => {
    const big = new Uint8Array(200 * 1024).fill(97);
    const res = await t.fn('echo', '', { method: 'POST', body: big });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'payload_too_large' });

    // Chunked: no Content-Length, so the cap is enforced on the bytes as they arrive.
    let counter = 20;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(16 * 1024).fill(98));
        if (--counter === 0) controller.close();
      },
    });
    const streamed = await t.fn('echo', '', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);

    // Exactly at the cap is fine.
    const ok = await t.fn('echo', '', { method: 'POST', body: new Uint8Array(64 * 1024).fill(99) });
    expect(ok.status).toBe(200);
    expect((await ok.json()).bodyLength).toBe(64 * 1024);
  });

  it('surfaces each limit with its contract status', async () => {
    const cases: [string, number, string][] = [
      ['spin', 503, 'cpu_limit_exceeded'],
      ['hog', 503, 'memory_limit_exceeded'],
      ['hang', 504, 'timeout'],
      ['boom', 500, 'function_error'],
    ];
    for (const [name, status, code] of cases) {
      const started = performance.now();
      const res = await t.fn(name);
      const body = await res.json();
      expect({ name, status: res.status, error: body.error }).toEqual({ name, status, error: code });
      expect(body.requestId).toBe(res.headers.get('x-request-id'));
      expect(res.headers.get('server-timing')).toMatch(/^queue;dur=/);
      expect(performance.now() - started).toBeLessThan(5000);
    }
    // The function is still usable after its instance was killed.
    expect((await t.fn('echo')).status).toBe(200);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain('faas_limit_violations_total{function="spin",kind="cpu"} 1');
    expect(metrics).toContain('faas_limit_violations_total{function="hog",kind="memory"} 1');
    expect(metrics).toContain('faas_limit_violations_total{function="hang",kind="timeout"} 1');
    expect(metrics).toContain('faas_invocations_total{function="boom",outcome="function_error"} 1');
    expect(metrics).toMatch(/faas_invocations_total\{function="echo",outcome="ok"\} \d+/);
    expect(metrics).toMatch(/faas_instances\{function="echo"\} [1-9]/);
    expect(metrics).toMatch(/faas_guest_memory_bytes\{function="echo"\} [1-9]\d*/);
  });

  it('logs guest console output tagged with function, version and request id, secrets masked', async () => {
    const res = await t.fn('chatty', '', { headers: { 'x-request-id': 'chatty-1' } });
    expect(res.status).toBe(200);
    const lines = t.logs.filter((l) => l.source === 'guest' && l.requestId === 'chatty-1');
    expect(lines).toEqual([
      expect.objectContaining({ function: 'chatty', version: 1, guestLevel: 'log', msg: 'token is [secret]' }),
      expect.objectContaining({ function: 'chatty', version: 1, guestLevel: 'warn', level: 40, msg: 'careful' }),
    ]);
    expect(JSON.stringify(t.logs)).not.toContain('tok-123456');
  });
});
