/**
 * The build step: `npm run build`'s output (compiled JavaScript and the prebuilt prelude) runs the
 * gateway with worker threads and needs neither tsx nor esbuild to start. Built into a directory of
 * its own from the current sources, so a stale dist/ cannot make this pass.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, waitFor } from './helpers/gateway.ts';

const run = promisify(execFile);
const OUT = join(REPO_ROOT, '.build-test');
const data = mkdtempSync(join(tmpdir(), 'faas-built-'));

beforeAll(async () => {
  rmSync(OUT, { recursive: true, force: true });
  await run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', OUT], { cwd: REPO_ROOT });
  await run(process.execPath, ['bin/run-ts.js', 'runtime/prelude/prebuild.ts', join(OUT, 'runtime/prelude/prebuilt/prelude.json')], { cwd: REPO_ROOT });
  await run(process.execPath, ['bin/run-ts.js', 'gateway/console/prebuild.ts', join(OUT, 'gateway/console/prebuilt')], { cwd: REPO_ROOT });
}, 120_000);

afterAll(() => {
  rmSync(OUT, { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
});

describe('npm run build', () => {
  it('emits runnable JavaScript with the prelude prebuilt', () => {
    for (const f of ['bin/cli.js', 'runtime/workers/worker-main.js', 'compiler/compile-worker-main.js', 'runtime/prelude/prebuilt/prelude.json', 'gateway/console/prebuilt/manifest.json']) {
      expect(existsSync(join(OUT, f)), f).toBe(true);
    }
  });

  // a fresh data directory: every example function is compiled before ready
  it('serves from the built code: worker threads start from compiled JavaScript and the prebuilt prelude', { timeout: 90_000 }, async () => {
    const stderr: string[] = [];
    const stdout: string[] = [];
    const proc = spawn(process.execPath, [join(OUT, 'bin/cli.js'), 'serve', '--port', '0', '--data', data, '--functions', join(REPO_ROOT, 'functions'), '--workers', '1'], {
      cwd: REPO_ROOT,
      env: { ...process.env, FAAS_ADMIN_TOKEN: 'built-test' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stderr.on('data', (d) => stderr.push(String(d)));
    proc.stdout.on('data', (d) => stdout.push(String(d)));
    try {
      const url = await waitFor(() => /listening on (\S+)/.exec(stderr.join(''))?.[1], { timeoutMs: 30_000, what: 'the built gateway to start' });
      await waitFor(() => stderr.join('').includes('ready'), { timeoutMs: 30_000, what: 'ready' });
      const res = await fetch(`${url}/fn/hello`);
      expect(await res.text()).toBe('Hello from faas!');
      // the console comes from the prebuilt bundle, precompressed
      const page = await fetch(`${url}/console`);
      const script = /\/console\/assets\/app-[\w]+\.js/.exec(await page.text())![0];
      const asset = await fetch(`${url}${script}`, { headers: { 'accept-encoding': 'br' } });
      expect(asset.headers.get('content-encoding')).toBe('br');
      expect((await asset.text()).length).toBeGreaterThan(100);
      // the worker thread built nothing: no "prelude" bundling, and it came up from worker-main.js
      expect(stdout.join('')).toMatch(/worker threads ready/);
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    }
  });
});
