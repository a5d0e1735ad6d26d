// HTTP through the gateway: warm `hello` and `api` throughput and latency, against a bare Hono handler
// on @hono/node-server serving hello's response (the ceiling) and against workerd serving the same
// bundles (bench/peers/workerd.ts), and cold requests per second when every request hits a deployed but
// never-invoked copy of hello. faas and the ceiling run in this process, workerd in its own; the load
// generator (autocannon) runs in a child process (bench/load.ts), so each gets a core of its own.
import { execFile } from 'node:child_process';
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { promisify } from 'node:util';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { pino } from 'pino';
import { startGateway } from '../gateway/server.ts';
import type { EngineName, Isolation } from '../runtime/index.ts';
import type { LoadResult, LoadSpec } from './load.ts';
import type { PlainResponse } from './peers/types.ts';
import { processCpuSeconds, startWorkerd, threadCpuSeconds } from './peers/workerd.ts';
import type { Prepared, WorkloadId } from './workloads/index.ts';

const run = promisify(execFile);

export interface GatewayTarget {
  id: string;
  label: string;
  kind: 'ceiling' | 'faas' | 'workerd';
  /** The workloads this target serves in the throughput rounds (the ceiling answers hello only). */
  workloads: WorkloadId[];
  engine?: EngineName;
  isolation?: Isolation;
}

export type Round = LoadResult & { cores: Cores; threads?: ThreadCores[] };

export interface ThroughputRow {
  target: string;
  label: string;
  kind: GatewayTarget['kind'];
  workload: WorkloadId;
  rounds: Round[];
  /** The best round: the one least disturbed by other work on the machine. */
  bestRps: number;
  /** All rounds together. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  /** The first response that differed from the one faas's Runtime gave (status or body). */
  mismatch?: string;
}

export interface ColdHttpRow {
  target: string;
  label: string;
  functions: number;
  result: LoadResult & { cores: Cores };
  coldStarts: number;
}

export interface GatewayOptions {
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  rounds: number;
  coldFunctions: number;
  log: (line: string) => void;
}

/** CPU cores kept busy during a load run: by the server, the load generator, everything else. */
export interface Cores {
  server: number;
  loadGenerator: number;
  other: number;
}

/** One thread of a server in its own process (workerd): how many cores it kept busy during the round. */
export interface ThreadCores {
  name: string;
  cores: number;
}

function machineBusySeconds(): number {
  return os.cpus().reduce((s, c) => s + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0) / 1000;
}

async function load(spec: LoadSpec, server: Running): Promise<Round> {
  const m0 = machineBusySeconds();
  const c0 = server.cpuSeconds();
  const th0 = server.threads?.();
  const t0 = performance.now();
  const { stdout } = await run(process.execPath, ['bin/run-ts.js', 'bench/load.ts', JSON.stringify(spec)], {
    cwd: process.cwd(),
    maxBuffer: 1 << 20,
    timeout: 120_000,
  });
  const seconds = (performance.now() - t0) / 1000;
  const serverCores = (server.cpuSeconds() - c0) / seconds;
  const res = JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult;
  const loadGenerator = res.cpuSeconds / seconds;
  const machine = (machineBusySeconds() - m0) / seconds;
  const round: Round = { ...res, cores: { server: serverCores, loadGenerator, other: Math.max(0, machine - serverCores - loadGenerator) } };
  if (th0) {
    const th1 = server.threads!();
    round.threads = [...th1]
      .map(([tid, t]) => ({ name: t.name, cores: (t.seconds - (th0.get(tid)?.seconds ?? 0)) / seconds }))
      .sort((a, b) => b.cores - a.cores);
  }
  return round;
}

interface Running {
  /** Base URL (scheme, host, port) that serves the workload. */
  url(w: WorkloadId): string;
  close(): Promise<void>;
  coldStarts(): number;
  /** CPU seconds the server has used so far. */
  cpuSeconds(): number;
  /** Per thread, where the server is a process of its own. */
  threads?(): Map<string, { name: string; seconds: number }>;
}

