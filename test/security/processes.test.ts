/**
 * `faas serve --processes 2` under attack: a process that stops answering in the middle of a deploy's
 * fan-out does not hold the deploy (it is killed and replaced within the bound), hostile guests
 * running on both processes while deploys fan out do not stop the fan-out or the neighbour, and the
 * IPC channel drops anything that is not one of its messages. Guests cannot reach the channel at
 * all (it is the gateway process's, and guests run in WASM sandboxes with no process object).
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FromMember, FromSupervisor, parseMessage } from '../../gateway/processes/messages.ts';
import { SOURCES, spawnGateway, tempDir, waitFor, type ChildGateway } from '../helpers/gateway.ts';
import { metricValue, once, processPids, type Answer } from '../helpers/processes.ts';
import { engineUnderTest } from '../helpers/sandbox.ts';
import { NEIGHBOUR, NEIGHBOUR_SOURCE } from './harness.ts';

const ACK_MS = 2000;
let gw: ChildGateway;
const dataDir = tempDir('faas-procs-sec-');

beforeAll(async () => {
  const engine = engineUnderTest.engine ? ['--engine', engineUnderTest.engine, ...(engineUnderTest.isolation ? ['--isolation', engineUnderTest.isolation] : [])] : [];
  gw = await spawnGateway({ dataDir, args: ['--processes', '2', ...engine], env: { FAAS_PROCESS_ACK_MS: String(ACK_MS) }, timeoutMs: 45_000 });
}, 50_000);

afterAll(async () => {
  await gw?.stop('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

const put = (name: string, source: string, config?: object) =>
  once(gw.url, `/admin/functions/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ source, filename: `${name}.ts`, config }),
    timeoutMs: 30_000,
  });

/** Requests until both processes answered (bounded); every answer must be `body`. */
async function fromBoth(path: string, body: string): Promise<Answer[]> {
  const seen: Answer[] = [];
  for (let i = 0; i < 100 && new Set(seen.map((a) => a.process)).size < 2; i++) seen.push(await once(gw.url, path));
  for (const a of seen) expect([a.status, a.body]).toEqual([200, body]);
  expect(new Set(seen.map((a) => a.process)).size).toBe(2);
  return seen;
}

/** The neighbour answers a JSON echo correctly on both processes. */
async function assertHealthy(): Promise<void> {
  const probe = JSON.stringify({ marker: Math.random().toString(36).slice(2) });
  const seen = new Set<string | undefined>();
  for (let i = 0; i < 100 && seen.size < 2; i++) {
    const a = await once(gw.url, `/fn/${NEIGHBOUR}`, { method: 'POST', body: probe, headers: { 'content-type': 'application/json' }, timeoutMs: 5000 });
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toEqual({ ok: true, body: JSON.parse(probe) });
    seen.add(a.process);
  }
  expect(seen.size).toBe(2);
}

