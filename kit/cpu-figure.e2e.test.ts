/**
 * The same CPU figure everywhere: `faas run` (one invocation in a fresh process) charges about the
 * guest CPU a warm gateway charges for the same code, not the several times more of an engine V8 has
 * not optimized yet. Guest CPU is measured on the wall clock while the guest runs, so the figures
 * are compared loosely (the smallest of a few runs on each side, within a factor of 2; before, a
 * fresh process charged 2.5-9x): this proves the mechanism, it is no performance target.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileEntry } from '../compiler/index.ts';
import { verifyArtifact } from '../contract/artifact.ts';
import { parseFunctionConfig } from '../contract/config.ts';
import { Runtime } from '../runtime/index.ts';
import { runCli, tempDir } from '../test/helpers/gateway.ts';

const ENTRY = new URL('./fixtures/cpu-bound.ts', import.meta.url).pathname;

describe('guest CPU in faas run and in a warm gateway', () => {
  it('is about the same figure', async () => {
    const key = randomBytes(32);
    const artifact = verifyArtifact((await compileEntry(ENTRY, key, { inThread: true })).bytes, key);
    // as `faas serve` runs it: warmed at start, then the function invoked until it is warm too
    const rt = await Runtime.create({ poolSize: 1 });
    rt.deploy('cpu', 1, artifact, parseFunctionConfig({}));
    const warm: number[] = [];
    try {
      for (let i = 0; i < 40; i++) warm.push((await rt.invoke('cpu', { method: 'GET', url: 'http://localhost/', headers: [], body: null })).usage.cpuMs);
    } finally {
      rt.close();
    }
    const served = Math.min(...warm.slice(20));

    const data = tempDir('faas-cpu-');
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const out = await runCli(['run', ENTRY, '--json', '--data', data], {}, 120_000);
      expect(out.code, out.stderr).toBe(0);
      runs.push((JSON.parse(out.stdout) as { cpuMs: number }).cpuMs);
    }
    const ran = Math.min(...runs);
    process.stderr.write(`guest CPU: faas run ${runs.map((r) => r.toFixed(1)).join(', ')} ms; warm gateway min ${served.toFixed(1)} ms (ratio ${(ran / served).toFixed(2)})\n`);
    expect(ran / served).toBeLessThan(2);
    expect(ran / served).toBeGreaterThan(0.5);
  }, 240_000);
});
