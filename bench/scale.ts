// `npm run bench:scale [-- --quick] [--counts=1000,10000,100000] [--samples=200] [--deploy=20000] [--dir=100000] [--no-write]`
//
// Density at platform scale. For each N: a data directory holding N distinct hello-like functions
// (each its own source, artifact and sha256), then a real `faas serve --workers 0` started on it, as
// an operator restarts a node. Reported: time to ready, RSS before any request (and per idle deployed
// function), first-request latency of never-invoked functions (artifact read from disk, verified,
// loaded, first instance started), RSS after invoking 1% and 10% of them.
//
// Populating goes through a bulk path (one real compile of a template, then per function the
// template's bytecode with the function's name written into its string constant, signed like any
// artifact, and committed through the registry's store in batches): compiling 100,000 functions one
// by one takes this 2-core machine longer than the rest of the bench. The admin API deploy path
// (compile per function) is measured separately by `--deploy=N`: RSS sampled while N functions are
// deployed with bounded concurrency. `--dir=N` restarts on a functions directory of N unchanged files
// (time to ready, then the background check of the entries; `--counts=` with nothing runs that alone).
//
// Results: bench/results/scale.json, bench/results/scale.svg, and the "Density at platform scale"
// section of BENCHMARKS.md (unless --quick or --no-write).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileEntry } from '../compiler/index.ts';
import { verifyArtifact, writeArtifact } from '../contract/artifact.ts';
import { defaultConfigPath, parseFunctionConfig } from '../contract/config.ts';
import { loadSigningKey } from '../contract/signing-key.ts';
import { ArtifactFiles } from '../gateway/registry/artifacts.ts';
import { openRegistryDb, RegistryStore, type VersionRecord } from '../gateway/registry/store.ts';
import { summarize, type Summary } from './stats.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FAAS_BIN = join(ROOT, 'bin/faas.js');
const TOKEN = 'bench-scale-token';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const quick = args.includes('--quick');
const write = !quick && !args.includes('--no-write');
// `--counts=` (empty): no N > 0 run, e.g. for a functions-directory restart alone
const counts = (flag('counts') ?? (quick ? '100,1000' : '1000,10000,100000')).split(',').filter(Boolean).map(Number);
const samples = Number(flag('samples') ?? (quick ? 50 : 200));
const deployCount = Number(flag('deploy') ?? (quick ? 200 : 0));
const dirCount = Number(flag('dir') ?? (quick ? 200 : 0));

// ---------- generated functions ----------

/** Names are `s` + 6 digits, the same length as the marker the template is compiled with. */
export const nameOf = (i: number) => `s${String(i).padStart(6, '0')}`;
const MARKER = 'QQQQQQQ';
const sourceFor = (name: string) => `export default {\n  async fetch() {\n    return new Response('Hello from ${name}!');\n  },\n};\n`;

interface Template {
  key: Uint8Array;
  bytecode: Buffer;
  js: string;
  sourceMap: string;
  entry: string;
  sourceBytes: number;
  exports: { fetch: boolean; scheduled: boolean; verified: boolean };
}

/** Compiled once per run (on this thread); only the signature depends on the data directory's key. */
let compiledTemplate: Promise<{ bytes: Uint8Array; key: Uint8Array }> | undefined;

async function template(dataDir: string): Promise<Template> {
  const key = loadSigningKey(dataDir);
  compiledTemplate ??= (async () => {
    const own = new Uint8Array(32).fill(7);
    return { bytes: (await compileEntry({ source: sourceFor(MARKER), filename: 'hello.js' }, own, { inThread: true })).bytes, key: own };
  })();
  const compiled = await compiledTemplate;
  const a = verifyArtifact(compiled.bytes, compiled.key);
  const bytecode = Buffer.from(a.bytecode);
  if (bytecode.indexOf(MARKER, 0, 'latin1') < 0) throw new Error('the marker is not in the bytecode as a latin1 string');
  if (bytecode.readUInt32LE(1) !== bytecodeChecksum(bytecode)) throw new Error("the bytecode's checksum is not computed as bytecodeChecksum() does (engine changed?)");
  return { key, bytecode, js: a.js, sourceMap: a.sourceMap, entry: a.header.entry, sourceBytes: a.header.sourceBytes, exports: a.header.exports };
}