/** faas and the ceiling run in this process. */
const ownCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const HELLO = 'Hello from faas!';

async function startCeiling(): Promise<Running> {
  const app = new Hono();
  app.get('/fn/hello', (c) => c.text(HELLO));
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    s.once('error', reject);
    s.once('listening', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: () => `http://127.0.0.1:${port}`,
    coldStarts: () => 0,
    cpuSeconds: ownCpuSeconds,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function startFaas(target: GatewayTarget, workloads: Prepared[], coldCopies: number): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), 'faas-bench-'));
  const gw = await startGateway({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    adminToken: 'bench-admin-token',
    engine: target.engine,
    isolation: target.isolation,
    runtime: { memoryBudgetBytes: 16 * 1024 ** 3 },
    scheduler: {},
    logger: pino({ level: 'silent' }),
  });
  // Deployed straight into the runtime (the route looks functions up there): the artifact was compiled
  // and verified once; a registry deploy would only add one compile per copy to the set-up.
  for (const w of workloads) gw.runtime.deploy(w.id, 1, w.artifact, w.functionConfig);
  const hello = workloads.find((w) => w.id === 'hello')!;
  for (let i = 0; i < coldCopies; i++) gw.runtime.deploy(`cold-${i}`, 1, hello.artifact, hello.functionConfig);
  return {
    url: () => gw.url,
    coldStarts: () => gw.runtime.coldStarts,
    cpuSeconds: ownCpuSeconds,
    async close() {
      await gw.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * One process serving every workload: workerd takes a socket per worker (the cheapest path it offers: no
 * router in front), so each workload has its own port; the request path is the one faas gets.
 */
async function startWorkerdServer(workloads: Prepared[]): Promise<Running> {
  const wd = await startWorkerd(workloads.map((w) => ({ name: w.id, js: w.artifact.js, env: w.env })));
  return {
    url: (w) => `http://127.0.0.1:${wd.ports.get(w)}`,
    coldStarts: () => 0,
    cpuSeconds: () => processCpuSeconds(wd.pid),
    threads: () => threadCpuSeconds(wd.pid),
    close: () => wd.close(),
  };
}

/** The workload's request as autocannon sends it: path with query, and the POST body with its headers. */
function requestOf(w: Prepared): Pick<LoadSpec, 'path' | 'method' | 'headers' | 'body'> {
  const u = new URL(w.request.url);
  return {
    path: `${u.pathname}${u.search}`,
    method: w.request.method,
    ...(w.request.body !== null ? { body: w.request.body, headers: Object.fromEntries(w.request.headers) } : {}),
  };
}

/** One request before the round: the server must answer 200; a body unlike `expected` is reported. */
async function check(url: string, w: Prepared, expected: string | undefined): Promise<string | undefined> {
  const r = requestOf(w);
  const res = await fetch(`${url}${r.path}`, { method: r.method, headers: r.headers, body: r.body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url}${r.path} answered ${res.status} ${text.slice(0, 80)}`);
  return expected !== undefined && text !== expected ? text.slice(0, 200) : undefined;
}

/**
 * `expected`: per workload, the response faas's Runtime gave in the cold-start rounds; every target's
 * first response is compared with it (hello falls back to the known text).
 */
export async function gatewayBench(
  targets: GatewayTarget[],
  workloads: Prepared[],
  o: GatewayOptions,
  expected: Map<WorkloadId, PlainResponse> = new Map(),
): Promise<{ throughput: ThroughputRow[]; cold: ColdHttpRow[] }> {
  const all: GatewayTarget[] = [
    { id: 'hono-ceiling', label: 'bare Hono on @hono/node-server (ceiling)', kind: 'ceiling', workloads: ['hello'] },
    ...targets,
  ];
  const served = workloads.filter((w) => all.some((t) => t.workloads.includes(w.id)));
  const key = (t: GatewayTarget, w: WorkloadId) => `${t.id}|${w}`;
  const rounds = new Map<string, Round[]>();
  const mismatches = new Map<string, string>();
  for (let r = 0; r < o.rounds; r++) {
    for (const w of served) {
      // Alternate the order between rounds, so that drift on the machine hits every target alike.
      const order = (r % 2 === 0 ? all : [...all].reverse()).filter((t) => t.workloads.includes(w.id));
      for (const t of order) {
        const server =
          t.kind === 'ceiling' ? await startCeiling() : t.kind === 'workerd' ? await startWorkerdServer(served) : await startFaas(t, served, 0);
        try {
          const url = server.url(w.id);
          const mismatch = await check(url, w, expected.get(w.id)?.body ?? (w.id === 'hello' ? HELLO : undefined));
          if (mismatch !== undefined && !mismatches.has(key(t, w.id))) mismatches.set(key(t, w.id), mismatch);
          const res = await load(
            { url, ...requestOf(w), connections: o.connections, warmupSeconds: o.warmupSeconds, durationSeconds: o.durationSeconds },
            server,
          );
          if (!rounds.has(key(t, w.id))) rounds.set(key(t, w.id), []);
          rounds.get(key(t, w.id))!.push(res);
          const busiest = res.threads?.[0];
          o.log(
            `  round ${r + 1} ${w.id} ${t.id}: ${Math.round(res.rps)} req/s, p99 ${res.latencyMs.p99.toFixed(2)} ms ` +
              `(cores busy: server ${res.cores.server.toFixed(2)}${busiest ? ` [busiest thread ${busiest.cores.toFixed(2)} of ${res.threads!.length}]` : ''}, ` +
              `load generator ${res.cores.loadGenerator.toFixed(2)}, other ${res.cores.other.toFixed(2)})` +
              (mismatch !== undefined ? `  RESPONSE DIFFERS: ${mismatch.slice(0, 80)}` : ''),
          );
        } finally {
          await server.close();
        }
      }
    }
  }
  const rows = served.flatMap((w) => all.filter((t) => t.workloads.includes(w.id)).map((t) => ({ t, w: w.id })));
  const throughput = rows.map(({ t, w }): ThroughputRow => {
    const rs = rounds.get(key(t, w))!;
    const requests = rs.reduce((s, x) => s + x.requests, 0);
    const seconds = rs.reduce((s, x) => s + x.durationS, 0);
    return {
      target: t.id,
      label: t.label,
      kind: t.kind,
      workload: w,
      ...(mismatches.has(key(t, w)) ? { mismatch: mismatches.get(key(t, w)) } : {}),
      rounds: rs,
      rps: requests / seconds,
      bestRps: Math.max(...rs.map((x) => x.rps)),
      p50Ms: median(rs.map((x) => x.latencyMs.p50)),
      p99Ms: Math.max(...rs.map((x) => x.latencyMs.p99)),
      non2xx: rs.reduce((s, x) => s + x.non2xx, 0),
      errors: rs.reduce((s, x) => s + x.errors, 0),
    };
  });

  // workerd has no never-invoked state to measure: it evaluates every worker before it listens.
  const hello = workloads.find((w) => w.id === 'hello')!;
  const cold: ColdHttpRow[] = [];
  for (const t of o.coldFunctions > 0 ? targets.filter((x) => x.kind === 'faas') : []) {
    const server = await startFaas(t, [hello], o.coldFunctions);
    try {
      await check(server.url('hello'), hello, HELLO); // warms the gateway's own code paths; 'hello' is not one of the copies
      const before = server.coldStarts();
      const result = await load({ url: server.url('hello'), pathPrefix: '/fn/cold-', connections: o.connections, amount: o.coldFunctions }, server);
      const coldStarts = server.coldStarts() - before;
      cold.push({ target: t.id, label: t.label, functions: o.coldFunctions, result, coldStarts });
      o.log(`  cold ${t.id}: ${Math.round(result.rps)} req/s over ${o.coldFunctions} never-invoked functions (${coldStarts} cold starts), p99 ${result.latencyMs.p99} ms`);
    } finally {
      await server.close();
    }
  }
  return { throughput, cold };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}
