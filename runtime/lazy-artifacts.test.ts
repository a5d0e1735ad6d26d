import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { compileEntry } from '../compiler/index.ts';
import { verifyArtifact, type Artifact } from '../contract/artifact.ts';
import { parseFunctionConfig } from '../contract/config.ts';
import { FaasError } from '../contract/errors.ts';
import { Runtime, type ArtifactSource } from './index.ts';

const key = randomBytes(32);
const hello = verifyArtifact((await compileEntry('functions/hello.ts', key)).bytes, key);
const request = { method: 'GET', url: 'http://localhost/', headers: [] as [string, string][], body: null };
const config = parseFunctionConfig({});
let rt: Runtime | undefined;

afterEach(() => rt?.close());

/** An artifact source that counts its loads and can be made slow or failing. */
function source(artifact: Artifact, opts: { delayMs?: number; failures?: number } = {}): ArtifactSource & { loads: number } {
  let failures = opts.failures ?? 0;
  const s = {
    sha256: artifact.header.sha256,
    loads: 0,
    async load(): Promise<Artifact> {
      s.loads++;
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (failures > 0) {
        failures--;
        throw new FaasError('artifact_invalid', 'the stored artifact does not verify');
      }
      return artifact;
    },
  };
  return s;
}

describe('artifacts loaded on first use', () => {
  it('a deployed function holds no artifact until it is invoked', async () => {
    rt = await Runtime.create({ poolSize: 0 });
    const s = source(hello);
    rt.deploy('a', 1, s, config);
    expect(rt.counts()).toMatchObject({ deployed: 1, loaded: 0, loadedBytes: 0, resident: 0 });
    expect(s.loads).toBe(0);
    expect((await rt.invoke('a', request)).response.status).toBe(200);
    expect(s.loads).toBe(1);
    expect(rt.counts()).toMatchObject({ deployed: 1, loaded: 1, resident: 1 });
    expect(rt.counts().loadedBytes).toBeGreaterThan(0);
  });

  it('concurrent first requests share one load (single flight)', async () => {
    rt = await Runtime.create({ poolSize: 0 });
    const s = source(hello, { delayMs: 50 });
    rt.deploy('a', 1, s, config);
    const answers = await Promise.all(Array.from({ length: 16 }, () => rt!.invoke('a', request)));
    expect(answers.every((a) => a.response.status === 200)).toBe(true);
    expect(s.loads).toBe(1);
  });

  it('a failed load fails that request with its error, and the next request loads again', async () => {
    rt = await Runtime.create({ poolSize: 0 });
    const s = source(hello, { failures: 1 });
    rt.deploy('a', 1, s, config);
    await expect(rt.invoke('a', request)).rejects.toMatchObject({ code: 'artifact_invalid' });
    expect(rt.counts().loaded).toBe(0);
    expect((await rt.invoke('a', request)).response.status).toBe(200);
    expect(s.loads).toBe(2);
  });

  it('the artifact cache keeps the most recently started within its bytes; resident instances keep their own code', async () => {
    const probe = await Runtime.create({ poolSize: 0 });
    probe.deploy('p', 1, source(hello), config);
    await probe.invoke('p', request);
    const oneArtifact = probe.counts().loadedBytes;
    probe.close();
    // room for two artifacts: the third start drops the least recently started
    rt = await Runtime.create({ poolSize: 0, artifactCacheBytes: Math.floor(oneArtifact * 2.5), idleTtlMs: 60_000 });
    const sources = new Map(['a', 'b', 'c'].map((name) => [name, source(hello)]));
    for (const [name, s] of sources) rt.deploy(name, 1, s, config);
    for (const name of sources.keys()) expect((await rt.invoke(name, request)).response.status).toBe(200);
    expect(rt.counts()).toMatchObject({ deployed: 3, loaded: 2, loadedBytes: oneArtifact * 2, resident: 3, artifactEvictions: 1 });
    // a's instance still runs without its artifact being read again
    const again = await rt.invoke('a', request);
    expect(again.cold).toBe(false);
    expect(sources.get('a')!.loads).toBe(1);
  });

  it('under the memory budget, idle instances and their artifacts give way to new ones and come back on demand', async () => {
    rt = await Runtime.create({ poolSize: 0, memoryBudgetBytes: 2 * 1024 * 1024 });
    const names = Array.from({ length: 12 }, (_, i) => `f${i}`);
    const sources = names.map((name) => {
      const s = source(hello);
      rt!.deploy(name, 1, s, config);
      return s;
    });
    for (let round = 0; round < 2; round++) {
      for (const name of names) expect((await rt.invoke(name, request)).response.status).toBe(200);
    }
    const c = rt.counts();
    expect(c.instanceEvictions).toBeGreaterThan(0);
    expect(c.resident).toBeLessThan(names.length);
    // evicted ones were read again for the second round
    expect(sources.reduce((n, s) => n + s.loads, 0)).toBeGreaterThan(names.length);
  });
});
