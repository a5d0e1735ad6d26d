/**
 * Typecheck on compile: `faas compile` and `faas deploy` check a TypeScript entry with the tsconfig
 * above it and fail with `file:line:col` on a type error; `--no-check` skips the check; an entry with
 * no tsconfig, or a JavaScript one, is not checked.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli, tempDir } from '../test/helpers/gateway.ts';
import { typecheckEntry } from './typecheck.ts';

const project = tempDir('faas-check-');
mkdirSync(join(project, 'node_modules'));
symlinkSync(REPO_ROOT, join(project, 'node_modules', 'faas'));
writeFileSync(
  join(project, 'tsconfig.json'),
  JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ESNext'], types: ['faas/types'], strict: true, noEmit: true, skipLibCheck: true } }),
);
const good = join(project, 'good.ts');
writeFileSync(good, 'export default {\n  fetch(request) {\n    return new Response(new URL(request.url).pathname);\n  },\n} satisfies ExportedHandler;\n');
const bad = join(project, 'bad.ts');
writeFileSync(bad, "import { helper } from './helper';\nexport default {\n  fetch(request) {\n    const n: number = request.url;\n    return new Response(helper(n));\n  },\n} satisfies ExportedHandler;\n");
writeFileSync(join(project, 'helper.ts'), 'export const helper = (n: number): string => String(n);\n');
const usesDom = join(project, 'dom.ts');
writeFileSync(usesDom, 'export default { fetch: () => new Response(document.title) };\n');
const plain = tempDir('faas-nocheck-');
writeFileSync(join(plain, 'bad.ts'), 'const n: number = "x";\nexport default { fetch: () => new Response(String(n)) };\n');

describe('typecheck on compile', () => {
  it('passes a function that typechecks, and reports each error as file:line:col', async () => {
    expect((await typecheckEntry(good))!.errors).toEqual([]);
    const result = await typecheckEntry(bad, project);
    expect(result!.tsconfig).toBe(join(project, 'tsconfig.json'));
    expect(result!.errors).toEqual(["bad.ts:4:11: error TS2322: Type 'string' is not assignable to type 'number'."]);
    // the sandbox has no DOM: faas/types declares no document
    expect((await typecheckEntry(usesDom, project))!.errors).toEqual([expect.stringMatching(/^dom\.ts:1:44: error TS2584: Cannot find name 'document'\./)]);
  });

  it('checks nothing without a tsconfig above the entry', async () => {
    expect(await typecheckEntry(join(plain, 'bad.ts'))).toBeUndefined();
  });

  it('faas compile fails on a type error with file:line:col and compiles with --no-check', async () => {
    const failed = await runCli(['compile', bad, '-o', join(project, 'bad.qbc'), '--data', join(project, '.faas')], {}, 60_000);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/bad\.ts:4:11: error TS2322: Type 'string' is not assignable to type 'number'\./);
    expect(failed.stderr).toMatch(/1 type error \(checked with .*tsconfig\.json; --no-check skips the check\)/);
    const skipped = await runCli(['compile', bad, '--no-check', '-o', join(project, 'bad.qbc'), '--data', join(project, '.faas')], {}, 60_000);
    expect(skipped.stderr).toBe('');
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toMatch(/bad\.qbc: \d+ bytes/);
    expect(skipped.stdout).toMatch(/heap once initialized: 0\.2\d MiB of memoryMb 1; suggested memoryMb: 1/);
    const ok = await runCli(['compile', good, '-o', join(project, 'good.qbc'), '--data', join(project, '.faas')], {}, 60_000);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/\(typechecked\)/);
  }, 120_000);

  it('faas deploy checks before it sends anything', async () => {
    const args = ['deploy', bad, '--name', 'bad', '--url', 'http://127.0.0.1:9', '--token', 't'];
    const failed = await runCli(args, {}, 60_000);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/bad\.ts:4:11: error TS2322/);
    const skipped = await runCli([...args, '--no-check'], {}, 60_000);
    expect(skipped.code).toBe(1);
    expect(skipped.stderr).toMatch(/error: unavailable: cannot reach the gateway/);
  }, 120_000);
});
