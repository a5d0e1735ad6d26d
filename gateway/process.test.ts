import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { SOURCES, sleep, spawnGateway, tempDir, waitFor, writeFiles, type ChildGateway } from '../test/helpers/gateway.ts';

const children: ChildGateway[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(children.map((c) => c.stop('SIGKILL')));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

async function start(options: Parameters<typeof spawnGateway>[0]): Promise<ChildGateway> {
  const child = await spawnGateway(options);
  children.push(child);
  return child;
}

const put = (child: ChildGateway, name: string, source: string, config?: object) =>
  fetch(`${child.url}/admin/functions/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${child.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ source, filename: `${name}.ts`, config }),
  });

describe('the gateway as a process', () => {
  it('serves deployed functions after a restart without redeploying or recompiling', async () => {
    const dataDir = dir('faas-restart-');
    const first = await start({ dataDir });
    expect((await put(first, 'durable', SOURCES.version('persisted'), { env: { A: 'b' } })).status).toBe(201);
    expect(await (await fetch(`${first.url}/fn/durable`)).text()).toBe('persisted');
    await first.stop('SIGKILL');

    const second = await start({ dataDir });
    const res = await fetch(`${second.url}/fn/durable`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('persisted');
    const metrics = await (await fetch(`${second.url}/metrics`)).text();
    expect(metrics).not.toMatch(/faas_deploys_total\{outcome="ok"\}/);
    await second.stop('SIGTERM');
  });

  // five gateway processes started in turn: generous for a loaded machine
  it('never leaves a broken function when killed at random points during deploys', { timeout: 120_000 }, async () => {
    const dataDir = dir('faas-sigkill-');
    const attempted = new Set<string>(['v0']);
    // Once a deploy was answered 201 it must survive the crash: the commit is fsynced before.
    let acknowledged = 0;
    let child = await start({ dataDir });
    expect((await put(child, 'target', SOURCES.version('v0'))).status).toBe(201);
    let counter = 0;
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      // Deploy continuously; kill the process at a random moment in the middle of it.
      let stop = false;
      const loop = (async () => {
        while (!stop && counter < 500) {
          const v = `v${++counter}`;
          attempted.add(v);
          const res = await put(child, 'target', SOURCES.version(v)).catch(() => null);
          if (!res) break;
          if (res.status === 201) acknowledged = Math.max(acknowledged, Number(v.slice(1)));
        }
      })();
      await sleep(40 + Math.floor(Math.random() * 250));
      stop = true;
      await child.stop('SIGKILL');
      await loop;

      child = await start({ dataDir });
      const res = await fetch(`${child.url}/fn/target`);
      expect(res.status).toBe(200);
      const body = await res.text();
      expect(attempted.has(body), `served ${body}`).toBe(true);
      expect(Number(body.slice(1))).toBeGreaterThanOrEqual(acknowledged);
      const info = await (await fetch(`${child.url}/admin/functions/target`, { headers: { authorization: `Bearer ${child.token}` } })).json();
      expect(info.name).toBe('target');
    }
    expect(counter).toBeGreaterThan(rounds);
    await child.stop('SIGKILL');
  });

  it('drains on SIGTERM: in-flight requests finish, readyz and new requests get 503, exit 0', async () => {
    const functionsDir = dir('faas-drain-fns-');
    writeFiles(functionsDir, { 'slow.ts': SOURCES.sleep, 'hello.ts': SOURCES.hello });
    const child = await start({ dataDir: dir('faas-drain-'), functionsDir });
    expect((await fetch(`${child.url}/readyz`)).status).toBe(200);
    const slow = fetch(`${child.url}/fn/slow?ms=1000`);
    await sleep(150);
    child.proc.kill('SIGTERM');
    await waitFor(async () => (await fetch(`${child.url}/readyz`)).status === 503, { what: 'readyz 503' });
    const turnedAway = await fetch(`${child.url}/fn/hello`);
    expect(turnedAway.status).toBe(503);
    expect((await turnedAway.json()).error).toBe('unavailable');
    expect(turnedAway.headers.get('retry-after')).toBe('1');
    const res = await slow;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('slept 1000');
    const exit = await child.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(child.stderr.join('\n')).toContain('SIGTERM: draining');
  });

  // The access log goes to stdout: a parent that stops reading it (or closes it) must not keep the
  // gateway from exiting on SIGTERM (pino's exit flush used to retry a full pipe forever).
  it('exits on SIGTERM when nobody reads its stdout any more', { timeout: 90_000 }, async () => {
    for (const how of ['stalled', 'closed'] as const) {
      const child = await start({ dataDir: dir(`faas-stdout-${how}-`) });
      if (how === 'stalled') child.proc.stdout!.pause();
      else child.proc.stdout!.destroy();
      // 4 KiB paths, each logged as a 404: far more than a pipe and the parent's buffer hold
      const long = 'x'.repeat(4096);
      for (let i = 0; i < 120; i++) expect((await fetch(`${child.url}/fn/nope/${long}${i}`)).status).toBe(404);
      child.proc.kill('SIGTERM');
      const exit = await Promise.race([child.exited, sleep(20_000).then(() => 'hung' as const)]);
      expect(exit, how).toEqual({ code: 0, signal: null });
    }
  });

  it('reports readyz 503 while it is still loading functions', async () => {
    const functionsDir = dir('faas-starting-fns-');
    const many: Record<string, string> = {};
    for (let i = 0; i < 20; i++) many[`f${i}.ts`] = SOURCES.version(`f${i}`);
    writeFiles(functionsDir, many);
    const child = await start({ dataDir: dir('faas-starting-'), functionsDir, untilListening: true });
    const early = await fetch(`${child.url}/readyz`);
    const ready = await waitFor(async () => (await fetch(`${child.url}/readyz`)).status === 200, { timeoutMs: 15_000, what: 'readyz 200' });
    expect(ready).toBe(true);
    expect(early.status).toBe(503);
    expect(await early.json()).toEqual({ status: 'starting' });
    expect(await (await fetch(`${child.url}/fn/f19`)).text()).toBe('f19');
    await child.stop('SIGKILL');
  });
});
