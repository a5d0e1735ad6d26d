import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCES, startTestGateway, type TestGateway } from '../../test/helpers/gateway.ts';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(() => t?.close());

describe('admin API', () => {
  it('deploys, invokes, lists, gets and deletes a function', async () => {
    const put = await t.deploy('crud', SOURCES.version('one'), { env: { GREETING: 'hi' }, secrets: { API_KEY: 'sk-very-secret' } });
    expect(put.status).toBe(201);
    const deployed = await put.json();
    expect(deployed).toMatchObject({ name: 'crud', version: 1, bytecodeBytes: expect.any(Number) });
    expect(deployed.sha256).toMatch(/^[0-9a-f]{64}$/);

    const res = await t.fn('crud');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('one');

    const list = await (await t.admin('GET', '/admin/functions')).json();
    const entry = list.find((f: { name: string }) => f.name === 'crud');
    expect(entry).toMatchObject({ name: 'crud', version: 1, sha256: deployed.sha256, bytecodeBytes: deployed.bytecodeBytes, deployedAt: expect.any(String) });
    expect(entry.config.env).toEqual({ GREETING: 'hi' });

    const one = await t.admin('GET', '/admin/functions/crud');
    expect(one.status).toBe(200);
    const body = await one.text();
    expect(JSON.parse(body)).toEqual(entry);
    // Secrets are write-only: neither the value nor the field comes back.
    expect(body).not.toContain('sk-very-secret');
    expect(JSON.parse(body).config.secrets).toBeUndefined();

    expect((await t.deploy('crud', SOURCES.version('two'))).status).toBe(201);
    expect(await (await t.fn('crud')).text()).toBe('two');
    expect((await (await t.admin('GET', '/admin/functions/crud')).json()).version).toBe(2);

    const del = await t.admin('DELETE', '/admin/functions/crud');
    expect(del.status).toBe(204);
    expect((await t.fn('crud')).status).toBe(404);
    expect((await t.admin('GET', '/admin/functions/crud')).status).toBe(404);
    expect((await t.admin('DELETE', '/admin/functions/crud')).status).toBe(404);

    // Versions keep counting after a delete, so a number never names two different artifacts.
    const again = await (await t.deploy('crud', SOURCES.version('three'))).json();
    expect(again.version).toBe(3);
    // No log line carries the secret or the token.
    const logged = JSON.stringify(t.logs);
    expect(logged).not.toContain('sk-very-secret');
    expect(logged).not.toContain(t.token);
  });

  it('rejects requests without the token or with a wrong one (401)', async () => {
    for (const token of [null, 'wrong-token']) {
      const res = await t.admin('GET', '/admin/functions', undefined, token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const body = await res.json();
      expect(body).toMatchObject({ error: 'unauthorized', requestId: expect.any(String) });
    }
    const put = await t.admin('PUT', '/admin/functions/sneaky', { source: SOURCES.hello }, 'wrong-token');
    expect(put.status).toBe(401);
    expect((await t.fn('sneaky')).status).toBe(404);
  });

  it('rejects bad names with 400', async () => {
    for (const name of ['Upper', '-leading-dash', 'under_score', 'a'.repeat(64)]) {
      const res = await t.deploy(name, SOURCES.hello);
      expect(res.status, name).toBe(400);
      expect((await res.json()).error).toBe('bad_request');
    }
    const fnRes = await t.fn('Bad_Name');
    expect(fnRes.status).toBe(400);
  });

  it('rejects bad JSON, missing fields and bad config with 400 naming the problem', async () => {
    const bad = await t.admin('PUT', '/admin/functions/badjson', '{"source": ');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'bad_request', message: expect.stringContaining('not valid JSON') });

    const missing = await t.admin('PUT', '/admin/functions/badjson', { filename: 'x.ts' });
    expect(missing.status).toBe(400);
    expect((await missing.json()).message).toContain('source');

    const config = await t.deploy('badjson', SOURCES.hello, { memoryMb: 'lots' });
    expect(config.status).toBe(400);
    expect((await config.json()).message).toContain('memoryMb');

    const filename = await t.admin('PUT', '/admin/functions/badjson', { source: SOURCES.hello, filename: '../../etc/passwd.ts' });
    expect(filename.status).toBe(400);
  });

  it('answers a compile error with 422 and file:line:col while the previous version keeps serving', async () => {
    expect((await t.deploy('stable', SOURCES.version('good'))).status).toBe(201);
    const res = await t.deploy('stable', `export default {\n  fetch() {\n    return new Response('x' +);\n  },\n};\n`);
    expect(res.status).toBe(422);
    const body = await res.json();
    expect(body.error).toBe('compile_error');
    expect(body.message).toMatch(/stable\.ts:3:\d+: /);
    expect(await (await t.fn('stable')).text()).toBe('good');
    expect((await (await t.admin('GET', '/admin/functions/stable')).json()).version).toBe(1);
  });

  it('answers unknown functions and routes with 404 and unsupported admin methods with 405', async () => {
    const res = await t.fn('does-not-exist', '/x');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'not_found', message: expect.stringContaining('does-not-exist') });
    expect((await fetch(`${t.url}/nowhere`)).status).toBe(404);
    expect((await t.admin('POST', '/admin/functions/x', {})).status).toBe(405);
  });

  it('serves health, readiness and metrics', async () => {
    const health = await fetch(`${t.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(health.headers.get('x-request-id')).toBeTruthy();
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    const metrics = await fetch(`${t.url}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    for (const name of ['faas_deploys_total{outcome="ok"}', 'faas_deploys_total{outcome="compile_error"}', 'faas_queue_depth', 'process_cpu_user_seconds_total']) {
      expect(text).toContain(name);
    }
  });
});
