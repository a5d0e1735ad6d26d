import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnGateway, startTestGateway, tempDir, waitFor, type TestGateway } from '../test/helpers/gateway.ts';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const kvEcho = `export default { async fetch(request, env) {
  const url = new URL(request.url);
  const key = url.searchParams.get('key');
  if (request.method === 'PUT') { await env.DATA.put(key, await request.text()); return new Response('stored'); }
  if (request.method === 'DELETE') { await env.DATA.delete(key); return new Response('deleted'); }
  if (url.searchParams.has('list')) return Response.json(await env.DATA.list());
  return new Response(String(await env.DATA.get(key)));
} };`;

describe('bindings through the gateway', () => {
  it('KV CRUD, and a namespace is shared only by functions that declare it', async () => {
    t = await startTestGateway();
    expect((await t.deploy('kv-a', kvEcho, { kv: ['DATA'] })).status).toBe(201);
    expect((await t.deploy('kv-b', kvEcho, { kv: ['DATA'] })).status).toBe(201);
    expect((await t.deploy('kv-c', kvEcho.replaceAll('env.DATA', 'env.OTHER'), { kv: ['OTHER'] })).status).toBe(201);
    expect(await (await t.fn('kv-a', '?key=k1', { method: 'PUT', body: 'v1' })).text()).toBe('stored');
    expect(await (await t.fn('kv-a', '?key=k1')).text()).toBe('v1');
    expect(await (await t.fn('kv-b', '?key=k1')).text()).toBe('v1');
    expect(await (await t.fn('kv-c', '?key=k1')).text()).toBe('null');
    expect((await (await t.fn('kv-a', '?list')).json()).keys).toEqual([{ name: 'k1' }]);
    expect(await (await t.fn('kv-a', '?key=k1', { method: 'DELETE' })).text()).toBe('deleted');
    expect(await (await t.fn('kv-b', '?key=k1')).text()).toBe('null');
  });

  it('KV data survives a SIGKILL right after a put returned', async () => {
    const dataDir = tempDir('faas-kv-restart-');
    const child = await spawnGateway({ dataDir });
    const auth = { authorization: `Bearer ${child.token}`, 'content-type': 'application/json' };
    const put = await fetch(`${child.url}/admin/functions/kv`, { method: 'PUT', headers: auth, body: JSON.stringify({ source: kvEcho, filename: 'kv.ts', config: { kv: ['DATA'] } }) });
    expect(put.status).toBe(201);
    expect(await (await fetch(`${child.url}/fn/kv?key=durable`, { method: 'PUT', body: 'yes' })).text()).toBe('stored');
    await child.stop('SIGKILL');
    const again = await spawnGateway({ dataDir });
    try {
      expect(await (await fetch(`${again.url}/fn/kv?key=durable`)).text()).toBe('yes');
    } finally {
      await again.stop('SIGKILL');
    }
  });

  it('a cron fires scheduled() through the scheduler and it writes to KV', async () => {
    t = await startTestGateway();
    const source = `export default {
      async scheduled(controller, env) { await env.DATA.put('last', controller.cron + '@' + controller.scheduledTime); },
      async fetch(request, env) { return new Response(String(await env.DATA.get('last'))); },
    };`;
    expect((await t.deploy('ticker', source, { kv: ['DATA'], crons: ['* * * * * *'] })).status).toBe(201);
    const seen = await waitFor(async () => {
      const text = await (await t!.fn('ticker')).text();
      return text.startsWith('* * * * * *@') ? text : undefined;
    }, { timeoutMs: 4000, what: 'a cron firing' });
    expect(Number(seen.split('@')[1])).toBeGreaterThan(Date.now() - 10_000);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/faas_scheduled_runs_total\{function="ticker",outcome="ok"\} [1-9]/);
    expect(t.logs.some((l) => l.msg === 'scheduled run' && l.function === 'ticker')).toBe(true);
  });

  it('a failing scheduled() is counted by outcome and logged, and limits apply', async () => {
    t = await startTestGateway();
    const source = `export default { scheduled() { for (;;) {} }, fetch() { return new Response('ok'); } };`;
    expect((await t.deploy('spinner', source, { crons: ['0 0 1 1 *'], cpuMs: 30 })).status).toBe(201);
    const fn = t.gw.registry.get('spinner')!;
    await t.gw.cron.fire('spinner', fn.version, '0 0 1 1 *');
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/faas_scheduled_runs_total\{function="spinner",outcome="cpu_limit_exceeded"\} 1/);
    expect(t.logs.some((l) => l.msg === 'scheduled run failed' && l.error === 'cpu_limit_exceeded')).toBe(true);
    expect(await (await t.fn('spinner')).text()).toBe('ok');
  });

  it('crons without a scheduled() handler, and invalid cron expressions, are deploy errors', async () => {
    t = await startTestGateway();
    const noScheduled = await t.deploy('no-sched', `export default { fetch() { return new Response('x'); } };`, { crons: ['* * * * *'] });
    expect(noScheduled.status).toBe(400);
    expect((await noScheduled.json()).message).toMatch(/no scheduled\(\) handler/);
    const badCron = await t.deploy('bad-cron', `export default { scheduled() {}, fetch() { return new Response('x'); } };`, { crons: ['every minute'] });
    expect(badCron.status).toBe(400);
    expect((await badCron.json()).message).toMatch(/crons\.0: must be a cron expression/);
  });

  it('secrets reach env but never the admin API or the logs', async () => {
    t = await startTestGateway();
    const source = `export default { fetch(request, env) { console.log('token is', env.API_TOKEN); return new Response(env.API_TOKEN.length + ':' + env.MODE); } };`;
    expect((await t.deploy('sec', source, { env: { MODE: 'prod' }, secrets: { API_TOKEN: 'tok-123456' } })).status).toBe(201);
    expect(await (await t.fn('sec')).text()).toBe('10:prod');
    const one = await (await t.admin('GET', '/admin/functions/sec')).text();
    const all = await (await t.admin('GET', '/admin/functions')).text();
    expect(one).not.toContain('tok-123456');
    expect(all).not.toContain('tok-123456');
    expect(JSON.parse(one).config.env).toEqual({ MODE: 'prod' });
    expect(JSON.stringify(t.logs)).not.toContain('tok-123456');
  });

  it('egress: an allowlisted loopback upstream is reached (by IP and by name); internal and unlisted targets are refused; outcomes are counted', async () => {
    const upstream = createServer((req, res) => {
      if (req.url === '/hop') res.writeHead(302, { location: 'http://[::1]:9/' }).end();
      else res.end('upstream says hi');
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;
    try {
      t = await startTestGateway();
      const source = `export default { async fetch(request) {
        const target = new URL(request.url).searchParams.get('to');
        try { return new Response(await (await fetch(target)).text()); }
        catch (e) { return new Response(e.name + ': ' + e.message, { status: 502 }); }
      } };`;
      expect((await t.deploy('egress', source, { allowedHosts: [`127.0.0.1:${port}`, `localhost:${port}`, 'example.com'] })).status).toBe(201);
      const call = async (to: string) => {
        const res = await t!.fn('egress', `?to=${encodeURIComponent(to)}`);
        return { status: res.status, text: await res.text() };
      };
      expect(await call(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, text: 'upstream says hi' });
      expect(await call(`http://localhost:${port}/`)).toEqual({ status: 200, text: 'upstream says hi' });
      const refused = [`http://127.0.0.1:${port + 1}/`, 'http://169.254.169.254/latest/meta-data', 'http://[::1]:8080/', 'http://not-listed.test/', `http://127.0.0.1:${port}/hop`];
      for (const to of refused) {
        const r = await call(to);
        expect(r.status, to).toBe(502);
        expect(r.text, to).toMatch(/^TypeError: .*egress policy/);
      }
      // Counted on whichever thread ran the fetch, read on the gateway thread.
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      expect(metrics).toContain('faas_egress_requests_total{outcome="ok"} 2');
      expect(metrics).toContain(`faas_egress_requests_total{outcome="policy"} ${refused.length}`);
    } finally {
      await new Promise<void>((r) => upstream.close(() => r()));
    }
  });
});
