/**
 * `faas types`: the Env interfaces written from functions' configs, and that code using them
 * typechecks against faas/types (with an error where it misuses them).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BINDINGS } from '../bindings/index.ts';
import { typecheckWithTypes } from '../types/declared-globals.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { REPO_ROOT } from '../test/helpers/gateway.ts';
import { typecheckEntry } from './typecheck.ts';
import { generateEnvTypes, interfaceNameOf } from './env-types.ts';

const dir = mkdtempSync(join(tmpdir(), 'faas-types-'));
writeFileSync(join(dir, 'counter.ts'), 'export default { fetch: () => new Response("") };');
writeFileSync(join(dir, 'counter.faas.json'), JSON.stringify({ $schema: 'x', env: { GREETING: 'hi' }, secrets: { API_KEY: 's' }, kv: ['COUNTER', 'CACHE'], crons: ['*/5 * * * *', '0 0 * * *'] }));
writeFileSync(join(dir, 'json-api.ts'), 'export default { fetch: () => new Response("") };');
writeFileSync(join(dir, '_helper.ts'), 'export const x = 1;');
writeFileSync(join(dir, 'types.d.ts'), '');

describe('faas types', () => {
  it('names interfaces after functions', () => {
    expect(interfaceNameOf('json-api')).toBe('JsonApiEnv');
    expect(interfaceNameOf('hello')).toBe('HelloEnv');
    expect(interfaceNameOf('2fa')).toBe('Fn2faEnv');
  });

  it('writes each function\'s vars, secrets and bindings, skipping what faas serve skips', () => {
    const { file, text, functions } = generateEnvTypes(dir);
    expect(file).toBe(join(dir, 'faas-env.d.ts'));
    expect(functions.map((f) => f.name)).toEqual(['counter', 'json-api']);
    expect(text).toContain('interface CounterEnv {');
    expect(text).toContain('readonly GREETING: string;');
    expect(text).toContain('readonly API_KEY: string;');
    expect(text).toContain('readonly COUNTER: KVNamespace;');
    expect(text).toContain('readonly CACHE: KVNamespace;');
    expect(text).toContain('type CounterHandler = ExportedHandler<CounterEnv> & { scheduled: ExportedHandlerScheduledHandler<CounterEnv> };');
    expect(text).toContain('interface JsonApiEnv {\n}');
    // two functions: no single Env
    expect(text).not.toContain('interface Env extends');
    expect(text).not.toContain('"s"');
  });

  it('makes Env the function\'s own when there is only one', () => {
    const { text } = generateEnvTypes(join(dir, 'counter.ts'));
    expect(text).toContain('interface Env extends CounterEnv {}');
  });

  it('gives every binding that puts a value on env a type declared in faas/types', () => {
    const declared = readFileSync(new URL('../types/handlers.d.ts', import.meta.url), 'utf8');
    for (const b of BINDINGS) {
      if (!('guest' in b) || !b.guest) continue;
      expect((b.guest as { envType?: string }).envType, `binding ${b.name}: guest.envType`).toBeTruthy();
      expect(declared).toContain(`interface ${(b.guest as { envType: string }).envType}`);
    }
  });

  it('the example functions\' faas-env.d.ts is up to date (`faas types functions`)', () => {
    const { file, text } = generateEnvTypes(join(REPO_ROOT, 'functions'));
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('the example functions typecheck on faas/types (functions/tsconfig.json)', async () => {
    const dir = join(REPO_ROOT, 'functions');
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))) {
      const result = await typecheckEntry(join(dir, f), REPO_ROOT);
      expect(result?.tsconfig, f).toBe(join(dir, 'tsconfig.json'));
      expect(result!.errors, f).toEqual([]);
    }
  });

  it('typechecks code that uses the generated interfaces, and rejects misuse', () => {
    const { file, text } = generateEnvTypes(dir);
    writeFileSync(file, text);
    const user = join(dir, 'use.ts');
    writeFileSync(
      user,
      `export default {
  async fetch(request, env, ctx) {
    const n = (await env.COUNTER.get<number>('n', 'json')) ?? 0;
    ctx.waitUntil(env.CACHE.put('n', String(n + 1)));
    // @ts-expect-error: vars are strings
    const g: number = env.GREETING;
    // @ts-expect-error: not in the config
    env.OTHER;
    return new Response(env.API_KEY + g);
  },
  async scheduled(controller, env) {
    await env.COUNTER.delete(controller.cron);
  },
} satisfies CounterHandler;

// @ts-expect-error: a function with crons needs scheduled()
export const noCron = { fetch: () => new Response('') } satisfies CounterHandler;
`,
    );
    expect(typecheckWithTypes([user, file])).toEqual([]);
  });
});
