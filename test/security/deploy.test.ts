/**
 * Attacks through the deploy path: uploaded source that makes the gateway read its own files while
 * compiling, top-level code that spins in the handler probe, artifact files swapped behind the
 * registry's back, and oversized deploy input.
 */
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE_CPU_MS } from '../../compiler/bytecode.ts';
import { SOURCES, tempDir } from '../helpers/gateway.ts';
import { bounded, startAttackGateway, type AttackGateway } from './harness.ts';

const CANARY = `canary-${Math.random().toString(36).slice(2)}-do-not-leak`;
const MUST_BUNDLE = 'imports must be bundled by faas deploy';
const fetchReturning = (expr: string) => `\nexport default { fetch: () => new Response(String(${expr})) };\n`;

interface DeployError {
  status: number;
  error: string;
  message: string;
}

async function deployRaw(t: AttackGateway, name: string, body: unknown): Promise<DeployError> {
  const res = await t.admin('PUT', `/admin/functions/${name}`, body);
  const text = await res.text();
  let parsed: { error?: string; message?: string } = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    // reported below through the status
  }
  return { status: res.status, error: parsed.error ?? '', message: parsed.message ?? text };
}

describe('uploaded source cannot read host files', () => {
  let t: AttackGateway;
  /** Files whose content must never come back: the data dir's own, the environment, the gateway's packages. */
  let secrets: string[];
  let targets: string[];

  beforeAll(async () => {
    t = await startAttackGateway();
    writeFileSync(join(t.dataDir, 'canary.txt'), CANARY);
    writeFileSync(join(t.dataDir, 'canary.json'), JSON.stringify({ canary: CANARY }));
    const key = join(t.dataDir, 'signing.key');
    secrets = [CANARY, t.token, ...(existsSync(key) ? [readFileSync(key).toString('hex'), readFileSync(key).toString('base64')] : [])];
    targets = [
      join(t.dataDir, 'canary.txt'),
      join(t.dataDir, 'signing.key'),
      join(t.dataDir, 'faas.db'),
      join(t.dataDir, 'faas.db-wal'),
      '/proc/self/environ',
      '/etc/passwd',
      // Relative to wherever a resolver might start: the cwd, the data dir, its old build/ folder.
      relative(process.cwd(), join(t.dataDir, 'canary.txt')),
      './canary.txt',
      '../canary.txt',
      `../../../../../../../../..${join(t.dataDir, 'canary.txt')}`,
      `file://${join(t.dataDir, 'canary.txt')}`,
    ];
  });
  afterAll(() => t?.close());

  async function expectRefused(name: string, source: string): Promise<void> {
    const res = await deployRaw(t, name, { source, filename: `${name}.ts` });
    expect(res.status, `${res.message}\n--- for source:\n${source}`).toBe(422);
    expect(res.error).toBe('compile_error');
    expect(res.message).toContain(MUST_BUNDLE);
    for (const secret of secrets) expect(res.message).not.toContain(secret);
    // Neither content nor names of what a resolver or a glob would have found.
    expect(res.message).not.toMatch(/PATH=|root:x:0:0|package\.json|tsconfig|node_modules/);
  }

  const importForms: [string, (path: string) => string][] = [
    ['import', (p) => `import s from ${JSON.stringify(p)};${fetchReturning('s')}`],
    ['import with type text', (p) => `import s from ${JSON.stringify(p)} with { type: "text" };${fetchReturning('s')}`],
    ['import with type bytes', (p) => `import s from ${JSON.stringify(p)} with { type: "bytes" };${fetchReturning('s')}`],
    ['import with type json', (p) => `import s from ${JSON.stringify(p)} with { type: "json" };${fetchReturning('JSON.stringify(s)')}`],
    ['import with type file', (p) => `import s from ${JSON.stringify(p)} with { type: "file" };${fetchReturning('s')}`],
    ['export from', (p) => `export { default as s } from ${JSON.stringify(p)};${fetchReturning('1')}`],
    ['require()', (p) => `const s = require(${JSON.stringify(p)});${fetchReturning('s')}`],
    ['dynamic import()', (p) => `const s = await import(${JSON.stringify(p)});${fetchReturning('s.default')}`],
  ];

  for (const [form, make] of importForms) {
    it(`refuses ${form} of any path with compile_error, reading nothing`, async () => {
      for (const target of targets) await expectRefused('reader', make(target));
      await t.assertHealthy();
    });
  }

  it('refuses bare package names that would resolve into the gateway own node_modules', async () => {
    for (const pkg of ['zod', 'better-sqlite3', 'esbuild/lib/main.js', 'hono', 'node:fs', 'fs', '@hono/node-server']) {
      await expectRefused('reader', `import s from ${JSON.stringify(pkg)};${fetchReturning('s')}`);
    }
    await t.assertHealthy();
  });

  it('refuses glob imports, which esbuild would expand from its working directory', async () => {
    for (const source of [
      `const read = (f: string) => import(\`./\${f}.json\`);${fetchReturning('read')}`,
      `const read = (f: string) => import(\`../\${f}\`);${fetchReturning('read')}`,
      `const read = (f: string) => import(/* comment */ "./" + f);${fetchReturning('read')}`,
      `const read = (f: string) => require(\`../../\${f}.key\`);${fetchReturning('read')}`,
      `const read = (f: string) => require("./" + f + ".json");${fetchReturning('read')}`,
      `const read = (f: string) => \\u0072equire("../" + f);${fetchReturning('read')}`,
    ]) {
      await expectRefused('globber', source);
    }
    await t.assertHealthy();
  });

  it('refuses a source-map comment that links a file, in every comment form', async () => {
    for (const target of targets) {
      for (const comment of [`//# sourceMappingURL=${target}`, `//@ sourceMappingURL=${target}`, `/*# sourceMappingURL=${target} */`]) {
        await expectRefused('mapper', `${fetchReturning('1')}${comment}\n`);
        await expectRefused('mapper', `const x = 1; ${comment}${fetchReturning('x')}`);
      }
    }
    await t.assertHealthy();
  });

  it('never lets an inline source map pull in the files its sources name', async () => {
    const canaryPath = join(t.dataDir, 'canary.txt');
    for (const sources of [[canaryPath], [`file://${canaryPath}`], [relative(process.cwd(), canaryPath)]]) {
      const map = { version: 3, sources, names: [], mappings: 'AAAA' };
      const source = `export default { fetch() { throw new Error("mapped"); } };\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
      const res = await deployRaw(t, 'inline-map', { source, filename: 'inline-map.js' });
      expect(res.status, res.message).toBe(201);
      // Nothing the guest can reach (its error and stack) and nothing stored carries the file.
      const invoked = await t.fn('inline-map');
      expect(invoked.status).toBe(500);
      expect(await invoked.text()).not.toContain(CANARY);
      const dir = join(t.dataDir, 'artifacts', 'inline-map');
      for (const file of readdirSync(dir)) expect(readFileSync(join(dir, file)).toString('latin1')).not.toContain(CANARY);
    }
    await t.assertHealthy();
  });

  it('still deploys what faas deploy sends (a bundle with its map inline) and a source that only mentions a map comment in a string', async () => {
    const map = { version: 3, sources: ['src/app.ts'], sourcesContent: ['export default {}'], names: [], mappings: 'AAAA' };
    const cliStyle = `${fetchReturning('"ok"')}//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
    expect((await deployRaw(t, 'cli-style', { source: cliStyle, filename: 'app.js' })).status).toBe(201);
    expect(await (await t.fn('cli-style')).text()).toBe('ok');
    await t.deployOk('mentions', `const s = "//# sourceMappingURL=" + "x";${fetchReturning('s')}`);
    expect(await (await t.fn('mentions')).text()).toBe('//# sourceMappingURL=x');
    await t.assertHealthy();
  });
});

describe('the handler probe runs off the gateway thread, under a CPU limit', () => {
  let t: AttackGateway;
  beforeAll(async () => {
    t = await startAttackGateway();
  });
  afterAll(() => t?.close());

  const HOSTILE_TOP_LEVELS = [
    'while (true) {}',
    'for (;;) { Math.random(); }',
    'await Promise.resolve(); for (;;) {}',
    'Promise.resolve().then(() => { for (;;) {} });',
    'const r = /(a+)+$/.test("a".repeat(40) + "b");',
  ];

  /**
   * Runs `deploys` while asking the neighbour one request after another; returns how many of
   * those requests completed while some deploy was still compiling. A gateway thread stuck in
   * the probe would serve none of them until the probe ended (and the deploy with it).
   */
  async function neighbourAnswersDuring(deploys: Promise<DeployError>[]): Promise<{ served: number; results: DeployError[] }> {
    let pending = true;
    const all = Promise.all(deploys).finally(() => (pending = false));
    let served = 0;
    while (pending) {
      await t.assertHealthy(5000);
      if (pending) served++;
    }
    return { served, results: await all };
  }

  function expectProbeRefusal(res: DeployError): void {
    expect(res.status, res.message).toBe(422);
    expect(res.error).toBe('compile_error');
    expect(res.message).toContain(`exceeded the handler probe's CPU limit of ${PROBE_CPU_MS} ms`);
  }

  it('refuses a while(true){} top level while the neighbour keeps answering', async () => {
    const { served, results } = await bounded(30_000, 'hostile deploy', () =>
      neighbourAnswersDuring([deployRaw(t, 'spinner', { source: `while (true) {}${fetchReturning('1')}`, filename: 'spinner.ts' })]),
    );
    expectProbeRefusal(results[0]!);
    expect(served).toBeGreaterThanOrEqual(3);
    expect((await t.admin('GET', '/admin/functions/spinner')).status).toBe(404);
    await t.assertHealthy();
  });

  it('refuses 5 concurrent hostile top levels (loops, promise jobs, a catastrophic regex) while the neighbour keeps answering', async () => {
    const { served, results } = await bounded(60_000, 'hostile deploys', () =>
      neighbourAnswersDuring(
        HOSTILE_TOP_LEVELS.map((top, i) => deployRaw(t, `spinner-${i}`, { source: `${top}${fetchReturning('1')}`, filename: `spinner-${i}.ts` })),
      ),
    );
    for (const res of results) expectProbeRefusal(res);
    expect(served).toBeGreaterThanOrEqual(5);
    await t.assertHealthy();
  });

  it('refuses a default export whose handler getter spins, and then deploys normally', async () => {
    const res = await bounded(30_000, 'getter deploy', () =>
      deployRaw(t, 'getter', { source: 'export default { get fetch() { for (;;) {} } };', filename: 'getter.ts' }),
    );
    expectProbeRefusal(res);
    await t.deployOk('after-spin', SOURCES.version('after'));
    expect(await (await t.fn('after-spin')).text()).toBe('after');
    await t.assertHealthy();
  });
});

describe('the registry loads only the artifact recorded for each version', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A data dir with alpha and beta deployed, the gateway stopped; returns their records. */
  async function deployed() {
    const dataDir = tempDir('faas-swap-');
    dirs.push(dataDir);
    const t = await startAttackGateway({ dataDir, keepData: true });
    await t.deployOk('alpha', SOURCES.version('I am alpha'));
    await t.deployOk('beta', SOURCES.version('I am beta'));
    const alpha = t.gw.registry.get('alpha')!;
    const beta = t.gw.registry.get('beta')!;
    await t.close();
    return { dataDir, alpha, beta };
  }

  async function restartExpectingBetaRebuilt(dataDir: string): Promise<void> {
    const t = await startAttackGateway({ dataDir, keepData: true });
    try {
      // discovered when beta is first started, rebuilt from its stored source, and that request served
      expect(await (await t.fn('beta')).text()).toBe('I am beta');
      expect(await (await t.fn('alpha')).text()).toBe('I am alpha');
      expect(t.logs.some((l) => l.msg === 'rebuilding function from stored source' && l.function === 'beta' && l.error === 'artifact_invalid')).toBe(true);
      await t.assertHealthy();
    } finally {
      await t.close();
    }
  }

  it('rebuilds a function whose artifact file was swapped for another validly signed one', async () => {
    const { dataDir, alpha, beta } = await deployed();
    copyFileSync(join(dataDir, alpha.artifact), join(dataDir, beta.artifact));
    await restartExpectingBetaRebuilt(dataDir);
  });

  it('rebuilds a function whose database row points at another function artifact with its sha256', async () => {
    const { dataDir, alpha } = await deployed();
    const db = new Database(join(dataDir, 'faas.db'));
    db.prepare('UPDATE functions SET artifact = ?, sha256 = ? WHERE name = ?').run(alpha.artifact, alpha.sha256, 'beta');
    db.close();
    await restartExpectingBetaRebuilt(dataDir);
  });

  it('never reads an artifact path from the database that leaves the data directory', async () => {
    const { dataDir, alpha } = await deployed();
    // A validly signed artifact (alpha's) outside the data dir, and beta's row pointing at it.
    const outside = `${dataDir}-outside.qbc`;
    dirs.push(outside);
    copyFileSync(join(dataDir, alpha.artifact), outside);
    const db = new Database(join(dataDir, 'faas.db'));
    db.prepare('UPDATE functions SET artifact = ?, sha256 = ? WHERE name = ?').run(`../${basename(outside)}`, alpha.sha256, 'beta');
    db.close();
    await restartExpectingBetaRebuilt(dataDir);
  });
});

