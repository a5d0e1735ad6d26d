// `node bin/run-ts.js bench/scaling.ts [--seconds 3] [--rounds 2]`: how the gateway scales with the
// cores it is given, for the design of "HTTP on every core" (BENCHMARKS.md § Scaling). Each
// configuration serves hello and a CPU-bound handler (bench/workloads/spin.ts, ≈ 1 ms of guest
// arithmetic) on one port, loaded by autocannon in a child process (10 connections):
//   threads N   — one gateway process, HTTP on its main thread, guests on N worker threads (today's `faas serve --workers N`);
//   processes N — N gateway processes (node:cluster, SCHED_NONE: the kernel hands each accepted
//                 connection to one of them), guests on each process's own thread (--workers 0).
// Reported per run: req/s, p99, CPU seconds per second of the servers (all their threads) and of the
// load generator, and the load average. Experiment only: the processes share nothing (each has its own
// data directory); the design note in BENCHMARKS.md says what a real multi-process gateway must add.
import cluster from 'node:cluster';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

  const rows: Record<string, { rps: number[]; p99: number[]; serverCores: number[]; loadGenCores: number[]; load: number[] }> = {};
  for (let round = 0; round < rounds; round++) {
    const configs: [string, number][] = [['threads', 1], ['threads', 2], ['processes', 1], ['processes', 2]];
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