describe('processes under attack', () => {
  it('a process that stops answering mid-fan-out is killed and replaced; the deploy is answered within the bound', { timeout: 60_000 }, async () => {
    expect((await put(NEIGHBOUR, NEIGHBOUR_SOURCE)).status).toBe(201);
    expect((await put('target', SOURCES.version('v1'))).status).toBe(201);
    await fromBoth('/fn/target', 'v1');
    const pids = await processPids(gw.url);
    const stuck = pids.get('1')!;
    process.kill(stuck, 'SIGSTOP');
    try {
      const started = Date.now();
      // a fresh connection: the stopped process accepts none, the other takes it
      const res = await put('target', SOURCES.version('v2'));
      expect(res.status).toBe(201);
      // bounded by the acknowledgement wait (generous: a loaded machine)
      expect(Date.now() - started).toBeLessThan(ACK_MS + 15_000);
    } finally {
      // killed by the supervisor already; a SIGCONT to a pid that is gone is harmless
      try {
        process.kill(stuck, 'SIGCONT');
      } catch {}
    }
    await waitFor(
      async () => {
        const now = await processPids(gw.url);
        return now.size === 2 && ![...now.values()].includes(stuck);
      },
      { timeoutMs: 40_000, everyMs: 250, what: 'a replacement for the stuck process' },
    );
    // the replacement serves what is live
    await fromBoth('/fn/target', 'v2');
    await assertHealthy();
  });

  it('hostile guests on both processes while deploys fan out: every deploy is answered, the neighbour still answers', { timeout: 60_000 }, async () => {
    expect((await put('spin', SOURCES.spin, { cpuMs: 50 })).status).toBe(201);
    expect((await put('bomb', SOURCES.memoryBomb, { memoryMb: 8 })).status).toBe(201);
    // attackers on fresh connections (both processes get some) during five deploys
    const attacks = Array.from({ length: 8 }, (_, i) => once(gw.url, i % 2 ? '/fn/spin' : '/fn/bomb', { timeoutMs: 20_000 }).catch((err: Error) => err));
    for (let v = 3; v < 8; v++) expect((await put('target', SOURCES.version(`v${v}`))).status).toBe(201);
    for (const a of await Promise.all(attacks)) {
      // each attack ends in its limit's error, never a hang or a dead gateway
      expect(a).not.toBeInstanceOf(Error);
      expect((a as Answer).status).toBeGreaterThanOrEqual(400);
    }
    await fromBoth('/fn/target', 'v7');
    await assertHealthy();
  });

  it('a storm of concurrent /metrics scrapes (public, no token) shares collections: deploys still fan out, no process is replaced', { timeout: 60_000 }, async () => {
    expect((await put(NEIGHBOUR, NEIGHBOUR_SOURCE)).status).toBe(201);
    const before = await once(gw.url, '/metrics');
    const gathers = metricValue(before.body, 'faas_process_metrics_gathers_total')!;
    const restarts = metricValue(before.body, 'faas_process_restarts_total')!;
    expect(gathers).toBeGreaterThan(0);
    // each scrape used to make every process serialize its registry and send it over IPC, and the
    // supervisor check and forward them all: n x the scrapes, with the change fan-out queued behind
    const SCRAPES = 60;
    const storm = Array.from({ length: SCRAPES }, () => once(gw.url, '/metrics', { timeoutMs: 30_000 }).catch((err: Error) => err));
    expect((await put('target', SOURCES.version('v8'))).status).toBe(201);
    for (const a of await Promise.all(storm)) {
      expect(a).not.toBeInstanceOf(Error);
      expect((a as Answer).status).toBe(200);
      expect((a as Answer).body).toMatch(/^faas_processes 2$/m);
    }
    const after = await once(gw.url, '/metrics');
    // the scrape just made counts one
    expect(metricValue(after.body, 'faas_process_metrics_gathers_total')! - gathers).toBeLessThanOrEqual(SCRAPES / 2);
    expect(metricValue(after.body, 'faas_process_restarts_total')).toBe(restarts);
    await fromBoth('/fn/target', 'v8');
    await assertHealthy();
  });

  it('one function deployed on both processes at once: every deploy is answered, no process is killed', { timeout: 90_000 }, async () => {
    // Each process held the function's lock while waiting for the other to apply its change, and
    // the other's apply waited for that lock: both were killed for not answering in time.
    expect((await put(NEIGHBOUR, NEIGHBOUR_SOURCE)).status).toBe(201);
    expect((await put('twin', SOURCES.version('t'))).status).toBe(201);
    const restarts = metricValue((await once(gw.url, '/metrics')).body, 'faas_process_restarts_total')!;
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => put('twin', SOURCES.version(`t${round}-${i}`)).catch((err: Error) => err)));
      for (const a of answers) {
        expect(a).not.toBeInstanceOf(Error);
        const { status, body } = a as Answer;
        // the same version number taken by both: one of them is a clean conflict to retry, never a 500
        if (status !== 201) expect([status, JSON.parse(body).error]).toEqual([409, 'conflict']);
      }
      expect(answers.some((a) => (a as Answer).status === 201)).toBe(true);
    }
    expect(metricValue((await once(gw.url, '/metrics')).body, 'faas_process_restarts_total')).toBe(restarts);
    await assertHealthy();
  });

  it('takes the metrics of a process that served many functions (16 series each in the duration histogram): they are not dropped as hostile', () => {
    const FUNCTIONS = 10_000;
    const values = [];
    for (let f = 0; f < FUNCTIONS; f++) {
      for (let b = 0; b < 14; b++) values.push({ value: 1, labels: { function: `fn-${f}`, le: String(b) }, metricName: 'faas_invocation_duration_seconds_bucket' });
      values.push({ value: 0.5, labels: { function: `fn-${f}` }, metricName: 'faas_invocation_duration_seconds_sum' });
      values.push({ value: 1, labels: { function: `fn-${f}` }, metricName: 'faas_invocation_duration_seconds_count' });
    }
    const metrics = [{ name: 'faas_invocation_duration_seconds', help: 'h', type: 'histogram', aggregator: 'sum', values }];
    expect(parseMessage(FromMember, { t: 'metrics', id: 1, metrics })).toBeDefined();
    expect(parseMessage(FromSupervisor, { t: 'gathered', id: 1, parts: [{ slot: 0, metrics }, { slot: 1, metrics }] })).toBeDefined();
  });

  it('drops IPC messages that are not one of the protocol messages', () => {
    const hostile: unknown[] = [
      null,
      'change',
      42,
      { t: 'change' },
      { t: 'change', id: -1, kind: 'function', names: ['a'] },
      { t: 'change', id: 1, kind: 'secrets', names: ['a'] },
      { t: 'change', id: 1, kind: 'function', names: [''.padEnd(300, 'x')] },
      { t: 'change', id: 1, kind: 'function', names: Array.from({ length: 10_001 }, () => 'a') },
      { t: 'metrics', id: 1, metrics: [{ name: 'x', help: '', type: 'weird', values: [] }] },
      { t: 'metrics', id: 1, metrics: [{ name: 'x', help: '', type: 'counter', aggregator: 'eval', values: [] }] },
      { t: 'ready', functions: 'many' },
      { t: '__proto__', id: 1 },
      { t: 'drain' },
      { t: 'log', tenant: 'default', event: { type: 'invocation', function: 'f' } },
      { t: 'log', tenant: 'default', event: { type: 'log', function: 'f', version: 1, requestId: null, at: 'x', level: 'info', source: 'guest', text: 'x'.repeat(2 * 1024 * 1024) } },
      { t: 'follow', name: 'f', delta: 1000 },
    ];
    for (const m of hostile) {
      expect(parseMessage(FromMember, m)).toBeUndefined();
      expect(parseMessage(FromSupervisor, m)).toBeUndefined();
    }
    expect(parseMessage(FromMember, { t: 'change', id: 1, kind: 'function', names: ['a'] })).toEqual({ t: 'change', id: 1, kind: 'function', names: ['a'] });
    expect(parseMessage(FromSupervisor, { t: 'drain', graceMs: 1000 })).toEqual({ t: 'drain', graceMs: 1000 });
  });
});
