import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import type { SyncOutcome } from './functions-dir.ts';
import { SOURCES, startTestGateway, tempDir, waitFor, writeFiles, type TestGateway } from '../test/helpers/gateway.ts';

const open: TestGateway[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((g) => g.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(options: Parameters<typeof startTestGateway>[0]): Promise<TestGateway> {
  const g = await startTestGateway({ keepData: true, ...options });
  open.push(g);
  return g;
}

function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

const outcomes = (g: TestGateway) => Object.fromEntries(g.gw.startup.functionsDir.map((o) => [o.name, o.outcome]));

describe('the functions directory', () => {
  it('deploys every <name>.ts|js at start with its config, skipping _files and non-entries', async () => {
    const functionsDir = dir('faas-fns-');
    writeFiles(functionsDir, {
      'hello.ts': SOURCES.hello,
      'greet.js': `export default { fetch(req, env) { return new Response('hi ' + env.WHO); } };`,
      'greet.faas.json': { env: { WHO: 'config' } },
      '_spin.ts': SOURCES.spin,
      '_shared.ts': `export const x = 1;`,
      'types.d.ts': `declare const y: number;`,
      'README.md': '# not a function',
      'Bad_Name.ts': SOURCES.hello,
    });
    const g = await start({ dataDir: dir('faas-data-'), functionsDir });
    expect(outcomes(g)).toEqual({ greet: 'deployed', hello: 'deployed' });
    expect(await (await g.fn('hello')).text()).toBe('hello');
    expect(await (await g.fn('greet')).text()).toBe('hi config');
    expect((await g.fn('_spin')).status).toBe(400);
    expect((await g.fn('spin')).status).toBe(404);
    expect(g.logs.some((l) => l.level === 40 && String(l.msg).includes('Bad_Name'))).toBe(true);
  });

  it('restarts without recompiling unchanged entries and recompiles changed ones', async () => {
    const functionsDir = dir('faas-fns-');
    const dataDir = dir('faas-data-');
    writeFiles(functionsDir, { 'a.ts': SOURCES.version('a1'), 'b.ts': SOURCES.version('b1') });
    await (await start({ dataDir, functionsDir })).close();

    writeFiles(functionsDir, { 'b.ts': SOURCES.version('b2') });
    const g = await start({ dataDir, functionsDir });
    // both were in the registry: nothing synced before ready, both checked in the background
    expect(outcomes(g)).toEqual({});
    const report = await g.gw.startup.functionsDirSynced;
    expect(report).toMatchObject({ entries: 2, beforeReady: 0, unchanged: 1, stopped: false });
    expect(report.changed.map((o) => [o.name, o.outcome])).toEqual([['b', 'deployed']]);
    expect(g.gw.startup.registry.functions).toBe(2);
    expect(await (await g.fn('a')).text()).toBe('a1');
    expect(await (await g.fn('b')).text()).toBe('b2');
    expect((await (await g.admin('GET', '/admin/functions/b')).json()).version).toBe(2);
    const metrics = await (await fetch(`${g.url}/metrics`)).text();
    expect(metrics).toContain('faas_deploys_total{outcome="ok"} 1');
  });

  it('rebuilds from the stored source when an artifact no longer verifies', async () => {
    // The key must come from the data directory for deleting it to change it.
    const envKey = process.env.FAAS_SIGNING_KEY;
    delete process.env.FAAS_SIGNING_KEY;
    onTestFinished(() => {
      if (envKey !== undefined) process.env.FAAS_SIGNING_KEY = envKey;
    });
    const dataDir = dir('faas-data-');
    const first = await start({ dataDir });
    expect((await first.deploy('keyed', SOURCES.version('still here'))).status).toBe(201);
    expect((await first.deploy('corrupt', SOURCES.version('repaired'))).status).toBe(201);
    const artifact = (await first.gw.registry.get('corrupt'))!.artifact;
    await first.close();

    // Another signing key: every artifact's signature is now wrong. And one file is damaged too.
    unlinkSync(join(dataDir, 'signing.key'));
    const path = join(dataDir, artifact);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(path, bytes);

    const g = await start({ dataDir });
    // found on the first request: rebuilt, and that request is served by the rebuilt version
    expect(await (await g.fn('keyed')).text()).toBe('still here');
    expect(await (await g.fn('corrupt')).text()).toBe('repaired');
    expect((await (await g.admin('GET', '/admin/functions/keyed')).json()).version).toBe(2);
    expect(g.logs.some((l) => l.msg === 'rebuilding function from stored source' && l.function === 'corrupt')).toBe(true);
  });
});

describe('start-up with a functions directory', () => {
  it('serves from the registry at once and checks known entries in the background; a file changed while down is picked up there', async () => {
    const functionsDir = dir('faas-fns-');
    const dataDir = dir('faas-data-');
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`u${String(i).padStart(2, '0')}.ts`] = SOURCES.version(`u${i}`);
    writeFiles(functionsDir, { ...files, 'changed.ts': SOURCES.version('old') });
    await (await start({ dataDir, functionsDir })).close();

    // while the gateway is down: one file changes, one is added
    writeFiles(functionsDir, { 'changed.ts': SOURCES.version('new'), 'added.ts': SOURCES.version('added') });
    // the changed entry's rebuild waits for the test (checkEntry runs before an entry is bundled)
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const checked: string[] = [];
    const g = await start({
      dataDir,
      functionsDir,
      checkEntry: async (path) => {
        checked.push(path.split('/').pop()!);
        if (path.endsWith('changed.ts')) await gate;
      },
    });
    // ready: the new entry was deployed first, the rest is served by the registry's versions
    expect(outcomes(g)).toEqual({ added: 'deployed' });
    expect(await (await g.fn('added')).text()).toBe('added');
    expect(await (await g.fn('u07')).text()).toBe('u7');
    await waitFor(() => checked.includes('changed.ts'), { what: 'the background sync to reach changed.ts' });
    expect(await (await g.fn('changed')).text()).toBe('old');
    const readyz = await fetch(`${g.url}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await readyz.json()).toEqual({ status: 'ready', functionsDir: 'syncing' });
    expect(await (await fetch(`${g.url}/metrics`)).text()).toMatch(/^faas_functions_dir_pending [1-9]\d*$/m);

    release();
    const report = await g.gw.startup.functionsDirSynced;
    expect(report).toMatchObject({ entries: 42, beforeReady: 1, unchanged: 40, stopped: false });
    expect(report.changed.map((o) => [o.name, o.outcome]).sort()).toEqual([['added', 'deployed'], ['changed', 'deployed']]);
    // unchanged entries cost stat calls only: never checked (nor bundled)
    expect(checked.sort()).toEqual(['added.ts', 'changed.ts']);
    expect(await (await g.fn('changed')).text()).toBe('new');
    expect(await (await fetch(`${g.url}/readyz`)).json()).toEqual({ status: 'ready', functionsDir: 'synced' });
    expect(await (await fetch(`${g.url}/metrics`)).text()).toMatch(/^faas_functions_dir_pending 0$/m);
    const line = g.logs.find((l) => l.msg === 'functions directory synced');
    expect(line).toMatchObject({ entries: 42, beforeReady: 1, unchanged: 40, deployed: 2, errors: 0 });
  });

  it('the background check leaves alone a function deployed or deleted through the API since start (no overwrite, no resurrection)', async () => {
    const functionsDir = dir('faas-fns-');
    const dataDir = dir('faas-data-');
    writeFiles(functionsDir, { 'kept.ts': SOURCES.version('file1'), 'gone.ts': SOURCES.version('gone1') });
    await (await start({ dataDir, functionsDir })).close();
    // both files change while the gateway is down: the background check will want to redeploy them
    writeFiles(functionsDir, { 'kept.ts': SOURCES.version('file2'), 'gone.ts': SOURCES.version('gone2') });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const reached = new Set<string>();
    const g = await start({ dataDir, functionsDir, checkEntry: async (path) => (reached.add(path.split('/').pop()!), await gate) });
    await waitFor(() => reached.has('kept.ts') && reached.has('gone.ts'), { what: 'the background sync to reach both entries' });
    // meanwhile, after ready, the operator deploys one of the names through the API and deletes the other
    expect((await g.deploy('kept', SOURCES.version('api'))).status).toBe(201);
    expect((await g.admin('DELETE', '/admin/functions/gone')).status).toBe(204);
    release();
    const report = await g.gw.startup.functionsDirSynced;
    expect(report.changed.filter((o) => o.outcome === 'deployed')).toEqual([]);
    expect(report.changed.map((o) => [o.name, o.outcome === 'error' && o.error.code]).sort()).toEqual([['gone', 'conflict'], ['kept', 'conflict']]);
    expect(await (await g.fn('kept')).text()).toBe('api');
    expect((await g.fn('gone')).status).toBe(404);
  });

  it('closing while the background sync waits on an entry stops it after that entry', async () => {
    const functionsDir = dir('faas-fns-');
    const dataDir = dir('faas-data-');
    writeFiles(functionsDir, { 'a.ts': SOURCES.version('a1'), 'b.ts': SOURCES.version('b1') });
    await (await start({ dataDir, functionsDir })).close();
    writeFiles(functionsDir, { 'a.ts': SOURCES.version('a2') });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reached = false;
    const g = await start({ dataDir, functionsDir, checkEntry: async () => ((reached = true), await gate) });
    await waitFor(() => reached, { what: 'the background sync to reach a.ts' });
    const closed = g.close();
    release();
    await closed;
    const report = await g.gw.startup.functionsDirSynced;
    expect(report.stopped).toBe(true);
  });
});

describe('a hostile functions directory', () => {
  it('an entry or a config that is not a regular file (a FIFO nobody writes) is an error, not a start-up that waits for a writer', async () => {
    const functionsDir = dir('faas-fns-');
    writeFiles(functionsDir, { 'hello.ts': SOURCES.hello, 'cfg.ts': SOURCES.hello });
    execFileSync('mkfifo', [join(functionsDir, 'pipe.ts')]);
    execFileSync('mkfifo', [join(functionsDir, 'cfg.faas.json')]);
    // Without the check, the gateway blocks reading them: a writer after a while ends the block
    // (the test stays bounded) and what it writes would deploy.
    const writer = spawn('sh', ['-c', `sleep 6; printf '{}' > cfg.faas.json & printf 'export default { fetch() { return new Response("p"); } };' > pipe.ts & wait`], {
      cwd: functionsDir,
      stdio: 'ignore',
    });
    onTestFinished(() => void writer.kill('SIGKILL'));
    const g = await start({ dataDir: dir('faas-data-'), functionsDir });
    const o = Object.fromEntries(g.gw.startup.functionsDir.map((x) => [x.name, x.outcome === 'error' ? x.error.code : x.outcome]));
    expect(o).toEqual({ cfg: 'bad_request', hello: 'deployed', pipe: 'bad_request' });
    expect(await (await g.fn('hello')).text()).toBe('hello');
  }, 30_000);
});

describe('faas dev (watch)', () => {
  it('hot-swaps a changed function, keeps the old version on a compile error, and finishes in-flight requests', async () => {
    const functionsDir = dir('faas-watch-');
    writeFiles(functionsDir, {
      'live.ts': SOURCES.version('v1'),
      'slow.ts': `export default { async fetch() { await new Promise((r) => setTimeout(r, 600)); return new Response('old slow'); } };`,
    });
    const seen: SyncOutcome[] = [];
    const g = await start({ dataDir: dir('faas-data-'), functionsDir, watch: true, onWatch: (o) => seen.push(o) });
    expect(await (await g.fn('live')).text()).toBe('v1');

    writeFiles(functionsDir, { 'live.ts': SOURCES.version('v2') });
    await waitFor(async () => (await (await g.fn('live')).text()) === 'v2', { what: 'v2 to be served' });

    writeFiles(functionsDir, { 'live.ts': `export default {\n  fetch() {\n    return new Response('v3' +);\n  },\n};\n` });
    const failure = await waitFor(() => seen.find((o) => o.outcome === 'error'), { what: 'the compile error' });
    expect(failure.outcome === 'error' && failure.error.message).toMatch(/live\.ts:3:\d+: /);
    expect(await (await g.fn('live')).text()).toBe('v2');

    // A config change alone redeploys too.
    writeFiles(functionsDir, { 'live.ts': `export default { fetch(r: Request, env: { V: string }) { return new Response(env.V); } };`, 'live.faas.json': { env: { V: 'from config' } } });
    await waitFor(async () => (await (await g.fn('live')).text()) === 'from config', { what: 'the config change' });

    const inflight = g.fn('slow');
    await waitFor(() => g.gw.runtime.stats().some((s) => s.name === 'slow' && s.inflight > 0), { what: 'slow to start' });
    writeFiles(functionsDir, { 'slow.ts': SOURCES.version('new slow') });
    await waitFor(async () => (await (await g.fn('slow')).text()) === 'new slow', { what: 'the new slow' });
    const old = await inflight;
    expect(old.status).toBe(200);
    expect(await old.text()).toBe('old slow');

    unlinkSync(join(functionsDir, 'slow.ts'));
    await waitFor(async () => (await g.fn('slow')).status === 404, { what: 'slow to be removed' });
    expect(seen.some((o) => o.name === 'slow' && o.outcome === 'removed')).toBe(true);
  });
});