describe('deploy input is bounded', () => {
  let t: AttackGateway;
  beforeAll(async () => {
    t = await startAttackGateway();
  });
  afterAll(() => t?.close());

  async function expectBadRequest(body: unknown, message: RegExp): Promise<void> {
    const res = await bounded(20_000, 'deploy', () => deployRaw(t, 'bounded', body));
    expect(res.status, res.message.slice(0, 300)).toBe(400);
    expect(res.error).toBe('bad_request');
    expect(res.message).toMatch(message);
    expect(res.message.length).toBeLessThan(1024);
  }

  it('refuses huge file names and names with path separators or NUL', async () => {
    const source = SOURCES.hello;
    await expectBadRequest({ source, filename: `${'a'.repeat(1_000_000)}.ts` }, /filename: must be at most 128 characters/);
    for (const filename of ['../../etc/passwd.ts', 'dir/index.ts', 'dir\\index.ts', 'index\0.ts', '/abs.ts', '.hidden.ts']) {
      await expectBadRequest({ source, filename }, /filename: must be a plain file name/);
    }
    await expectBadRequest({ source, filename: 'index.txt' }, /filename: must end in \.ts/);
    await t.assertHealthy();
  });

  it('refuses configs with enormous lists and maps', async () => {
    const source = SOURCES.hello;
    const many = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));
    await expectBadRequest({ source, config: { env: Object.fromEntries(many(100_000, (i) => `K${i}`).map((k) => [k, 'v'])) } }, /env: must have at most 256 entries/);
    await expectBadRequest({ source, config: { secrets: Object.fromEntries(many(10_000, (i) => `K${i}`).map((k) => [k, 'v'])) } }, /secrets: must have at most 256 entries/);
    await expectBadRequest({ source, config: { allowedHosts: many(1_000_000, () => 'a.io') } }, /allowedHosts: must have at most 256 entries/);
    await expectBadRequest({ source, config: { allowedHosts: [`${'a'.repeat(100_000)}.com`] } }, /allowedHosts\.0: must be at most 261 characters/);
    await expectBadRequest({ source, config: { kv: many(100_000, (i) => `NS${i}`) } }, /kv: must have at most 64 entries/);
    await expectBadRequest({ source, config: { crons: many(100_000, () => '* * * * *') } }, /crons: must have at most 32 entries/);
    await expectBadRequest({ source, config: { env: { BIG: 'x'.repeat(100_000) } } }, /env\.BIG: must be at most 64 KiB/);
    await expectBadRequest({ source, config: { env: { [`K${'x'.repeat(1_000_000)}`]: 'v' } } }, /env\.Kx+…: invalid key: must be at most 128 characters/);
    await expectBadRequest(
      { source, config: { env: Object.fromEntries(many(20, (i) => `K${i}`).map((k) => [k, 'x'.repeat(60_000)])) } },
      /env and secret values must be at most 1 MiB together/,
    );
    await expectBadRequest({ source, config: Object.fromEntries(many(200_000, (i) => `k${i}`).map((k) => [k, 1])) }, /config: has 200000 keys; the known keys are memoryMb/);
    await t.assertHealthy();
  });
});
