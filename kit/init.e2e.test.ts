/**
 * `faas init` end to end, as a new user would: scaffold each template into a temp directory (whose
 * name has spaces and quotes), install faas from this working tree with npm (a file: dependency,
 * offline, no install scripts: faas then runs from its sources), typecheck the project with its own
 * tsconfig, run the project's own test (vitest, faas/testing), and serve it with `faas dev` on
 * loopback: it answers, a type error in the function is reported as file:line:col and the old
 * version keeps serving, and the fixed function is hot-swapped in.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { FAAS_BIN, REPO_ROOT, tempDir, waitFor } from '../test/helpers/gateway.ts';
import { TEMPLATES } from './init.ts';

const run = promisify(execFile);
const root = tempDir('faas-init-e2e-');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

/** Runs a command in the project; resolves with its output, rejects with it on a non-zero exit. */
async function sh(cwd: string, file: string, args: string[], timeout = 180_000): Promise<string> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, timeout, env: { ...process.env, FAAS_FROM_SOURCE: '1', NODE_OPTIONS: '' } });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

async function scaffold(template: string): Promise<{ dir: string; name: string }> {
  const dir = join(root, `my "${template}" app`);
  await sh(root, process.execPath, [FAAS_BIN, 'init', dir, '--template', template, '--faas', `file:${REPO_ROOT}`]);
  // The project asks for typescript and vitest by version; with no registry at hand (tests run
  // offline) the copies this repository has installed stand in for them.
  const pkgPath = join(dir, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
  expect(pkg.devDependencies.faas).toBe(`file:${REPO_ROOT}`);
  pkg.devDependencies.typescript = `file:${join(REPO_ROOT, 'node_modules/typescript')}`;
  pkg.devDependencies.vitest = `file:${join(REPO_ROOT, 'node_modules/vitest')}`;
  writeFileSync(pkgPath, JSON.stringify(pkg, null, 2));
  await sh(dir, 'npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund']);
  return { dir, name: pkg.name };
}

describe.each(TEMPLATES)('faas init --template %s', (template) => {
  let project: { dir: string; name: string };

  it('installs from the working tree, typechecks and passes its own test', async () => {
    project = await scaffold(template);
    const { dir } = project;
    await sh(dir, process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.json']);
    const out = await sh(dir, process.execPath, [join(dir, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter', 'dot']);
    expect(out).toMatch(/1 passed/);
  });

  it.runIf(template === 'kv')('runs with faas dev: serves, reports a type error as file:line:col, hot-swaps the fix', async () => {
    const { dir, name } = project;
    const proc = spawn(process.execPath, [join(dir, 'node_modules/faas/bin/faas.js'), 'dev', 'functions', '--port', '0', '--host', '127.0.0.1', '--data', '.faas', '--workers', '0'], {
      cwd: dir,
      env: { ...process.env, FAAS_FROM_SOURCE: '1', FAAS_ADMIN_TOKEN: 'e2e' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(proc);
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    try {
      const url = await waitFor(() => /ready: \d+ function\(s\) at (\S+)\/fn\/<name>/.exec(stderr)?.[1], { timeoutMs: 90_000, what: `faas dev to start\n${stderr}` });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const first = await fetch(`${url}/fn/${name}/visits`);
      expect(await first.json()).toEqual({ key: 'visits', count: 1 });

      const entry = join(dir, 'functions', `${name}.ts`);
      const source = readFileSync(entry, 'utf8');
      writeFileSync(entry, source.replace("const key = new URL(request.url).pathname.slice(1) || 'hits';", "const key: number = new URL(request.url).pathname.slice(1) || 'hits';"));
      await waitFor(() => /functions\/[^:\s]+\.ts:\d+:\d+: error TS2322/.test(stderr), { timeoutMs: 90_000, what: `the type error to be reported\n${stderr}` });
      // the old version keeps serving
      expect((await fetch(`${url}/fn/${name}/visits`)).status).toBe(200);

      writeFileSync(entry, source.replace('return Response.json({ key, count });', 'return Response.json({ key, count, v: 2 });'));
      await waitFor(async () => ((await (await fetch(`${url}/fn/${name}/v2`)).json()) as { v?: number }).v === 2, { timeoutMs: 90_000, everyMs: 250, what: `the fix to be served\n${stderr}` });
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once('exit', r)));
    }
  });
});
