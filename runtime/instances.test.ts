import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { compileEntry } from '../compiler/index.ts';
import { verifyArtifact } from '../contract/artifact.ts';
import { Runtime } from './index.ts';
import { parseFunctionConfig } from '../contract/config.ts';

const key = randomBytes(32);
const hello = verifyArtifact((await compileEntry('functions/hello.ts', key)).bytes, key);
const request = { method: 'GET', url: 'http://localhost/', headers: [] as [string, string][], body: null };
const config = parseFunctionConfig({});
let rt: Runtime | undefined;

afterEach(() => rt?.close());

const residents = (r: Runtime) => r.stats().reduce((n, s) => n + s.instances, 0);
const pool = (r: Runtime) => r.poolStats().find((p) => p.isolation === r.defaultIsolation)!;

describe('instances', () => {
  it('a cold start takes a pooled blank sandbox and the pool refills off the request path', async () => {
    rt = await Runtime.create({ poolSize: 2 });
    expect(pool(rt)).toMatchObject({ ready: 2, misses: 0 });
    rt.deploy('a', 1, hello, config);
    const first = await rt.invoke('a', request);
    expect(first.cold).toBe(true);
    expect(pool(rt).ready).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(pool(rt)).toMatchObject({ ready: 2, misses: 0 });
    const second = await rt.invoke('a', request);
    expect(second.cold).toBe(false);
    expect(second.instanceId).toBe(first.instanceId);
  });

  it('without a pool the sandbox is created on the request path', async () => {
    rt = await Runtime.create({ poolSize: 0 });
    rt.deploy('a', 1, hello, config);
    const before = pool(rt).misses;
    expect((await rt.invoke('a', request)).cold).toBe(true);
    expect(pool(rt).misses).toBe(before + 1);
  });

  it('evicts instances idle for longer than the TTL', async () => {
    rt = await Runtime.create({ poolSize: 0, idleTtlMs: 100 });
    rt.deploy('a', 1, hello, config);
    await rt.invoke('a', request);
    expect(residents(rt)).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    expect(residents(rt)).toBe(0);
    expect((await rt.invoke('a', request)).cold).toBe(true);
  });

  it('keeps resident guest heap under the memory budget by evicting the least recently used', async () => {
    rt = await Runtime.create({ poolSize: 0, memoryBudgetBytes: 3 * 200 * 1024 });
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      rt.deploy(name, 1, hello, config);
      await rt.invoke(name, request);
    }
    const total = rt.stats().reduce((n, s) => n + s.heapBytes, 0);
    expect(total).toBeLessThanOrEqual(3 * 200 * 1024);
    const names = rt.stats().map((s) => s.name);
    expect(names).toContain('e');
    expect(names).not.toContain('a');
  });

  it('evicts by recency of use, not of deploy, and never an instance with work in flight', async () => {
    // one instance's heap, measured, so the budget holds three and a half of them
    const probe = await Runtime.create({ poolSize: 0 });
    probe.deploy('p', 1, hello, config);
    await probe.invoke('p', request);
    const heap = probe.stats()[0]!.heapBytes;
    probe.close();
    rt = await Runtime.create({ poolSize: 0, memoryBudgetBytes: Math.floor(3.5 * heap) });
    const slow = verifyArtifact(
      (await compileEntry({ source: `export default { async fetch() { await new Promise((r) => setTimeout(r, 300)); return new Response('slow'); } };`, filename: 'slow.ts', resolveDir: process.cwd() }, key)).bytes,
      key,
    );
    rt.deploy('slow', 1, slow, config);
    const inflight = rt.invoke('slow', request);
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) rt.deploy(name, 1, hello, config);
    await rt.invoke('a', request);
    await rt.invoke('b', request);
    await rt.invoke('a', request); // a is now more recent than b
    await rt.invoke('c', request); // over budget: b goes (slow is older but busy)
    let names = rt.stats().map((s) => s.name).sort();
    expect(names).toEqual(['a', 'c', 'slow']);
    await rt.invoke('d', request);
    names = rt.stats().map((s) => s.name).sort();
    expect(names).toEqual(['c', 'd', 'slow']);
    expect(new TextDecoder().decode((await inflight).response.body!)).toBe('slow');
    // slow was used until it finished: more recent than c and d
    await rt.invoke('e', request);
    names = rt.stats().map((s) => s.name).sort();
    expect(names).toEqual(['d', 'e', 'slow']);
    await rt.invoke('d', request);
    await rt.invoke('f', request);
    expect(rt.stats().map((s) => s.name).sort()).toEqual(['d', 'e', 'f']);
    expect(rt.counts().instanceEvictions).toBe(4);
  });

  it('a redeploy serves the new version while the old one finishes in-flight work', async () => {
    rt = await Runtime.create({ poolSize: 0 });
    const slow = verifyArtifact(
      (await compileEntry({ source: `export default { async fetch() { await new Promise((r) => setTimeout(r, 100)); return new Response('v1'); } };`, filename: 'v1.ts', resolveDir: process.cwd() }, key)).bytes,
      key,
    );
    const fast = verifyArtifact(
      (await compileEntry({ source: `export default { fetch() { return new Response('v2'); } };`, filename: 'v2.ts', resolveDir: process.cwd() }, key)).bytes,
      key,
    );
    rt.deploy('f', 1, slow, config);
    const inflight = rt.invoke('f', request);
    await new Promise((r) => setTimeout(r, 20));
    rt.deploy('f', 2, fast, config);
    const next = await rt.invoke('f', request);
    expect(new TextDecoder().decode(next.response.body!)).toBe('v2');
    expect(new TextDecoder().decode((await inflight).response.body!)).toBe('v1');
    await new Promise((r) => setTimeout(r, 20));
    expect(rt.stats().map((s) => s.version)).toEqual([2]);
  });

  it('an unknown function is not_found', async () => {
    rt = await Runtime.create({ poolSize: 0 });
    await expect(rt.invoke('nope', request)).rejects.toMatchObject({ code: 'not_found', status: 404 });
  });
});
