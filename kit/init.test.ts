/**
 * `faas init`: what it writes for each template, the names it derives from odd directory names, and
 * that it never writes over anything. (kit/init.e2e.test.ts installs, typechecks, tests and serves
 * the projects.)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers/gateway.ts';
import { functionNameFrom, initProject, TEMPLATES } from './init.ts';
import { parseFunctionConfig } from '../contract/config.ts';

describe('faas init', () => {
  it.each(TEMPLATES)('template %s: entry, config with $schema, Env types, tsconfig on faas/types, scripts, a test', (template) => {
    const dir = join(tempDir('faas-init-'), 'proj');
    const { name, files } = initProject(dir, { template, faas: 'file:/somewhere/faas' });
    expect(name).toBe('proj');
    expect(files.sort()).toEqual(['.gitignore', 'README.md', 'functions/faas-env.d.ts', 'functions/proj.faas.json', 'functions/proj.ts', 'package.json', 'test/proj.test.ts', 'tsconfig.json'].sort());
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg.scripts).toMatchObject({ dev: 'faas dev functions', deploy: 'faas deploy functions/proj.ts --name proj', test: 'vitest run' });
    expect(pkg.devDependencies.faas).toBe('file:/somewhere/faas');
    expect(pkg.devDependencies.typescript).toMatch(/^\d+\.\d+\.\d+$/);
    const tsconfig = JSON.parse(readFileSync(join(dir, 'tsconfig.json'), 'utf8'));
    expect(tsconfig.compilerOptions).toMatchObject({ lib: ['ESNext'], types: ['faas/types'], strict: true });
    const config = JSON.parse(readFileSync(join(dir, 'functions/proj.faas.json'), 'utf8'));
    expect(config.$schema).toBe('../node_modules/faas/types/faas-config.schema.json');
    expect(() => parseFunctionConfig(config)).not.toThrow();
    expect(readFileSync(join(dir, 'functions/faas-env.d.ts'), 'utf8')).toContain('interface Env extends ProjEnv {}');
    expect(readFileSync(join(dir, 'functions/proj.ts'), 'utf8')).toContain('satisfies ExportedHandler<Env>');
    expect(readFileSync(join(dir, 'test/proj.test.ts'), 'utf8')).toContain("from 'faas/testing'");
  });

  it('derives a valid function name from any directory name', () => {
    expect(functionNameFrom('/x/My API (v2)')).toBe('my-api-v2');
    expect(functionNameFrom('/x/--Straße--')).toBe('stra-e');
    expect(functionNameFrom('/x/日本語')).toBe('hello');
    expect(functionNameFrom('/x/' + 'a'.repeat(100))).toBe('a'.repeat(63));
    expect(functionNameFrom('/x/"; rm -rf ~; echo "')).toBe('rm-rf-echo');
  });

  it('writes a project into a directory with spaces, quotes and non-ASCII in its name', () => {
    const dir = join(tempDir('faas-init-'), `it's "odd" $(x) ü`);
    const { name } = initProject(dir);
    expect(name).toBe('it-s-odd-x');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg.scripts.deploy).toBe('faas deploy functions/it-s-odd-x.ts --name it-s-odd-x');
  });

  it('never writes over a file, and refuses a directory that already has a project', () => {
    const dir = tempDir('faas-init-');
    mkdirSync(join(dir, 'functions'));
    writeFileSync(join(dir, 'functions', `${functionNameFrom(dir)}.ts`), 'mine');
    expect(() => initProject(dir)).toThrow(/already has functions\//);
    expect(readFileSync(join(dir, 'functions', `${functionNameFrom(dir)}.ts`), 'utf8')).toBe('mine');
    expect(existsSync(join(dir, 'package.json'))).toBe(false);
    const other = tempDir('faas-init-');
    writeFileSync(join(other, 'package.json'), '{}');
    expect(() => initProject(other, { name: 'x' })).toThrow(/already has (a )?package\.json/);
  });

  it('refuses an unknown template and an invalid name', () => {
    expect(() => initProject(tempDir(), { template: 'nope' as never })).toThrow(/unknown template "nope"/);
    expect(() => initProject(tempDir(), { name: '../evil' })).toThrow(/invalid function name/);
  });
});