/**
 * QuickJS-ng's bytecode checksum (bc_csum in quickjs.c): a u32 after the version byte, over the rest.
 * Recomputed after the name is written into the template's bytecode.
 */
function bytecodeChecksum(bytecode: Buffer): number {
  const p = bytecode.subarray(5);
  const n = p.length;
  let h = 0;
  let i = 0;
  for (; i + 4 < n; i += 4) h = Math.imul((h + p.readUInt32LE(i)) >>> 0, 0x9e370001) >>> 0;
  const rest = n - i;
  const a = rest >= 1 && rest <= 3 ? p[i]! : 0;
  const b = rest >= 2 && rest <= 3 ? p[i + 1]! : 0;
  const c = rest === 3 ? p[i + 2]! : 0;
  return Math.imul((h + (a | (b << 8) | (c << 16))) >>> 0, 0x9e370001) >>> 0;
}

/** The template's artifact for `name`: the marker replaced everywhere (same length), signed anew. */
function artifactFor(t: Template, name: string) {
  const bytecode = Buffer.from(t.bytecode);
  const marker = Buffer.from(MARKER, 'latin1');
  const replacement = Buffer.from(name, 'latin1');
  for (let at = bytecode.indexOf(marker); at >= 0; at = bytecode.indexOf(marker, at + marker.length)) replacement.copy(bytecode, at);
  bytecode.writeUInt32LE(bytecodeChecksum(bytecode), 1);
  return writeArtifact(
    { bytecode, js: t.js.replaceAll(MARKER, name), sourceMap: t.sourceMap.replaceAll(MARKER, name), entry: t.entry, sourceBytes: t.sourceBytes, exports: t.exports },
    t.key,
  );
}

/** N functions into `dataDir` through the registry's store, 1,000 per transaction; 'dir' origin when `functionsDir` is given. */
export async function populate(dataDir: string, n: number, functionsDir?: string): Promise<number> {
  const started = performance.now();
  const t = await template(dataDir);
  const db = openRegistryDb(join(dataDir, 'faas.db'));
  // the bench's own connection: durability per row is not what is measured here
  db.pragma('synchronous = OFF');
  const store = new RegistryStore(db);
  const files = new ArtifactFiles(dataDir);
  const config = parseFunctionConfig({});
  if (functionsDir) mkdirSync(functionsDir, { recursive: true });
  for (let from = 0; from < n; from += 1000) {
    db.transaction(() => {
      for (let i = from; i < Math.min(n, from + 1000); i++) {
        const name = nameOf(i);
        const { bytes, header } = artifactFor(t, name);
        const artifact = files.pathFor(name, 1, header.sha256);
        mkdirSync(join(dataDir, dirname(artifact)), { recursive: true });
        writeFileSync(join(dataDir, artifact), bytes);
        const source = sourceFor(name);
        let sourceHash: string | null = null;
        if (functionsDir) {
          // what functions-dir.ts records for an unchanged entry: the bundle's hash and the stat fingerprint of its files
          const entry = join(functionsDir, `${name}.js`);
          writeFileSync(entry, source);
          sourceHash = `bench-${header.sha256}`;
          const s = statSync(entry);
          store.setDirEntry(name, JSON.stringify([[resolve(entry), s.size, s.mtimeMs], [defaultConfigPath(entry), null, null]]), sourceHash);
        }
        const rec: VersionRecord = {
          name,
          version: 1,
          sha256: header.sha256,
          bytecodeBytes: header.bytecodeBytes,
          deployedAt: new Date().toISOString(),
          config,
          artifact,
          origin: functionsDir ? 'dir' : 'api',
          filename: functionsDir ? `${name}.js` : 'hello.js',
          sourceHash,
          tenant: 'default',
          deployedBy: functionsDir ? 'dir' : 'root',
        };
        store.commit(rec, source);
      }
    })();
  }
  db.close();
  return performance.now() - started;
}

