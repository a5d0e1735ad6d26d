/**
 * `faas serve --processes 2` as a real process tree on loopback: changes reach every process before
 * they are answered, /metrics covers both, a killed process fails only its own requests and is
 * replaced, SIGTERM drains both. Each request goes on a connection of its own (the kernel picks the
 * process per connection); the `faas-process` header says which answered.
 */
import { rmSync } from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCES, sleep, spawnGateway, tempDir, waitFor, type ChildGateway } from '../test/helpers/gateway.ts';
import { many, metricValue, once, processPids, type Answer } from '../test/helpers/processes.ts';

const TRICKLE = `export default {
  fetch() {
    const enc = new TextEncoder();
    const body = new ReadableStream({
      start(c) {
        c.enqueue(enc.encode('first '));
        setTimeout(() => { c.enqueue(enc.encode('rest')); c.close(); }, 3000);
      },
    });
    return new Response(body);
  },
};`;

let gw: ChildGateway;
const dataDir = tempDir('faas-procs-');

beforeAll(async () => {
  gw = await spawnGateway({ dataDir, args: ['--processes', '2'], timeoutMs: 45_000 });
}, 50_000);

afterAll(async () => {
  await gw?.stop('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

const admin = (method: string, path: string, body?: unknown) =>
  fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
const put = (name: string, source: string) => admin('PUT', `/admin/functions/${name}`, { source, filename: `${name}.ts` });

/** Every answer is `status`/`body`, and both processes answered some. */
function allFromBoth(answers: Answer[], status: number, body?: string): void {
  for (const a of answers) {
    expect(a.status).toBe(status);
    if (body !== undefined) expect(a.body).toBe(body);
  }
  expect(new Set(answers.map((a) => a.process))).toEqual(new Set(['0', '1']));
}

describe('faas serve --processes 2', () => {
  let ok = 0;

  it('a deploy, a rollback and a delete reach every process before they are answered', { timeout: 40_000 }, async () => {
    expect((await put('fan', SOURCES.version('v1'))).status).toBe(201);
    // both processes load v1 (what a later deploy must replace in each)
    const warm: Answer[] = [];
    for (let i = 0; i < 100 && new Set(warm.map((a) => a.process)).size < 2; i++) warm.push(await once(gw.url, '/fn/fan'));
    allFromBoth(warm, 200, 'v1');
    ok += warm.length;

    expect((await put('fan', SOURCES.version('v2'))).status).toBe(201);
    const afterDeploy = await many(gw.url, '/fn/fan', 50);
    allFromBoth(afterDeploy, 200, 'v2');
    ok += 50;

    const rolled = await admin('POST', '/admin/functions/fan/rollback', { version: 1 });
    expect(rolled.status).toBe(200);
    const afterRollback = await many(gw.url, '/fn/fan', 50);
    allFromBoth(afterRollback, 200, 'v1');
    ok += 50;

    expect((await admin('DELETE', '/admin/functions/fan')).status).toBeLessThan(300);
    allFromBoth(await many(gw.url, '/fn/fan', 50), 404);
  });

  it('/metrics sums the counters of every process and lists each process', async () => {
    const text = await (await fetch(`${gw.url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    expect(metricValue(text, 'faas_invocations_total{function="fan",outcome="ok"}')).toBe(ok);
    expect(metricValue(text, 'faas_processes')).toBe(2);
    expect(metricValue(text, 'faas_functions_deployed')).toBe(0);
    // per-process gauges keep a series per process
    expect(text).toMatch(/^faas_queue_depth\{process="0"\} \d+$/m);
    expect(text).toMatch(/^faas_queue_depth\{process="1"\} \d+$/m);
    expect((await processPids(gw.url)).size).toBe(2);
  });

  it('a console session made on one process works on the other; signing out or revoking on one ends it on both', { timeout: 40_000 }, async () => {
    // once() keeps no headers but faas-process: the cookie is read from a plain http.request.
    const signIn = async (token: string) => {
      const { status, headers, body } = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const req = http.request(`${gw.url}/admin/session`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' }, timeout: 15_000 }, (res) => {
          let b = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (b += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
        });
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('sign-in timed out')));
        req.end(JSON.stringify({ token }));
      });
      expect(status).toBe(201);
      return { cookie: headers['set-cookie']![0]!.split(';')[0]!, csrf: (JSON.parse(body) as { csrf: string }).csrf };
    };
    /** Requests on fresh connections until both processes have answered (bounded): every answer, by process. */
    const fromBoth = async (path: string, cookie: string) => {
      const seen = new Map<string, Answer[]>();
      for (let i = 0; i < 200 && seen.size < 2; i++) {
        const a = await once(gw.url, path, { headers: { cookie } });
        seen.set(a.process!, [...(seen.get(a.process!) ?? []), a]);
      }
      expect([...seen.keys()].sort()).toEqual(['0', '1']);
      return [...seen.values()].flat();
    };
    const statuses = (answers: Answer[]) => [...new Set(answers.map((a) => a.status))];
    const s = await signIn(gw.token);
    expect(statuses(await fromBoth('/admin/functions', s.cookie))).toEqual([200]);
    // the same session (and CSRF token) whichever process answers
    for (const a of await fromBoth('/admin/session', s.cookie)) expect(JSON.parse(a.body)).toMatchObject({ signedIn: true, csrf: s.csrf });
    const out = await once(gw.url, '/admin/session', { method: 'DELETE', headers: { cookie: s.cookie, 'x-faas-csrf': s.csrf } });
    expect(out.status).toBe(204);
    expect(statuses(await fromBoth('/admin/functions', s.cookie))).toEqual([401]);

    // a tenant token revoked through one process ends its sessions on both at once
    expect((await admin('POST', '/admin/tenants', { name: 'procs-sess' })).status).toBe(201);
    const issued = (await (await admin('POST', '/admin/tenants/procs-sess/tokens', {})).json()) as { id: string; token: string };
    const t = await signIn(issued.token);
    expect(statuses(await fromBoth('/admin/functions', t.cookie))).toEqual([200]);
    expect((await admin('DELETE', `/admin/tenants/procs-sess/tokens/${issued.id}`)).status).toBe(204);
    expect(statuses(await fromBoth('/admin/functions', t.cookie))).toEqual([401]);
  });

  it('a live-log follower on one process sees the invocations the other process answers', { timeout: 30_000 }, async () => {
    expect((await put('logged', `export default { fetch(request: Request) { console.log('seen ' + new URL(request.url).pathname); return new Response('ok'); } };`)).status).toBe(201);
    let text = '';
    let follower: string | undefined;
    const req = http.get(`${gw.url}/admin/functions/logged/logs?follow=1`, { agent: false, headers: { authorization: `Bearer ${gw.token}` } }, (res) => {
      follower = res.headers['faas-process'] as string;
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
    });
    req.on('error', () => {});
    try {
      await waitFor(() => text.includes(': following'), { timeoutMs: 10_000, what: 'the follow stream' });
      // the other process learns of the follower through the supervisor: requests until one it answered shows up
      let shown = false;
      for (let i = 0; i < 20 && !shown; i++) {
        const a = await once(gw.url, `/fn/logged/r${i}`);
        expect(a.status).toBe(200);
        if (a.process === follower) continue;
        shown = await waitFor(() => text.includes(`seen /r${i}`), { timeoutMs: 1000, what: `r${i} in the stream` }).catch(() => false);
      }
      expect(shown).toBe(true);
    } finally {
      req.destroy();
    }
  });

  it('a process killed mid-request fails only its requests and is replaced; the other keeps serving', { timeout: 45_000 }, async () => {
    expect((await put('trickle', TRICKLE)).status).toBe(201);
    expect((await put('steady', SOURCES.version('steady'))).status).toBe(201);
    const pids = await processPids(gw.url);
    // a response whose headers came and whose body is still due in 3 s: its process is killed now
    const outcome = await new Promise<{ killed: number; result: string }>((resolve) => {
      const req = http.get(`${gw.url}/fn/trickle`, { agent: false, timeout: 15_000 }, (res) => {
        const slot = String(res.headers['faas-process']);
        const killed = pids.get(slot)!;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
          if (body === 'first ') process.kill(killed, 'SIGKILL');
        });
        res.on('end', () => resolve({ killed, result: `complete: ${body}` }));
        res.on('aborted', () => resolve({ killed, result: 'aborted' }));
        res.on('error', () => resolve({ killed, result: 'aborted' }));
      });
      req.on('error', () => resolve({ killed: 0, result: 'request failed before its answer' }));
    });
    expect(outcome.killed).toBeGreaterThan(0);
    expect(outcome.result).toBe('aborted');
    // the other process takes every new connection at once
    for (const a of await many(gw.url, '/fn/steady', 20)) expect([a.status, a.body]).toEqual([200, 'steady']);
    // and a replacement joins
    await waitFor(
      async () => {
        const now = await processPids(gw.url);
        return now.size === 2 && ![...now.values()].includes(outcome.killed);
      },
      { timeoutMs: 30_000, everyMs: 250, what: 'a replacement process' },
    );
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metricValue(text, 'faas_process_restarts_total')).toBe(1);
    // the replacement reads the registry at start
    const after = await many(gw.url, '/fn/steady', 30);
    allFromBoth(after, 200, 'steady');
  });

  it('SIGTERM drains every process: requests in flight complete, the supervisor exits 0', { timeout: 30_000 }, async () => {
    expect((await put('nap', SOURCES.sleep)).status).toBe(201);
    // both processes have the function loaded, so the naps below start at once wherever they land
    const warm: Answer[] = [];
    for (let i = 0; i < 100 && new Set(warm.map((a) => a.process)).size < 2; i++) warm.push(await once(gw.url, '/fn/nap?ms=1'));
    const naps = Array.from({ length: 6 }, () => once(gw.url, '/fn/nap?ms=1500', { timeoutMs: 20_000 }).catch((err: Error) => err));
    await sleep(500);
    const exit = gw.stop('SIGTERM');
    const answers = await Promise.all(naps);
    for (const a of answers) expect(a).toMatchObject({ status: 200, body: 'slept 1500' });
    expect(await exit).toEqual({ code: 0, signal: null });
  });
});
