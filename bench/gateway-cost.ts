// `node bin/run-ts.js bench/gateway-cost.ts [--profile <file.cpuprofile>] [--seconds 3] [modes…]`: what a
// warm hello costs the gateway thread, as µs of that thread's CPU time per request (its
// CPU time ÷ requests, from /proc). A busy time per request is far less disturbed by other work on a
// shared machine than req/s. Modes: ceiling (bare Hono), stub (the gateway with its runtime answering at
// once), inproc (guests on the gateway thread, `--workers 0`), w1 / w2 (guests on 1 / 2 worker threads).
// The load generator (bench/load.ts) runs in a child process, 10 connections.
import { execFile } from 'node:child_process';
import diagnostics_channel from 'node:diagnostics_channel';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { destination, pino } from 'pino';
import { startGateway } from '../gateway/server.ts';
import type { LoadResult } from './load.ts';
import { threadCpuSeconds } from './peers/workerd.ts';
import { WORKLOADS, prepareWorkload, type Prepared } from './workloads/index.ts';

const run = promisify(execFile);
const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const profileFile = flag('--profile');
const seconds = Number(flag('--seconds') ?? 3);
const rounds = Number(flag('--rounds') ?? 2);
const modes = args.length ? args : ['ceiling', 'stub', 'inproc', 'w1'];

// Responses finished, counted server-side (only this process's servers publish here).
let served = 0;
diagnostics_channel.subscribe('http.server.response.finish', () => served++);

const hello = await prepareWorkload(WORKLOADS.find((w) => w.id === 'hello')!, randomBytes(32));

interface Target {
  url: string;
  close(): Promise<void>;
}

async function start(mode: string, w: Prepared): Promise<Target> {
  if (mode === 'ceiling') {
    const app = new Hono();
    app.get('/fn/hello', (c) => c.text('Hello from faas!'));
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as { port: number };
    return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'faas-cost-'));
  const workers = mode === 'w1' ? 1 : mode === 'w2' ? 2 : 0;
  const gw = await startGateway({ port: 0, dataDir, adminToken: 'cost', accessLogSample: process.env.SAMPLE === undefined ? undefined : Number(process.env.SAMPLE), logger: pino({ level: process.env.FAAS_LOG_LEVEL ?? 'info' }, destination({ dest: '/dev/null', sync: false })), workers });
  await gw.runtime.deploy('hello', 1, w.artifact, w.functionConfig);
  if (mode === 'stub') {
    const bytes = new TextEncoder().encode('Hello from faas!');
    (gw.runtime as unknown as { invoke: () => Promise<unknown> }).invoke = async () => ({
      response: { status: 200, headers: [['content-type', 'text/plain;charset=UTF-8']], body: bytes.slice().buffer },
      cold: false,
      coldMs: 0,
      execMs: 0,
      instanceId: 0,
      usage: { cpuMs: 0, egressBytes: 0, bindingOps: 0 },
      background: Promise.resolve(undefined),
    });
  }
  return {
    url: gw.url,
    async close() {
      await gw.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** CPU seconds of this process's main thread (the gateway thread), from /proc. */
function mainThreadCpuS(): number {
  return threadCpuSeconds(process.pid).get(String(process.pid))!.seconds;
}

/**
 * The gateway's own JavaScript per request, without sockets or a load generator: the HTTP server's
 * request listener (@hono/node-server → Hono → the gateway) called in-process with an IncomingMessage
 * and a ServerResponse that are not attached to a socket, with the runtime stubbed. Batches of 2,000
 * requests one after the other; the fastest batch is the figure (least disturbed by other work).
 */
async function direct(url: string, batches = 15, per = 2000): Promise<{ bestUs: number; medianUs: number }> {
  let server: import('node:http').Server | undefined;
  const grab = (m: unknown) => (server ??= (m as { server: import('node:http').Server }).server);
  diagnostics_channel.subscribe('http.server.request.start', grab);
  await fetch(`${url}/fn/hello`).then((r) => r.arrayBuffer());
  diagnostics_channel.unsubscribe('http.server.request.start', grab);
  const listener = server!.listeners('request')[0] as (req: IncomingMessage, res: ServerResponse) => void;
  const socket = new Socket();
  const one = () =>
    new Promise<void>((resolve) => {
      const req = new IncomingMessage(socket);
      req.method = 'GET';
      req.url = '/fn/hello';
      req.httpVersion = '1.1';
      req.rawHeaders = ['Host', '127.0.0.1', 'User-Agent', 'bench', 'Accept', '*/*'];
      req.headers = { host: '127.0.0.1', 'user-agent': 'bench', accept: '*/*' };
      req.complete = true;
      req.push(null);
      const res = new ServerResponse(req);
      const end = res.end.bind(res);
      res.end = ((...a: unknown[]) => {
        resolve();
        return (end as (...x: unknown[]) => ServerResponse)(...a);
      }) as typeof res.end;
      listener(req, res);
    });
  const times: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < per; i += 10) await Promise.all(Array.from({ length: 10 }, one));
    const t = process.cpuUsage(t0);
    times.push((t.user + t.system) / per);
  }
  const sorted = times.slice(2).sort((a, b) => a - b);
  return { bestUs: Math.round(sorted[0]! * 10) / 10, medianUs: Math.round(sorted[sorted.length >> 1]! * 10) / 10 };
}

