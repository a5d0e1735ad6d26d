// HTTP through the gateway: warm `hello` throughput and latency against a bare Hono handler on
// @hono/node-server serving the same response (the ceiling), and cold requests per second when every
// request hits a deployed but never-invoked copy of hello. Servers run in this process; the load
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
import type { Prepared } from './workloads/index.ts';

const run = promisify(execFile);

export interface GatewayTarget {
  id: string;
  label: string;
  engine?: EngineName;
  isolation?: Isolation;
}

export interface ThroughputRow {
  target: string;
  label: string;
  rounds: (LoadResult & { cores: Cores })[];
  /** The best round: the one least disturbed by other work on the machine. */
  bestRps: number;
  /** All rounds together. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
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

/** CPU cores kept busy during a load run: by the server (this process), the load generator, everything else. */
export interface Cores {
  server: number;
  loadGenerator: number;
  other: number;
}

function machineBusySeconds(): number {
  return os.cpus().reduce((s, c) => s + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0) / 1000;
}

async function load(spec: LoadSpec): Promise<LoadResult & { cores: Cores }> {
  const m0 = machineBusySeconds();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const { stdout } = await run(process.execPath, ['bin/run-ts.js', 'bench/load.ts', JSON.stringify(spec)], {
    cwd: process.cwd(),
    maxBuffer: 1 << 20,
    timeout: 120_000,
  });
  const seconds = (performance.now() - t0) / 1000;
  const own = process.cpuUsage(c0);
  const server = (own.user + own.system) / 1e6 / seconds;
  const res = JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult;
  const loadGenerator = res.cpuSeconds / seconds;
  const machine = (machineBusySeconds() - m0) / seconds;
  return { ...res, cores: { server, loadGenerator, other: Math.max(0, machine - server - loadGenerator) } };
}

interface Running {
  url: string;
  close(): Promise<void>;
  coldStarts(): number;
}

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
    url: `http://127.0.0.1:${port}`,
    coldStarts: () => 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function startFaas(target: GatewayTarget, hello: Prepared, coldCopies: number): Promise<Running> {
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
  gw.runtime.deploy('hello', 1, hello.artifact, hello.functionConfig);
  for (let i = 0; i < coldCopies; i++) gw.runtime.deploy(`cold-${i}`, 1, hello.artifact, hello.functionConfig);
  return {
    url: gw.url,
    coldStarts: () => gw.runtime.coldStarts,
    async close() {
      await gw.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function check(url: string): Promise<void> {
  const res = await fetch(`${url}/fn/hello`);
  const text = await res.text();
  if (res.status !== 200 || text !== HELLO) throw new Error(`${url}/fn/hello answered ${res.status} ${text.slice(0, 80)}`);
}

export async function gatewayBench(
  targets: GatewayTarget[],
  hello: Prepared,
  o: GatewayOptions,
): Promise<{ throughput: ThroughputRow[]; cold: ColdHttpRow[] }> {
  const all: GatewayTarget[] = [{ id: 'hono-ceiling', label: 'bare Hono on @hono/node-server (ceiling)' }, ...targets];
  const rounds = new Map<string, (LoadResult & { cores: Cores })[]>(all.map((t) => [t.id, []]));
  for (let r = 0; r < o.rounds; r++) {
    // Alternate the order between rounds, so that drift on the machine hits every target alike.
    const order = r % 2 === 0 ? all : [...all].reverse();
    for (const t of order) {
      const server = t.id === 'hono-ceiling' ? await startCeiling() : await startFaas(t, hello, 0);
      try {
        await check(server.url);
        const res = await load({
          url: server.url,
          path: '/fn/hello',
          connections: o.connections,
          warmupSeconds: o.warmupSeconds,
          durationSeconds: o.durationSeconds,
        });
        rounds.get(t.id)!.push(res);
        o.log(
          `  round ${r + 1} ${t.id}: ${Math.round(res.rps)} req/s, p99 ${res.latencyMs.p99.toFixed(2)} ms ` +
            `(cores busy: server ${res.cores.server.toFixed(2)}, load generator ${res.cores.loadGenerator.toFixed(2)}, other ${res.cores.other.toFixed(2)})`,
        );
      } finally {
        await server.close();
      }
    }
  }
  const throughput = all.map((t): ThroughputRow => {
    const rs = rounds.get(t.id)!;
    const requests = rs.reduce((s, x) => s + x.requests, 0);
    const seconds = rs.reduce((s, x) => s + x.durationS, 0);
    return {
      target: t.id,
      label: t.label,
      rounds: rs,
      rps: requests / seconds,
      bestRps: Math.max(...rs.map((x) => x.rps)),
      p50Ms: median(rs.map((x) => x.latencyMs.p50)),
      p99Ms: Math.max(...rs.map((x) => x.latencyMs.p99)),
      non2xx: rs.reduce((s, x) => s + x.non2xx, 0),
      errors: rs.reduce((s, x) => s + x.errors, 0),
    };
  });

  const cold: ColdHttpRow[] = [];
  for (const t of o.coldFunctions > 0 ? targets : []) {
    const server = await startFaas(t, hello, o.coldFunctions);
    try {
      await check(server.url); // warms the gateway's own code paths; 'hello' is not one of the copies
      const before = server.coldStarts();
      const result = await load({ url: server.url, pathPrefix: '/fn/cold-', connections: o.connections, amount: o.coldFunctions });
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
