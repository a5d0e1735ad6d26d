/**
 * Versions and deployments: kept versions, rollback without a compile, gradual rollouts split per
 * request (and sticky per key), pruning, and a SIGKILL in the middle of a rollback.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway, startTestGateway, tempDir, type TestGateway } from '../../test/helpers/gateway.ts';

const VERSIONED = (v: string) => `export default { fetch() { return new Response('${v}'); } };`;

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ keepVersions: 3 });
});
afterAll(() => t?.close());

async function deploy(name: string, text: string, extra: object = {}): Promise<any> {
  const res = await t.admin('PUT', `/admin/functions/${name}`, { source: VERSIONED(text), filename: `${name}.ts`, ...extra });
  const body = await res.json();
  if (res.status !== 201) throw new Error(`deploy ${name}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

const deploysCounted = async () => {
  const m = /faas_deploys_total\{outcome="ok"\} (\d+)/.exec(await (await fetch(`${t.url}/metrics`)).text());
  return Number(m?.[1] ?? 0);
};

describe('versions and rollback', () => {
  it('lists kept versions with sha256, size, time and who deployed them; a rollback serves an old one with no compile', async () => {
    await deploy('rb', 'one');
    await deploy('rb', 'two');
    const versions = await (await t.admin('GET', '/admin/functions/rb/versions')).json();
    expect(versions).toEqual([
      { version: 2, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), bytecodeBytes: expect.any(Number), deployedAt: expect.any(String), deployedBy: 'root', origin: 'api', percent: 100 },
      expect.objectContaining({ version: 1, deployedBy: 'root', percent: 0 }),
    ]);
    expect(await (await t.fn('rb')).text()).toBe('two');
    const compiled = await deploysCounted();
    const res = await t.admin('POST', '/admin/functions/rb/rollback', {});
    expect(res.status).toBe(200);
    expect((await res.json()).version).toBe(1);
    expect(await (await t.fn('rb')).text()).toBe('one');
    // no compile: no deploy counted, and the live version is the kept v1, not a new v3
    expect(await deploysCounted()).toBe(compiled);
    expect((await (await t.admin('GET', '/admin/functions/rb')).json()).sha256).toBe(versions[1].sha256);
    // forward again to an explicit version
    expect((await t.admin('POST', '/admin/functions/rb/rollback', { version: 2 })).status).toBe(200);
    expect(await (await t.fn('rb')).text()).toBe('two');
    const missing = await t.admin('POST', '/admin/functions/rb/rollback', { version: 99 });
    expect(missing.status).toBe(404);
    expect((await missing.json()).message).toMatch(/version 99 of function "rb" is not kept/);
  });

  it('keeps the newest N versions and deletes the older ones with their artifact files', async () => {
    const recs = [];
    for (let i = 1; i <= 5; i++) recs.push(await deploy('pruned', `p${i}`));
    const versions = await (await t.admin('GET', '/admin/functions/pruned/versions')).json();
    expect(versions.map((v: any) => v.version)).toEqual([5, 4, 3]);
    const file = (v: number, sha: string) => join(t.dataDir, `artifacts/pruned/${v}-${sha.slice(0, 16)}.qbc`);
    expect(existsSync(file(1, recs[0].sha256))).toBe(false);
    expect(existsSync(file(2, recs[1].sha256))).toBe(false);
    expect(existsSync(file(3, recs[2].sha256))).toBe(true);
    expect((await t.admin('POST', '/admin/functions/pruned/rollback', { version: 1 })).status).toBe(404);
  });
});

describe('gradual rollouts', () => {
  it('splits 90/10 per request (within a few percent over 1,000 requests) and says which version answered', async () => {
    await deploy('split', 'old');
    const rec = await deploy('split', 'new', { percent: 10 });
    expect(rec.split).toEqual([
      { version: 2, percent: 10 },
      { version: 1, percent: 90 },
    ]);
    // the version with the larger share stays the primary one
    expect(await (await t.admin('GET', '/admin/functions/split')).json()).toMatchObject({ version: 1, split: rec.split });

    const counts: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) {
      const res = await t.fn('split');
      const body = await res.text();
      expect(res.headers.get('faas-version')).toBe(body === 'new' ? '2' : '1');
      counts[body] = (counts[body] ?? 0) + 1;
    }
    expect(counts.new! + counts.old!).toBe(1000);
    // 10% of 1000 is 100; ±40 is four standard deviations
    expect(counts.new).toBeGreaterThan(60);
    expect(counts.new).toBeLessThan(140);
    // a plain rollback ends the rollout on the version it started from
    expect((await (await t.admin('POST', '/admin/functions/split/rollback', {})).json()).version).toBe(1);
    for (let i = 0; i < 20; i++) expect(await (await t.fn('split')).text()).toBe('old');
  });

  it('is sticky for a client that names a key (header or cookie)', async () => {
    await deploy('sticky', 'a');
    await deploy('sticky', 'b', { percent: 50 });
    const seen = new Map<string, Set<string>>();
    for (let k = 0; k < 20; k++) {
      for (let i = 0; i < 5; i++) {
        const headers: Record<string, string> = i % 2 === 0 ? { 'faas-rollout-key': `user-${k}` } : { cookie: `theme=dark; faas-rollout-key=user-${k}` };
        const init = { headers };
        const body = await (await t.fn('sticky', '', init)).text();
        seen.set(`user-${k}`, (seen.get(`user-${k}`) ?? new Set()).add(body));
      }
    }
    for (const versions of seen.values()) expect(versions.size).toBe(1);
    // and the keys do spread over both versions
    expect(new Set([...seen.values()].flatMap((s) => [...s]))).toEqual(new Set(['a', 'b']));
  });

  it('sets any split over kept versions, and refuses one that does not add up', async () => {
    await deploy('manual', 'v1');
    await deploy('manual', 'v2');
    await deploy('manual', 'v3');
    const res = await t.admin('PUT', '/admin/functions/manual/deployment', { split: [{ version: 1, percent: 50 }, { version: 3, percent: 50 }] });
    expect(res.status).toBe(200);
    const bodies = new Set<string>();
    for (let i = 0; i < 60; i++) bodies.add(await (await t.fn('manual')).text());
    expect(bodies).toEqual(new Set(['v1', 'v3']));
    expect((await (await t.admin('GET', '/admin/functions/manual/deployment')).json()).split).toEqual([
      { version: 1, percent: 50 },
      { version: 3, percent: 50 },
    ]);
    for (const split of [[{ version: 1, percent: 60 }, { version: 3, percent: 50 }], [{ version: 9, percent: 100 }], [], [{ version: 1, percent: 50 }, { version: 1, percent: 50 }]]) {
      const bad = await t.admin('PUT', '/admin/functions/manual/deployment', { split });
      expect([400, 404]).toContain(bad.status);
    }
    // a rollback ends the rollout: one version again
    expect((await t.admin('POST', '/admin/functions/manual/rollback', { version: 2 })).status).toBe(200);
    for (let i = 0; i < 10; i++) expect(await (await t.fn('manual')).text()).toBe('v2');
  });
});

describe('SIGKILL during a rollback', () => {
  it('leaves one of the two versions live, and the registry agrees with what answers', { timeout: 120_000 }, async () => {
    const dataDir = tempDir('faas-rollback-kill-');
    for (const delayMs of [0, 3, 10]) {
      const child = await spawnGateway({ dataDir });
      const admin = (method: string, path: string, body?: unknown) =>
        fetch(`${child.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${child.token}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      if (delayMs === 0) {
        expect((await admin('PUT', '/admin/functions/k', { source: VERSIONED('first') })).status).toBe(201);
        expect((await admin('PUT', '/admin/functions/k', { source: VERSIONED('second') })).status).toBe(201);
      }
      const live = (await (await admin('GET', '/admin/functions/k')).json()).version as number;
      const pending = admin('POST', '/admin/functions/k/rollback', { version: live === 1 ? 2 : 1 }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, delayMs));
      await child.stop('SIGKILL');
      await pending;

      const again = await spawnGateway({ dataDir });
      try {
        const rec = await (await fetch(`${again.url}/admin/functions/k`, { headers: { authorization: `Bearer ${again.token}` } })).json();
        expect([1, 2]).toContain(rec.version);
        expect(rec.split ?? null).toBeNull();
        const answer = await (await fetch(`${again.url}/fn/k`)).text();
        expect(answer).toBe(rec.version === 1 ? 'first' : 'second');
      } finally {
        await again.stop('SIGTERM');
      }
    }
  });
});