if (modes[0] === 'direct') {
  for (let r = 0; r < rounds; r++) {
    const t = await start('stub', hello);
    const d = await direct(t.url);
    console.log(`direct (gateway JS per request, stub runtime, no sockets): best batch ${d.bestUs} µs, median ${d.medianUs} µs of CPU`);
    await t.close();
  }
  process.exit(0);
}

const results: Record<string, { rps: number[]; usPerReq: number[]; cpuUsPerReq: number[]; loadCpuS: number[]; bestWindowUs: number[] }> = {};
let session: Session | undefined;
for (let round = 0; round < rounds; round++) {
  for (const mode of round % 2 ? [...modes].reverse() : modes) {
    const t = await start(mode, hello);
    const spec = { url: t.url, path: '/fn/hello', connections: 10, warmupSeconds: 1, durationSeconds: seconds };
    const child = run(process.execPath, ['bin/run-ts.js', 'bench/load.ts', JSON.stringify(spec)], { maxBuffer: 1 << 20 });
    // skip the warm-up (and the child's start-up) before measuring
    await new Promise((r) => setTimeout(r, 2500));
    if (profileFile && round === 0) {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 50 });
      await session.post('Profiler.start');
    }
    const main0 = mainThreadCpuS();
    const cpu0 = process.cpuUsage();
    const count0 = served;
    // Per 250 ms window too: the least disturbed window (lowest CPU per request) is the figure that
    // other work on a shared machine moves least.
    const windows: number[] = [];
    let w0 = { cpu: main0, n: served };
    const sampler = setInterval(() => {
      const now = { cpu: mainThreadCpuS(), n: served };
      if (now.n - w0.n > 50) windows.push(((now.cpu - w0.cpu) * 1e6) / (now.n - w0.n));
      w0 = now;
    }, 250);
    const { stdout } = await child;
    clearInterval(sampler);
    const mainS = mainThreadCpuS() - main0;
    const cpu = process.cpuUsage(cpu0);
    const n = served - count0;
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(`${profileFile}.${mode}.cpuprofile`, JSON.stringify(profile));
      session.disconnect();
      session = undefined;
    }
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult;
    const measured = n;
    const e = (results[mode] ??= { rps: [], usPerReq: [], cpuUsPerReq: [], loadCpuS: [], bestWindowUs: [] });
    e.rps.push(Math.round(r.rps));
    e.usPerReq.push(Math.round((mainS * 1e6) / measured));
    e.cpuUsPerReq.push(Math.round((cpu.user + cpu.system) / measured));
    windows.sort((a, b) => a - b);
    e.bestWindowUs.push(Math.round(windows[Math.floor(windows.length * 0.1)] ?? NaN));
    e.loadCpuS.push(Math.round(r.cpuSeconds * 100) / 100);
    await t.close();
  }
}
const { loadavg } = await import('node:os');
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const [mode, e] of Object.entries(results)) {
  console.log(`${mode.padEnd(8)} req/s ${e.rps.join(' / ')}   gateway-thread µs/req ${e.usPerReq.join(' / ')}   (10th-percentile 250 ms window ${e.bestWindowUs.join(' / ')})   process CPU µs/req ${e.cpuUsPerReq.join(' / ')}`);
}
process.exit(0);
