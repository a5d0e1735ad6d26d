// `npm run bench:cluster [-- --quick]`: three gateways on one PostgreSQL database (started here, on
// loopback, as test/helpers/postgres.ts does; or FAAS_BENCH_PG=postgres://… to use one):
//  - deploy propagation: a deploy answered by gateway A, until gateways B and C both serve it;
//  - KV put/get latency, PostgreSQL store vs the SQLite file;
//  - cold start (first request) of a function deployed elsewhere, its artifact fetched from the
//    database, vs a function on a single SQLite gateway (artifact read from its file).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { PgKvStore } from '../bindings/kv/pg-store.ts';
import { KvStore } from '../bindings/kv/store.ts';
import { startGateway, type Gateway } from '../gateway/server.ts';
import { freshDatabase, startPostgres, stopPostgres, type PgServer } from '../test/helpers/postgres.ts';
import { summarize } from './stats.ts';

const quick = process.argv.includes('--quick');
const DEPLOYS = quick ? 15 : 50;
const KV_OPS = quick ? 300 : 2000;
const COLD = quick ? 15 : 40;
const TOKEN = 'bench-token';
process.env.FAAS_SIGNING_KEY ??= 'cd'.repeat(32);

const silent = pino({ level: 'silent' });
const dirs: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
const source = (text: string) => `export default { fetch() { return new Response(${JSON.stringify(text)}); } };`;

async function deploy(gw: Gateway, name: string, text: string): Promise<void> {
  const res = await fetch(`${gw.url}/admin/functions/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ source: source(text), filename: `${name}.ts`, config: {} }),
  });
  if (res.status !== 201) throw new Error(`deploy ${name}: ${res.status} ${await res.text()}`);
}

async function serves(gw: Gateway, name: string, text: string): Promise<boolean> {
  const res = await fetch(`${gw.url}/fn/${name}`);
  return (await res.text()) === text;
}

const gateway = (dataDir: string, store?: string) =>
  startGateway({ port: 0, dataDir, functionsDir: join(dataDir, 'none'), adminToken: TOKEN, workers: 0, logger: silent, store, clusterPollMs: 1000, runtime: { poolSize: 1 } });

const fmt = (s: ReturnType<typeof summarize>) => `p50 ${s.p50.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms (n=${s.n})`;

let server: PgServer | undefined;
const base = process.env.FAAS_BENCH_PG ?? (server = await startPostgres()).url;
try {
  const url = await freshDatabase({ url: base }, 'faas_bench');
  const [a, b, c] = [await gateway(tmp('faas-bench-a-'), url), await gateway(tmp('faas-bench-b-'), url), await gateway(tmp('faas-bench-c-'), url)];

  // Deploy propagation (the function loaded on B and C, so each deploy is a swap there).
  await deploy(a, 'prop', 'v0');
  while (!((await serves(b, 'prop', 'v0')) && (await serves(c, 'prop', 'v0')))) await new Promise((r) => setTimeout(r, 10));
  const propagation: number[] = [];
  for (let i = 1; i <= DEPLOYS; i++) {
    await deploy(a, 'prop', `v${i}`);
    const t0 = performance.now();
    const left = new Set([b, c]);
    while (left.size > 0) {
      for (const gw of [...left]) if (await serves(gw, 'prop', `v${i}`)) left.delete(gw);
      if (performance.now() - t0 > 10_000) throw new Error(`deploy ${i} did not propagate within 10 s`);
    }
    propagation.push(performance.now() - t0);
  }

  // KV latency: the store APIs directly (what a guest's put/get costs the host).
  const sqlite = new KvStore(join(tmp('faas-bench-kv-'), 'kv.db'));
  const pgkv = new PgKvStore(url);
  const value = new Uint8Array(100).fill(7);
  const kv: Record<string, { put: number[]; get: number[] }> = {};
  for (const [label, store] of [
    ['sqlite', sqlite],
    ['postgres', pgkv],
  ] as const) {
    const put: number[] = [];
    const get: number[] = [];
    for (let i = 0; i < KV_OPS; i++) {
      let t0 = performance.now();
      await store.put('BENCH', `k${i % 100}`, value);
      put.push(performance.now() - t0);
      t0 = performance.now();
      await store.get('BENCH', `k${i % 100}`);
      get.push(performance.now() - t0);
    }
    kv[label] = { put, get };
  }
  sqlite.close();
  await pgkv.close();

  // Cold start: first request on B of a function deployed on A, vs first request after a deploy on one SQLite gateway.
  const single = await gateway(tmp('faas-bench-single-'));
  const cold: Record<string, number[]> = { postgres: [], sqlite: [] };
  for (let i = 0; i < COLD; i++) {
    await deploy(a, `cold-${i}`, 'cold');
    while (!b.registry.get(`cold-${i}`)) await new Promise((r) => setTimeout(r, 5));
    let t0 = performance.now();
    if (!(await serves(b, `cold-${i}`, 'cold'))) throw new Error('cold start answered wrong');
    cold.postgres!.push(performance.now() - t0);
    await deploy(single, `cold-${i}`, 'cold');
    t0 = performance.now();
    if (!(await serves(single, `cold-${i}`, 'cold'))) throw new Error('cold start answered wrong');
    cold.sqlite!.push(performance.now() - t0);
  }
  // Rate limits across the cluster: a function limited to RATE rps, requests spread round-robin over
  // the three gateways as fast as 12 concurrent clients go, for SECONDS; admitted vs the exact bound.
  const RATE = 30;
  const SECONDS = quick ? 3 : 6;
  const res = await fetch(`${a.url}/admin/functions/limited`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ source: source('ok'), filename: 'limited.ts', config: { rateLimit: { requestsPerSecond: RATE } } }),
  });
  if (res.status !== 201) throw new Error(`deploy limited: ${res.status}`);
  for (const gw of [a, b, c]) while (!(await serves(gw, 'limited', 'ok'))) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 2000)); // buckets full again
  let admitted = 0;
  let refused = 0;
  let n = 0;
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: 12 }, async () => {
      while (performance.now() < until) {
        const gw = [a, b, c][n++ % 3]!;
        const r = await fetch(`${gw.url}/fn/limited`);
        await r.arrayBuffer();
        if (r.status === 200) admitted++;
        else refused++;
      }
    }),
  );
  const exact = RATE * SECONDS + RATE; // rate × time + one burst (capacity = 1 s worth)
  await Promise.all([a, b, c, single].map((g) => g.close()));

  console.log(`deploy propagation (A answered → B and C serve it, ${DEPLOYS} deploys): ${fmt(summarize(propagation))}`);
  for (const [label, s] of Object.entries(kv)) console.log(`KV ${label}: put ${fmt(summarize(s.put))}; get ${fmt(summarize(s.get))}`);
  console.log(`rate limit ${RATE} rps over ${SECONDS} s on 3 gateways (round-robin): admitted ${admitted}, refused ${refused}; a single gateway would admit ${exact} (error ${(((admitted - exact) / exact) * 100).toFixed(1)}%)`);
  for (const [label, s] of Object.entries(cold)) console.log(`first request after deploy, ${label === 'postgres' ? 'artifact from PostgreSQL (deployed on another gateway)' : 'artifact from the SQLite gateway’s file'}: ${fmt(summarize(s))}`);
} finally {
  if (server) stopPostgres(server);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
process.exit(0);
