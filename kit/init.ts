/**
 * `faas init [dir] [--template hello|json-api|cron|kv]`: a function project that typechecks, runs
 * with `faas dev` and passes its first test as it is: the entry and its config (with `$schema`),
 * faas-env.d.ts from `faas types`, a tsconfig.json on faas/types (no DOM), a package.json with
 * dev/deploy/test scripts and faas as a dependency, and a test on faas/testing.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUNCTION_NAME } from '../contract/config.ts';
import { FaasError } from '../contract/errors.ts';
import { ENV_TYPES_FILE, generateEnvTypes } from './env-types.ts';

export const TEMPLATES = ['hello', 'json-api', 'cron', 'kv'] as const;
export type TemplateName = (typeof TEMPLATES)[number];

export interface InitOptions {
  template?: TemplateName;
  /** The function's name (default: from the directory's name). */
  name?: string;
  /** The package.json dependency on faas (default: `file:` this faas installation). */
  faas?: string;
}

export interface InitResult {
  dir: string;
  name: string;
  files: string[];
}

const HERE = dirname(fileURLToPath(import.meta.url));
/** This faas's package directory: the nearest one above kit/ (sources) or <out>/kit/ (a build) with a package.json. */
const PACKAGE_ROOT = packageRoot(resolve(HERE, '..'));

function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(HERE, '..');
  }
}
const own = createRequire(import.meta.url)(join(PACKAGE_ROOT, 'package.json')) as {
  dependencies: Record<string, string>;
  devDependencies?: Record<string, string>;
};

/** A function name from a directory name: `My API (v2)` → `my-api-v2`. */
export function functionNameFrom(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return FUNCTION_NAME.test(name) ? name : 'hello';
}

