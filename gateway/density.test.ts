import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SOURCES, startTestGateway, tempDir, testWorkers, waitFor, writeFiles, type TestGateway } from '../test/helpers/gateway.ts';

let t: TestGateway | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A functions directory of its own: the helper deletes the one it makes when its gateway closes, and restarts need it. */
function functionsDirWith(files: Record<string, string>): string {
  const d = tempDir('faas-density-fns-');
  dirs.push(d);
  writeFiles(d, files);
  return d;
}

const metric = async (gw: TestGateway, name: string): Promise<number> => {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`no ${name} in /metrics`);
  return Number(m[1]);
};

const N = 24;
const functions = Object.fromEntries(Array.from({ length: N }, (_, i) => [`f${String(i).padStart(2, '0')}.ts`, SOURCES.version(`I am ${i}`)]));

describe('a deployed function costs metadata until it is invoked', () => {
  it('after a restart nothing is loaded; a request loads its function; an idle one leaves memory and comes back', async () => {
    const dataDir = tempDir('faas-density-');
    dirs.push(dataDir);
    const functionsDir = functionsDirWith(functions);
    t = await startTestGateway({ dataDir, functionsDir, keepData: true });
    expect(await metric(t, 'faas_functions_deployed')).toBe(N);
    await t.close();

    t = await startTestGateway({ dataDir, functionsDir, functionIdleTtlMs: 1000 });
    // the directory is unchanged: nothing recompiled, nothing read
    const synced = await t.gw.startup.functionsDirSynced;
    expect(synced).toMatchObject({ entries: N, beforeReady: 0, unchanged: N, changed: [] });
    expect(await metric(t, 'faas_functions_deployed')).toBe(N);
    expect(await metric(t, 'faas_functions_loaded')).toBe(0);
    expect(await metric(t, 'faas_instances_resident')).toBe(0);
    expect(t.gw.runtime.get('f03')).toBeUndefined();

    expect(await (await t.fn('f03')).text()).toBe('I am 3');
    expect(await metric(t, 'faas_functions_loaded')).toBe(1);
    expect(t.gw.runtime.get('f03')).toBeDefined();

    // without requests it leaves the runtime (metadata, instances, artifact); it stays deployed
    await waitFor(() => t!.gw.runtime.get('f03') === undefined, { timeoutMs: 10_000, what: 'f03 to be forgotten' });
    expect(await metric(t, 'faas_functions_loaded')).toBe(0);
    expect(await metric(t, 'faas_functions_deployed')).toBe(N);
    expect(await (await t.fn('f03')).text()).toBe('I am 3');
  });

  it('concurrent first requests to a function not yet loaded all get its answer', async () => {
    const dataDir = tempDir('faas-density-');
    dirs.push(dataDir);
    const functionsDir = functionsDirWith(functions);
    t = await startTestGateway({ dataDir, functionsDir, keepData: true });
    await t.close();
    t = await startTestGateway({ dataDir, functionsDir });
    const answers = await Promise.all(Array.from({ length: 20 }, () => t!.fn('f07').then((r) => r.text())));
    expect(new Set(answers)).toEqual(new Set(['I am 7']));
    // once per thread that ran it (a thread loads what it runs)
    const loadedNow = await metric(t, 'faas_functions_loaded');
    expect(loadedNow).toBeGreaterThanOrEqual(1);
    expect(loadedNow).toBeLessThanOrEqual(Math.max(1, testWorkers()));
  });
});

describe('GET /admin/functions pages', () => {
  it('by name with a cursor, a prefix and a limit; bad queries are bad_request', async () => {
    t = await startTestGateway({ functions });
    const names: string[] = [];
    let pages = 0;
    for (let cursor: string | null = ''; cursor !== null && pages < 10; pages++) {
      const res = await t.admin('GET', `/admin/functions?limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { name: string }[];
      expect(page.length).toBeLessThanOrEqual(10);
      names.push(...page.map((f) => f.name));
      cursor = res.headers.get('x-faas-next-cursor');
    }
    expect(pages).toBe(3);
    expect(names).toEqual(Object.keys(functions).map((f) => f.replace(/\.ts$/, '')).sort());

    const all = await t.admin('GET', '/admin/functions');
    expect(((await all.json()) as unknown[]).length).toBe(N);
    expect(all.headers.get('x-faas-next-cursor')).toBeNull();

    const prefixed = (await (await t.admin('GET', '/admin/functions?prefix=f1')).json()) as { name: string }[];
    expect(prefixed.map((f) => f.name)).toEqual(Array.from({ length: 10 }, (_, i) => `f1${i}`));
    // LIKE wildcards are plain characters in a prefix
    expect(await (await t.admin('GET', '/admin/functions?prefix=%25')).json()).toEqual([]);
    expect(await (await t.admin('GET', '/admin/functions?prefix=f_')).json()).toEqual([]);

    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'tenant=..', 'bogus=1']) {
      const res = await t.admin('GET', `/admin/functions?${q}`);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('bad_request');
    }
  });
});

describe('a deploy reads only what its checks need', () => {
  it('routes are still checked against routed functions, quotas against the tenant’s functions', async () => {
    t = await startTestGateway({ functions: {} });
    expect((await t.deploy('routed', SOURCES.version('routed'), { routes: ['scale.example/*'] })).status).toBe(201);
    // no routes claimed: deployed beside it without any route check
    for (let i = 0; i < 5; i++) expect((await t.deploy(`plain${i}`, SOURCES.version(`plain ${i}`), {})).status).toBe(201);
    const taken = await t.deploy('thief', SOURCES.version('thief'), { routes: ['scale.example/*'] });
    expect(taken.status).toBe(409);
    expect(((await taken.json()) as { message: string }).message).toMatch(/already claimed/);
    // the same function redeployed keeps its own route
    expect((await t.deploy('routed', SOURCES.version('routed 2'), { routes: ['scale.example/*'] })).status).toBe(201);

    expect((await t.admin('POST', '/admin/tenants', { name: 'capped', quota: { functions: 2 } })).status).toBe(201);
    for (const name of ['c-one', 'c-two']) {
      expect((await t.admin('PUT', `/admin/functions/${name}`, { source: SOURCES.hello, filename: `${name}.ts`, config: {}, tenant: 'capped' })).status).toBe(201);
    }
    const over = await t.admin('PUT', '/admin/functions/c-three', { source: SOURCES.hello, filename: 'c-three.ts', config: {}, tenant: 'capped' });
    expect(over.status).toBe(403);
    expect(((await over.json()) as { error: string }).error).toBe('quota_exceeded');
    // a redeploy of one of its functions is not a new one
    expect((await t.admin('PUT', '/admin/functions/c-two', { source: SOURCES.version('again'), filename: 'c-two.ts', config: {}, tenant: 'capped' })).status).toBe(201);
    expect(await (await t.fn('plain3')).text()).toBe('plain 3');
  });
});