// ---------- the gateway under test ----------

interface Served {
  proc: ChildProcess;
  url: string;
  /** spawn → the "ready:" line. */
  readyMs: number;
  /** The gateway's own log: "listening" → "ready" (what depends on N: registry, routes, functions directory). */
  startupMs: number;
  stderr: string[];
  stop(): Promise<void>;
}

async function serve(dataDir: string, functionsDir = join(dataDir, 'no-functions'), extra: string[] = []): Promise<Served> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [FAAS_BIN, 'serve', '--port', '0', '--data', dataDir, '--functions', functionsDir, '--workers', '0', ...extra], {
    cwd: ROOT,
    env: { ...process.env, FAAS_ADMIN_TOKEN: TOKEN, FAAS_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  const times: Record<string, number> = {};
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  };
  let outBuf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    outBuf += d.toString();
    let nl: number;
    while ((nl = outBuf.indexOf('\n')) >= 0) {
      const line = outBuf.slice(0, nl);
      outBuf = outBuf.slice(nl + 1);
      if (!line.includes('"msg":"listening"') && !line.includes('"msg":"ready"')) continue;
      try {
        const j = JSON.parse(line) as { msg: string; time: string | number };
        times[j.msg] = typeof j.time === 'number' ? j.time : Date.parse(j.time);
      } catch {}
    }
  });
  return new Promise((resolvePromise, reject) => {
    let url: string | undefined;
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`gateway not ready within 600 s\n${stderr.join('\n')}`));
    }, 600_000);
    let errBuf = '';
    proc.stderr!.on('data', (d: Buffer) => {
      errBuf += d.toString();
      let nl: number;
      while ((nl = errBuf.indexOf('\n')) >= 0) {
        const line = errBuf.slice(0, nl);
        errBuf = errBuf.slice(nl + 1);
        if (stderr.length < 200) stderr.push(line);
        url ??= /listening on (\S+)/.exec(line)?.[1];
        if (url && line.startsWith('ready:')) {
          const readyMs = performance.now() - t0;
          clearTimeout(timer);
          // the JSON "ready" line is written just before the stderr one; give stdout a moment
          setTimeout(() => resolvePromise({ proc, url: url!, readyMs, startupMs: (times.ready ?? NaN) - (times.listening ?? NaN), stderr, stop }), 50);
        }
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`gateway exited early\n${stderr.join('\n')}`));
    });
  });
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Waits (at most `maxMs`) until the process has used no CPU for 500 ms: background work (artifact clean-up …) is done. */
async function quiet(pid: number, maxMs = 60_000): Promise<void> {
  const until = performance.now() + maxMs;
  let last = cpuTicks(pid);
  while (performance.now() < until) {
    await sleep(500);
    const now = cpuTicks(pid);
    if (now === last) return;
    last = now;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined>; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(url, { agent, headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers, ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

function send(method: string, url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(url, { agent, method, timeout: 60_000, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function metric(url: string, name: string): Promise<number> {
  const res = await get(`${url}/metrics`, { authorization: `Bearer ${TOKEN}` });
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(res.body);
  return m ? Number(m[1]) : NaN;
}

/** First request to `name` (never invoked): client-side ms, and the gateway's cold-start figure (Server-Timing). */
async function firstRequest(url: string, name: string): Promise<{ ms: number; coldMs: number }> {
  const res = await get(`${url}/fn/${name}`);
  if (res.status !== 200 || res.body !== `Hello from ${name}!`) throw new Error(`${name}: ${res.status} ${res.body.slice(0, 200)}`);
  const timing = String(res.headers['server-timing'] ?? '');
  const cold = /cold;dur=([\d.]+)/.exec(timing);
  return { ms: res.ms, coldMs: cold ? Number(cold[1]) : NaN };
}

/** Invokes each name once, `lanes` at a time. */
async function invokeAll(url: string, names: string[], lanes = 8): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < names.length) await firstRequest(url, names[next++]!);
    }),
  );
}

/** A deterministic shuffle of 0..n-1 (the order functions are first invoked in). */
function order(n: number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  let seed = 0x9e3779b9;
  for (let i = n - 1; i > 0; i--) {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

// ---------- measurements ----------

interface Row {
  n: number;
  populateMs: number;
  readyMs: number;
  startupMs: number;
  rssReady: number;
  rssIdle: number;
  firstRequest: Summary;
  coldMs: Summary;
  warm: Summary;
  rss1: number;
  rss10: number;
  resident10: number;
  loaded10: number;
  instanceEvictions10: number;
  deployed: number;
}

async function measure(n: number, work: string): Promise<Row> {
  const dataDir = join(work, `n${n}`);
  process.stderr.write(`N=${n}: populating… `);
  const populateMs = n > 0 ? await populate(dataDir, n) : 0;
  process.stderr.write(`${(populateMs / 1000).toFixed(1)} s; serving… `);
  const g = await serve(dataDir);
  try {
    const pid = g.proc.pid!;
    const rssReady = rssOf(pid);
    await quiet(pid);
    const rssIdle = rssOf(pid);
    const deployed = await metric(g.url, 'faas_functions_deployed');
    const loaded0 = await metric(g.url, 'faas_functions_loaded');
    if (deployed !== n || loaded0 !== 0) throw new Error(`expected ${n} deployed and 0 loaded, got ${deployed} and ${loaded0}`);
    process.stderr.write(`ready in ${g.readyMs.toFixed(0)} ms; requests… `);
    if (n === 0) {
      process.stderr.write('none\n');
      const none = summarize([]);
      return { n, populateMs, readyMs: g.readyMs, startupMs: g.startupMs, rssReady, rssIdle, firstRequest: none, coldMs: none, warm: none, rss1: rssIdle, rss10: rssIdle, resident10: 0, loaded10: 0, instanceEvictions10: 0, deployed };
    }
    const seq = order(n);
    const oneP = Math.max(1, Math.round(n / 100));
    const tenP = Math.max(1, Math.round(n / 10));
    // 1% then 10% of the functions invoked once each (8 at a time), RSS after each step
    await invokeAll(g.url, seq.slice(0, oneP).map(nameOf));
    await quiet(pid);
    const rss1 = rssOf(pid);
    await invokeAll(g.url, seq.slice(oneP, tenP).map(nameOf));
    await quiet(pid);
    const rss10 = rssOf(pid);
    const [resident10, loaded10, instanceEvictions10] = [await metric(g.url, 'faas_instances_resident'), await metric(g.url, 'faas_functions_loaded'), await metric(g.url, 'faas_instance_evictions_total')];
    // then the latency sample: functions never invoked before, one request at a time
    const sample = seq.slice(tenP, tenP + samples).map(nameOf);
    const first: number[] = [];
    const cold: number[] = [];
    for (const name of sample) {
      const r = await firstRequest(g.url, name);
      first.push(r.ms);
      cold.push(r.coldMs);
    }
    const warm: number[] = [];
    for (let i = 0; i < Math.min(200, samples); i++) warm.push((await firstRequest(g.url, sample[i % sample.length]!)).ms);
    const row: Row = {
      n,
      populateMs,
      readyMs: g.readyMs,
      startupMs: g.startupMs,
      rssReady,
      rssIdle,
      firstRequest: summarize(first),
      coldMs: summarize(cold.filter((x) => Number.isFinite(x))),
      warm: summarize(warm),
      rss1,
      rss10,
      resident10,
      loaded10,
      instanceEvictions10,
      deployed,
    };
    process.stderr.write(`first request p50 ${row.firstRequest.p50.toFixed(2)} ms\n`);
    return row;
  } finally {
    await g.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface DeployRun {
  count: number;
  concurrency: number;
  ms: number;
  /** [deployed so far, RSS bytes] */
  rss: [number, number][];
  failures: number;
}

/** N deploys through PUT /admin/functions/<name>, `concurrency` at a time, RSS sampled along the way. */
async function bulkDeploy(count: number, work: string, concurrency = 8): Promise<DeployRun> {
  const dataDir = join(work, 'deploy');
  const g = await serve(dataDir);
  const pid = g.proc.pid!;
  const rss: [number, number][] = [[0, rssOf(pid)]];
  const every = Math.max(1, Math.floor(count / 40));
  let done = 0;
  let failures = 0;
  let next = 0;
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const name = nameOf(next++);
          const res = await send('PUT', `${g.url}/admin/functions/${name}`, JSON.stringify({ source: sourceFor(name), filename: 'hello.js', config: {} }));
          if (res.status !== 201) {
            failures++;
            if (failures <= 3) process.stderr.write(`deploy ${name}: ${res.status} ${res.body.slice(0, 200)}\n`);
          }
          if (++done % every === 0) {
            rss.push([done, rssOf(pid)]);
            process.stderr.write(`\rdeployed ${done}/${count}, RSS ${(rssOf(pid) / 2 ** 20).toFixed(0)} MB `);
          }
        }
      }),
    );
    const ms = performance.now() - started;
    process.stderr.write('\n');
    const check = await firstRequest(g.url, nameOf(count - 1));
    void check;
    return { count, concurrency, ms, rss, failures };
  } finally {
    await g.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface DirRun {
  count: number;
  readyMs: number;
  startupMs: number;
  /** Spawn → the "functions directory synced" line: the background check of every entry done. */
  syncedMs: number;
  /** The gateway's own figure for that check (the line's "in N ms"). */
  syncMs: number;
  /** A never-invoked function's first request, sent right after ready (while the directory is being checked). */
  requestDuringSyncMs: number;
  /** What /readyz said then. */
  readyzDuringSync: string;
  rssIdle: number;
  baseline: { readyMs: number; startupMs: number; rssIdle: number };
}

/** A restart on a functions directory of N files, none changed since they were built. */
async function dirRestart(count: number, work: string): Promise<DirRun> {
  const dataDir = join(work, 'dir');
  const functionsDir = join(work, 'dir-functions');
  await populate(dataDir, count, functionsDir);
  const emptyData = join(work, 'dir-empty');
  const emptyDir = join(work, 'dir-empty-functions');
  mkdirSync(emptyDir, { recursive: true });
  try {
    const base = await serve(emptyData, emptyDir);
    await quiet(base.proc.pid!);
    const baseline = { readyMs: base.readyMs, startupMs: base.startupMs, rssIdle: rssOf(base.proc.pid!) };
    await base.stop();
    const t0 = performance.now();
    const g = await serve(dataDir, functionsDir);
    try {
      // served from the registry while the directory is checked in the background
      const during = await firstRequest(g.url, nameOf(count - 1));
      const readyz = (await get(`${g.url}/readyz`)).body;
      let line: string | undefined;
      for (let waited = 0; !(line = g.stderr.find((l) => l.startsWith('functions directory synced'))) && waited < 600_000; waited += 50) await sleep(50);
      if (!line) throw new Error('the functions directory was not synced within 600 s');
      const syncedMs = performance.now() - t0;
      const m = /, (\d+) unchanged, (\d+) deployed, (\d+) failed, in (\d+) ms/.exec(line);
      if (!m || Number(m[1]) !== count) throw new Error(`expected every entry unchanged, got: ${line}`);
      await quiet(g.proc.pid!);
      return {
        count,
        readyMs: g.readyMs,
        startupMs: g.startupMs,
        syncedMs,
        syncMs: Number(m[4]),
        requestDuringSyncMs: during.ms,
        readyzDuringSync: readyz,
        rssIdle: rssOf(g.proc.pid!),
        baseline,
      };
    } finally {
      await g.stop();
    }
  } finally {
    for (const d of [dataDir, functionsDir, emptyData, emptyDir]) rmSync(d, { recursive: true, force: true });
  }
}

// ---------- report ----------

const ms1 = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0));
const MB = (b: number) => (b / 2 ** 20).toFixed(1);
const int = (x: number) => x.toLocaleString('en-US');

function table(rows: Row[]): string {
  const base = rows.find((r) => r.n === 0)!;
  const cols = rows;
  const line = (label: string, f: (r: Row) => string) => `| ${label} | ${cols.map(f).join(' | ')} |`;
  const perFn = (r: Row) => (r.n === 0 ? '–' : `${((r.rssIdle - base.rssIdle) / r.n / 1024).toFixed(2)} KB`);
  return [
    `| | ${cols.map((r) => `N = ${int(r.n)}`).join(' | ')} |`,
    `|---|${cols.map(() => '---:').join('|')}|`,
    line('time to ready (spawn → `ready:`), ms', (r) => ms1(r.readyMs)),
    line('start-up after listen (log `listening` → `ready`), ms', (r) => ms1(r.startupMs)),
    line('RSS at ready, MB', (r) => MB(r.rssReady)),
    line('RSS idle before any request, MB', (r) => MB(r.rssIdle)),
    line('RSS per idle deployed function (vs N = 0)', perFn),
    line('first request of a never-invoked function, p50 / p99 ms (client)', (r) => (r.n ? `${ms1(r.firstRequest.p50)} / ${ms1(r.firstRequest.p99)}` : '–')),
    line('… of which load + cold start (Server-Timing `cold`), p50 / p99 ms', (r) => (r.n ? `${ms1(r.coldMs.p50)} / ${ms1(r.coldMs.p99)}` : '–')),
    line('warm request to the same functions, p50 ms (client)', (r) => (r.n ? ms1(r.warm.p50) : '–')),
    line('RSS after invoking 1%, MB', (r) => (r.n ? MB(r.rss1) : '–')),
    line('RSS after invoking 10%, MB', (r) => (r.n ? MB(r.rss10) : '–')),
    line('after 10%: loaded / resident instances / instance evictions', (r) => (r.n ? `${int(r.loaded10)} / ${int(r.resident10)} / ${int(r.instanceEvictions10)}` : '–')),
    line('populate (bulk path, not a served figure), s', (r) => (r.n ? (r.populateMs / 1000).toFixed(1) : '–')),
  ].join('\n');
}

function growth(rows: Row[]): string {
  const xs = rows.filter((r) => r.n > 0);
  if (xs.length < 2) return '';
  const a = xs[0]!;
  const b = xs[xs.length - 1]!;
  const f = b.n / a.n;
  const ratio = (x: number, y: number) => `×${(y / x).toFixed(2)}`;
  return [
    `From N = ${int(a.n)} to N = ${int(b.n)} (×${f}):`,
    `time to ready ${ratio(a.readyMs, b.readyMs)}, idle RSS ${ratio(a.rssIdle, b.rssIdle)}, first-request p50 ${ratio(a.firstRequest.p50, b.firstRequest.p50)}, ` +
      `RSS after 1% ${ratio(a.rss1, b.rss1)}, after 10% ${ratio(a.rss10, b.rss10)}.`,
  ].join(' ');
}

/** Three small panels against N (log scale): ready time, RSS (idle / 1% / 10%), first-request p50 and p99. */
function svg(rows: Row[]): string {
  const xs = rows.filter((r) => r.n > 0);
  const W = 300;
  const H = 200;
  const pad = { l: 50, r: 10, t: 28, b: 36 };
  const lx = (n: number) => Math.log10(n);
  const x0 = lx(xs[0]!.n);
  const x1 = lx(xs[xs.length - 1]!.n);
  const panel = (ox: number, title: string, unit: string, series: { label: string; color: string; ys: number[] }[], target?: number) => {
    const ymax = Math.max(target ?? 0, ...series.flatMap((s) => s.ys)) * 1.15 || 1;
    const px = (n: number) => ox + pad.l + ((lx(n) - x0) / (x1 - x0 || 1)) * (W - pad.l - pad.r);
    const py = (y: number) => pad.t + (1 - y / ymax) * (H - pad.t - pad.b);
    const out: string[] = [`<text x="${ox + W / 2}" y="16" text-anchor="middle" font-weight="bold">${title}</text>`];
    out.push(`<line x1="${ox + pad.l}" y1="${py(0)}" x2="${ox + W - pad.r}" y2="${py(0)}" stroke="#888"/>`);
    out.push(`<line x1="${ox + pad.l}" y1="${pad.t}" x2="${ox + pad.l}" y2="${py(0)}" stroke="#888"/>`);
    for (const f of [0, 0.5, 1]) {
      const y = ymax * f;
      out.push(`<text x="${ox + pad.l - 4}" y="${py(y) + 4}" text-anchor="end" font-size="10">${y < 10 ? y.toFixed(1) : y.toFixed(0)}</text>`);
    }
    out.push(`<text x="${ox + 12}" y="${pad.t + (H - pad.t - pad.b) / 2}" font-size="10" transform="rotate(-90 ${ox + 12} ${pad.t + (H - pad.t - pad.b) / 2})" text-anchor="middle">${unit}</text>`);
    for (const r of xs) out.push(`<text x="${px(r.n)}" y="${H - pad.b + 14}" text-anchor="middle" font-size="10">${r.n >= 1000 ? `${r.n / 1000}k` : r.n}</text>`);
    out.push(`<text x="${ox + W / 2}" y="${H - 6}" text-anchor="middle" font-size="10">deployed functions N (log)</text>`);
    if (target !== undefined) {
      out.push(`<line x1="${ox + pad.l}" y1="${py(target)}" x2="${ox + W - pad.r}" y2="${py(target)}" stroke="#c00" stroke-dasharray="4 3"/>`);
      out.push(`<text x="${ox + W - pad.r}" y="${py(target) - 3}" text-anchor="end" font-size="9" fill="#c00">target</text>`);
    }
    series.forEach((s, k) => {
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${xs.map((r, i) => `${px(r.n).toFixed(1)},${py(s.ys[i]!).toFixed(1)}`).join(' ')}"/>`);
      for (let i = 0; i < xs.length; i++) out.push(`<circle cx="${px(xs[i]!.n).toFixed(1)}" cy="${py(s.ys[i]!).toFixed(1)}" r="3" fill="${s.color}"/>`);
      out.push(`<text x="${ox + pad.l + 6}" y="${pad.t + 12 + k * 12}" font-size="10" fill="${s.color}">${s.label}</text>`);
    });
    return out.join('\n');
  };
  const body = [
    panel(0, 'Time to ready', 'ms', [{ label: 'spawn → ready', color: '#1f77b4', ys: xs.map((r) => r.readyMs) }], 2000),
    panel(W, 'RSS', 'MB', [
      { label: 'idle, no request', color: '#1f77b4', ys: xs.map((r) => r.rssIdle / 2 ** 20) },
      { label: 'after 1% invoked', color: '#ff7f0e', ys: xs.map((r) => r.rss1 / 2 ** 20) },
      { label: 'after 10% invoked', color: '#2ca02c', ys: xs.map((r) => r.rss10 / 2 ** 20) },
    ]),
    panel(2 * W, 'First request (never invoked)', 'ms', [
      { label: 'p50 (client)', color: '#1f77b4', ys: xs.map((r) => r.firstRequest.p50) },
      { label: 'p99 (client)', color: '#d62728', ys: xs.map((r) => r.firstRequest.p99) },
    ], 1),
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${3 * W}" height="${H}" font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" fill="white"/>\n${body.join('\n')}\n</svg>\n`;
}

function deployReport(d: DeployRun): string {
  const peak = Math.max(...d.rss.map(([, r]) => r));
  const quarter = d.rss.find(([n]) => n >= d.count / 4) ?? d.rss[1] ?? d.rss[0]!;
  const last = d.rss[d.rss.length - 1]!;
  const spark = d.rss.map(([n, r]) => `${int(n)}: ${MB(r)}`).filter((_, i, a) => i % Math.ceil(a.length / 9) === 0 || i === a.length - 1);
  return [
    `Bulk deploy through \`PUT /admin/functions/<name>\` (a compile each), ${d.concurrency} at a time: ${int(d.count)} functions in ${(d.ms / 1000).toFixed(0)} s ` +
      `(${((d.ms / d.count) * d.concurrency).toFixed(1)} ms per deploy per lane, ${(d.count / (d.ms / 1000)).toFixed(0)} deploys/s), ${d.failures} failed. ` +
      `RSS (MB) by functions deployed: ${spark.join(', ')}; peak ${MB(peak)} MB; from ${int(quarter[0])} to ${int(last[0])} deployed ${last[1] >= quarter[1] ? '+' : ''}${MB(last[1] - quarter[1])} MB.`,
  ].join('\n');
}

function dirReport(d: DirRun): string {
  return (
    `Restart on a functions directory of ${int(d.count)} files, none changed since they were built (stat fingerprints): ready in ${ms1(d.readyMs)} ms ` +
    `(start-up after listen ${ms1(d.startupMs)} ms), idle RSS ${MB(d.rssIdle)} MB; with an empty directory: ${ms1(d.baseline.readyMs)} ms ` +
    `(${ms1(d.baseline.startupMs)} ms), ${MB(d.baseline.rssIdle)} MB. The background check of the directory's entries took ${ms1(d.syncMs)} ms ` +
    `(synced ${ms1(d.syncedMs)} ms after spawn); a never-invoked function's first request sent right after ready took ${ms1(d.requestDuringSyncMs)} ms ` +
    `(/readyz then: \`${d.readyzDuringSync}\`).`
  );
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'faas-scale-'));
  try {
    const rows: Row[] = [];
    for (const n of [0, ...counts]) rows.push(await measure(n, work));
    const deploy = deployCount > 0 ? await bulkDeploy(deployCount, work) : undefined;
    const dir = dirCount > 0 ? await dirRestart(dirCount, work) : undefined;
    const md = [
      table(rows),
      '',
      growth(rows),
      '',
      ...(deploy ? [deployReport(deploy), ''] : []),
      ...(dir ? [dirReport(dir), ''] : []),
    ].join('\n');
    process.stdout.write(`\n${md}\n`);
    const results = join(ROOT, 'bench/results');
    const out = { at: new Date().toISOString(), quick, samples, rows, deploy, dir };
    if (write) {
      writeFileSync(join(results, 'scale.json'), `${JSON.stringify(out, null, 2)}\n`);
      if (rows.some((r) => r.n > 0)) writeFileSync(join(results, 'scale.svg'), svg(rows));
      const path = join(ROOT, 'BENCHMARKS.md');
      const doc = readFileSync(path, 'utf8');
      const start = '<!-- scale:start -->';
      const end = '<!-- scale:end -->';
      const section = `${start}\n${md}\n![Density at platform scale](bench/results/scale.svg)\n${end}`;
      const i = doc.indexOf(start);
      const j = doc.indexOf(end);
      writeFileSync(path, i >= 0 && j > i ? doc.slice(0, i) + section + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n## Density at platform scale\n\n${section}\n`);
      process.stderr.write('wrote bench/results/scale.json, bench/results/scale.svg and BENCHMARKS.md\n');
    } else {
      const dir2 = join(ROOT, 'bench/results/tmp');
      mkdirSync(dir2, { recursive: true });
      if (rows.some((r) => r.n > 0)) writeFileSync(join(dir2, 'scale.svg'), svg(rows));
    }
  } finally {
    agent.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