export function initProject(dir: string, options: InitOptions = {}): InitResult {
  const template = options.template ?? 'hello';
  if (!TEMPLATES.includes(template)) throw new FaasError('bad_request', `unknown template "${template}" (choose ${TEMPLATES.join(', ')})`);
  const name = options.name ?? functionNameFrom(dir);
  if (!FUNCTION_NAME.test(name)) throw new FaasError('bad_request', `invalid function name "${name}": must match ${FUNCTION_NAME.source}`);
  const root = resolve(dir);
  const files = projectFiles(name, template, options.faas ?? `file:${PACKAGE_ROOT}`);
  if (existsSync(root)) {
    const clash = Object.keys(files).filter((f) => existsSync(join(root, f)));
    if (clash.length > 0) throw new FaasError('bad_request', `${root} already has ${clash.join(', ')}: faas init writes into a new or empty directory`);
    if (readdirSync(root).includes('package.json')) throw new FaasError('bad_request', `${root} already has a package.json`);
  }
  const written: string[] = [];
  for (const [file, text] of Object.entries(files)) {
    const path = join(root, file);
    mkdirSync(dirname(path), { recursive: true });
    // 'wx': never overwrite, even a file that appeared since the check above
    writeFileSync(path, text, { flag: 'wx' });
    written.push(file);
  }
  const envTypes = generateEnvTypes(join(root, 'functions'));
  writeFileSync(envTypes.file, envTypes.text, { flag: 'wx' });
  written.push(relative(root, envTypes.file));
  return { dir: root, name, files: written };
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function projectFiles(name: string, template: TemplateName, faasSpec: string): Record<string, string> {
  const t = TEMPLATE_SOURCES[template];
  const entry = `functions/${name}.ts`;
  return {
    'package.json': json({
      name,
      private: true,
      type: 'module',
      scripts: {
        dev: 'faas dev functions',
        deploy: `faas deploy ${entry} --name ${name}`,
        test: 'vitest run',
        typecheck: 'tsc --noEmit',
        types: 'faas types functions',
      },
      devDependencies: {
        faas: faasSpec,
        typescript: own.dependencies.typescript ?? own.devDependencies?.typescript,
        vitest: own.devDependencies?.vitest ?? own.dependencies.vitest,
      },
    }),
    'tsconfig.json': json({
      compilerOptions: {
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'Bundler',
        // the sandbox's globals come from faas/types: the DOM lib would offer many it does not have
        lib: ['ESNext'],
        types: ['faas/types'],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        isolatedModules: true,
        verbatimModuleSyntax: true,
      },
      include: ['functions', 'test'],
    }),
    [entry]: t.source,
    [`functions/${name}.faas.json`]: json({ $schema: '../node_modules/faas/types/faas-config.schema.json', ...t.config }),
    [`test/${name}.test.ts`]: t.test(name),
    '.gitignore': 'node_modules/\n.faas/\n*.qbc\n',
    'README.md': `# ${name}\n\nA faas function (template ${template}).\n\n\`\`\`sh\nnpm install\nnpm test            # the function in the real sandbox (faas/testing)\nnpm run dev         # faas dev: serves functions/ on http://127.0.0.1:8080/fn/${name} and reloads on change\nnpm run typecheck   # tsc on faas/types\nnpm run types       # regenerate functions/${ENV_TYPES_FILE} after changing the config\nnpm run deploy      # to the gateway at $FAAS_URL with $FAAS_ADMIN_TOKEN\n\`\`\`\n`,
  };
}

interface Template {
  source: string;
  config: Record<string, unknown>;
  test(name: string): string;
}

const testHeader = (name: string) => `import { afterAll, beforeAll, expect, it } from 'vitest';
import { createFunction, type TestFunction } from 'faas/testing';

let fn: TestFunction;
beforeAll(async () => {
  // compiled and run in the real sandbox, with the limits of functions/${name}.faas.json
  // (paths are relative to the project: \`npm test\` runs there)
  fn = await createFunction({ entry: 'functions/${name}.ts' });
});
afterAll(() => fn.close());
`;

const TEMPLATE_SOURCES: Record<TemplateName, Template> = {
  hello: {
    config: {},
    source: `export default {
  async fetch(request, env, ctx): Promise<Response> {
    const url = new URL(request.url);
    const who = url.searchParams.get('name') ?? 'world';
    return new Response(\`Hello, \${who}!\`, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
  },
} satisfies ExportedHandler<Env>;
`,
    test: (name) => `${testHeader(name)}
it('says hello', async () => {
  const res = await fn.fetch('/?name=faas');
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('Hello, faas!');
});
`,
  },
  'json-api': {
    config: {},
    source: `interface Todo {
  id: number;
  title: string;
  done: boolean;
}

const todos: Todo[] = [{ id: 1, title: 'try faas', done: true }];

function json(data: unknown, status = 200): Response {
  return Response.json(data, { status });
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/todos' && request.method === 'GET') {
      const done = url.searchParams.get('done');
      const items = done === null ? todos : todos.filter((t) => String(t.done) === done);
      return json({ items, count: items.length });
    }
    if (url.pathname === '/todos' && request.method === 'POST') {
      const body = await request.json<Partial<Todo>>().catch(() => null);
      if (!body || typeof body.title !== 'string' || body.title.length === 0) return json({ error: 'title must be a non-empty string' }, 400);
      const todo: Todo = { id: todos.length + 1, title: body.title, done: body.done === true };
      todos.push(todo);
      return json(todo, 201);
    }
    const match = /^\\/todos\\/(\\d+)$/.exec(url.pathname);
    if (match && request.method === 'GET') {
      const todo = todos.find((t) => t.id === Number(match[1]));
      return todo ? json(todo) : json({ error: 'not found' }, 404);
    }
    return json({ error: \`no route for \${request.method} \${url.pathname}\` }, 404);
  },
} satisfies ExportedHandler<Env>;
`,
    test: (name) => `${testHeader(name)}
it('lists, creates and validates todos', async () => {
  const list = await fn.fetch('/todos?done=true');
  expect(await list.json()).toMatchObject({ count: 1 });
  const created = await fn.fetch('/todos', { method: 'POST', body: JSON.stringify({ title: 'write a test' }) });
  expect(created.status).toBe(201);
  expect(await created.json()).toMatchObject({ id: 2, title: 'write a test', done: false });
  const invalid = await fn.fetch('/todos', { method: 'POST', body: '{}' });
  expect(invalid.status).toBe(400);
  expect((await fn.fetch('/nope')).status).toBe(404);
});
`,
  },
  cron: {
    config: { crons: ['*/5 * * * *'], kv: ['STATE'] },
    source: `export default {
  async fetch(request, env, ctx): Promise<Response> {
    const last = await env.STATE.get<{ cron: string; at: string }>('last-run', 'json');
    return Response.json({ lastRun: last });
  },
  // runs for each expression in the config's "crons" (UTC)
  async scheduled(controller, env, ctx) {
    const run = { cron: controller.cron, at: new Date(controller.scheduledTime).toISOString() };
    await env.STATE.put('last-run', JSON.stringify(run));
    console.log('ran', run.cron);
  },
} satisfies ExportedHandler<Env>;
`,
    test: (name) => `${testHeader(name)}
it('records each scheduled run', async () => {
  expect(await (await fn.fetch('/')).json()).toEqual({ lastRun: null });
  await fn.scheduled('*/5 * * * *', Date.UTC(2025, 0, 1));
  expect(await (await fn.fetch('/')).json()).toEqual({ lastRun: { cron: '*/5 * * * *', at: '2025-01-01T00:00:00.000Z' } });
  expect(await fn.kv('STATE').get('last-run', 'json')).toMatchObject({ cron: '*/5 * * * *' });
});
`,
  },
  kv: {
    config: { kv: ['COUNTER'] },
    source: `export default {
  async fetch(request, env, ctx): Promise<Response> {
    const key = new URL(request.url).pathname.slice(1) || 'hits';
    const count = Number((await env.COUNTER.get(key)) ?? '0') + 1;
    // the write finishes after the response is sent (bounded by the config's timeoutMs)
    ctx.waitUntil(env.COUNTER.put(key, String(count)));
    return Response.json({ key, count });
  },
} satisfies ExportedHandler<Env>;
`,
    test: (name) => `${testHeader(name)}
it('counts per key in KV', async () => {
  await fn.kv('COUNTER').put('visits', '41');
  expect(await (await fn.fetch('/visits')).json()).toEqual({ key: 'visits', count: 42 });
  await fn.waitUntilSettled();
  expect(await fn.kv('COUNTER').get('visits')).toBe('42');
  expect(await (await fn.fetch('/')).json()).toEqual({ key: 'hits', count: 1 });
});
`,
  },
};
