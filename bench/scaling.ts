// `node bin/run-ts.js bench/scaling.ts [--seconds 3] [--rounds 2]`: how the gateway scales with the
// cores it is given, for the design of "HTTP on every core" (BENCHMARKS.md § Scaling). Each
// configuration serves hello and a CPU-bound handler (bench/workloads/spin.ts, ≈ 1 ms of guest
// arithmetic) on one port, loaded by autocannon in a child process (10 connections):
//   threads N   — one gateway process, HTTP on its main thread, guests on N worker threads (today's `faas serve --workers N`);
//   processes N — N gateway processes (node:cluster, SCHED_NONE: the kernel hands each accepted
//                 connection to one of them), guests on each process's own thread (--workers 0).
//   serve N     — the real thing: `faas serve --processes N --workers 0` (a supervisor and N gateway
//                 processes sharing the data directory; functions deployed through the admin API).
// `--configs serve:2,threads:1` picks configurations (default: all but serve, then serve 2).
// Reported per run: req/s, p99, CPU seconds per second of the servers (all their threads) and of the
// load generator, and the load average. Experiment only: the processes share nothing (each has its own
// data directory); the `serve` rows are `faas serve --processes`, which shares them.
import cluster from 'node:cluster';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { startGateway } from '../gateway/server.ts';
import type { LoadResult } from './load.ts';
import { processCpuSeconds } from './peers/workerd.ts';
import { WORKLOADS, prepareWorkload, type Workload } from './workloads/index.ts';

const KEY = Buffer.alloc(32, 7);
const spin: Workload = { id: 'hello', title: 'spin', entry: 'bench/workloads/spin.ts', config: {}, env: {}, request: { method: 'GET', url: 'http://127.0.0.1/fn/spin', headers: [], body: null } };

async function serveOne(port: number, workers: number): Promise<{ url: string; close(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'faas-scaling-'));
  const gw = await startGateway({ port, host: '127.0.0.1', dataDir, adminToken: 'scaling', workers, logger: pino({ level: 'silent' }) });
  for (const [name, w] of [['hello', WORKLOADS.find((x) => x.id === 'hello')!], ['spin', spin]] as const) {
    const p = await prepareWorkload(w, KEY);
    await gw.runtime.deploy(name, 1, p.artifact, p.functionConfig);
  }
  return {
    url: gw.url,
    async close() {
      await gw.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `faas serve --processes n --workers 0` on a free port, hello and spin deployed through the admin API; its pids: the supervisor's and every process's. */
async function serveProcesses(n: number): Promise<{ url: string; pids: number[]; close(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'faas-scaling-'));
  const proc = spawn(process.execPath, ['bin/faas.js', 'serve', '--port', '0', '--data', dataDir, '--functions', join(dataDir, 'none'), '--workers', '0', '--processes', String(n)], {
    env: { ...process.env, FAAS_FROM_SOURCE: '1', FAAS_ADMIN_TOKEN: 'scaling', FAAS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`faas serve --processes ${n} did not start\n${err}`)), 120_000);
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => {
      err += d;
      const m = /ready: .* at (\S+)\/fn\//.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  for (const [name, entry] of [['hello', 'functions/hello.ts'], ['spin', spin.entry]] as const) {
    const res = await fetch(`${url}/admin/functions/${name}`, {
      method: 'PUT',
      headers: { authorization: 'Bearer scaling', 'content-type': 'application/json' },
      body: JSON.stringify({ source: readFileSync(entry, 'utf8'), filename: `${name}.ts` }),
    });
    if (res.status !== 201) throw new Error(`deploy ${name}: ${res.status} ${await res.text()}`);
  }
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const pids = [proc.pid!, ...[...metrics.matchAll(/^faas_process_info\{pid="(\d+)"/gm)].map((m) => Number(m[1]))];
  return {
    url,
    pids,
    async close() {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

if (cluster.isWorker) {
  const s = await serveOne(Number(process.env.SCALING_PORT), 0);
  process.send!({ ready: s.url });
  process.on('message', async (m) => {
    if (m === 'close') {
      await s.close();
      process.exit(0);
    }
  });
} else {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
  const seconds = opt('--seconds', 3);
  const rounds = opt('--rounds', 2);
  const run = promisify(execFile);
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: 'bin/run-ts.js', args: ['bench/scaling.ts'] });

  const start = async (mode: string, n: number): Promise<{ url: string; pids: number[]; close(): Promise<void> }> => {
    if (mode === 'serve') return serveProcesses(n);
    if (mode === 'threads') {
      const s = await serveOne(0, n);
      return { url: s.url, pids: [process.pid], close: s.close };
    }
    const port = 20000 + Math.floor(Math.random() * 20000);
    const workers = Array.from({ length: n }, () => cluster.fork({ SCALING_PORT: String(port) }));
    const urls = await Promise.all(workers.map((w) => new Promise<string>((r) => w.once('message', (m: { ready: string }) => r(m.ready)))));
    return {
      url: urls[0]!,
      pids: workers.map((w) => w.process.pid!),
      close: async () => {
        await Promise.all(workers.map((w) => new Promise((r) => (w.once('exit', r), w.send('close')))));
      },
    };
  };

  const picked = args.includes('--configs')
    ? args[args.indexOf('--configs') + 1]!.split(',').map((c) => c.split(':') as [string, string]).map(([m, n]): [string, number] => [m, Number(n)])
    : undefined;
  const rows: Record<string, { rps: number[]; p99: number[]; serverCores: number[]; loadGenCores: number[]; load: number[] }> = {};
  for (let round = 0; round < rounds; round++) {
    const configs: [string, number][] = picked ? [...picked] : [['threads', 1], ['threads', 2], ['processes', 1], ['processes', 2], ['serve', 2]];
    for (const [mode, n] of round % 2 ? configs.reverse() : configs) {
      const s = await start(mode, n);
      for (const fn of ['hello', 'spin']) {
        const spec = { url: s.url, path: `/fn/${fn}`, connections: 10, warmupSeconds: 1, durationSeconds: seconds };
        const cpu0 = s.pids.reduce((a, p) => a + processCpuSeconds(p), 0);
        const t0 = performance.now();
        const { stdout } = await run(process.execPath, ['bin/run-ts.js', 'bench/load.ts', JSON.stringify(spec)], { maxBuffer: 1 << 20 });
        const wall = (performance.now() - t0) / 1000;
        const cpu = s.pids.reduce((a, p) => a + processCpuSeconds(p), 0) - cpu0;
        const r = JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult;
        const e = (rows[`${fn.padEnd(5)} ${mode} ${n}`] ??= { rps: [], p99: [], serverCores: [], loadGenCores: [], load: [] });
        e.rps.push(Math.round(r.rps));
        e.p99.push(Math.round(r.latencyMs.p99 * 100) / 100);
        // warm-up included in both: CPU seconds over the whole run's wall time
        e.serverCores.push(Math.round((cpu / wall) * 100) / 100);
        e.loadGenCores.push(Math.round((r.cpuSeconds / wall) * 100) / 100);
        e.load.push(Math.round(loadavg()[0]! * 10) / 10);
      }
      await s.close();
    }
  }
  for (const [k, e] of Object.entries(rows).sort()) {
    console.log(`${k.padEnd(20)} req/s ${e.rps.join(' / ').padEnd(16)} p99 ms ${e.p99.join(' / ').padEnd(14)} server cores ${e.serverCores.join(' / ').padEnd(12)} load-gen cores ${e.loadGenCores.join(' / ').padEnd(12)} load avg ${e.load.join(' / ')}`);
  }
  process.exit(0);
}
