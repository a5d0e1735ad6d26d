/**
 * Live logs across `faas serve --processes 3`: a followed function's events go through the supervisor
 * to the processes where someone follows it, and only there. Sent to every process, a function
 * logging as fast as its budget allows would cost the supervisor and every process n - 1 copies of
 * each event, and fill the recent-events buffers of processes where nobody reads them.
 */
import { rmSync } from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnGateway, tempDir, waitFor, type ChildGateway } from '../helpers/gateway.ts';
import { once } from '../helpers/processes.ts';
import { engineUnderTest } from '../helpers/sandbox.ts';
import { NEIGHBOUR, NEIGHBOUR_SOURCE } from './harness.ts';

let gw: ChildGateway;
const dataDir = tempDir('faas-procs-logs-');

beforeAll(async () => {
  const engine = engineUnderTest.engine ? ['--engine', engineUnderTest.engine, ...(engineUnderTest.isolation ? ['--isolation', engineUnderTest.isolation] : [])] : [];
  gw = await spawnGateway({ dataDir, args: ['--processes', '3', ...engine], timeoutMs: 60_000 });
}, 65_000);

afterAll(async () => {
  await gw?.stop('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

const auth = () => ({ authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' });
const put = (name: string, source: string) =>
  once(gw.url, `/admin/functions/${name}`, { method: 'PUT', headers: auth(), body: JSON.stringify({ source, filename: `${name}.ts` }), timeoutMs: 30_000 });

describe('live logs relayed between processes', () => {
  it('reach only the processes where the function is followed', { timeout: 90_000 }, async () => {
    expect((await put(NEIGHBOUR, NEIGHBOUR_SOURCE)).status).toBe(201);
    expect((await put('chatty', `export default { fetch(request: Request) { console.log('at ' + new URL(request.url).pathname); return new Response('ok'); } };`)).status).toBe(201);
    let text = '';
    let follower: string | undefined;
    const req = http.get(`${gw.url}/admin/functions/chatty/logs?follow=1`, { agent: false, headers: auth() }, (res) => {
      follower = res.headers['faas-process'] as string;
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
    });
    req.on('error', () => {});
    try {
      await waitFor(() => text.includes(': following'), { timeoutMs: 15_000, what: 'the follow stream' });
      // every process answers some requests; the follower's stream shows the others' (the relay works)
      const servedBy = new Map<string, string[]>();
      for (let i = 0; i < 150 && (servedBy.size < 3 || [...servedBy.values()].some((p) => p.length < 2)); i++) {
        const a = await once(gw.url, `/fn/chatty/r${i}`);
        expect(a.status).toBe(200);
        servedBy.set(a.process!, [...(servedBy.get(a.process!) ?? []), `/fn/chatty/r${i}`]);
      }
      expect(servedBy.size).toBe(3);
      const others = [...servedBy.keys()].filter((p) => p !== follower);
      const last = servedBy.get(others[0]!)!.at(-1)!.slice('/fn/chatty'.length);
      await waitFor(() => text.includes(`at ${last}`), { timeoutMs: 10_000, what: `${last} in the follower's stream` });
      // a process nobody follows on keeps its own events only
      for (const p of others) {
        let events: { type: string; path?: string }[] | undefined;
        for (let i = 0; i < 100 && !events; i++) {
          const a = await once(gw.url, '/admin/functions/chatty/logs', { headers: auth() });
          expect(a.status).toBe(200);
          if (a.process === p) events = JSON.parse(a.body);
        }
        expect(events, `an answer from process ${p}`).toBeDefined();
        const paths = events!.filter((e) => e.type === 'invocation').map((e) => e.path);
        expect(paths.length).toBeGreaterThan(0);
        for (const path of paths) expect(servedBy.get(p)).toContain(path);
      }
    } finally {
      req.destroy();
    }
    const a = await once(gw.url, `/fn/${NEIGHBOUR}`, { method: 'POST', body: '{"x":1}', headers: { 'content-type': 'application/json' } });
    expect([a.status, JSON.parse(a.body)]).toEqual([200, { ok: true, body: { x: 1 } }]);
  });
});
