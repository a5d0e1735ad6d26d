// workerd, Cloudflare's Workers runtime (the `workerd` npm package ships the binary), as a peer for the
// HTTP rounds and the resident footprint. It is a separate program, so it cannot join the in-process
// cold-start rounds: it serves the very bundle inside the faas artifact (esbuild's minified ES module,
// which is already a Workers module) from a generated capnp config, one socket per worker on loopback,
// all workers in one process. Linux only (/proc gives its RSS and per-thread CPU time).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { FootprintResult } from '../footprint.ts';
import type { Prepared } from '../workloads/index.ts';
import { NOT_INSTALLED } from './types.ts';

export const WORKERD_LABEL = 'workerd (one process, an isolate per worker)';
export const WORKERD_METHOD =
  'the bundle inside the faas artifact as an ES-module worker in a generated capnp config (`workerd serve --control-fd`), ' +
  'env from text bindings, one loopback socket per worker';

interface WorkerdPackage {
  default: string;
  compatibilityDate: string;
  version: string;
}

function workerdPackage(): WorkerdPackage | undefined {
  try {
    return createRequire(import.meta.url)('workerd') as WorkerdPackage;
  } catch {
    return undefined;
  }
}

/** null when workerd can run here, else why not ("not installed", or what `workerd --version` said). */
export async function workerdStatus(): Promise<string | null> {
  const pkg = workerdPackage();
  if (!pkg) return NOT_INSTALLED;
  const child = spawn(pkg.default, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', (err) => ((out += err.message), resolve(-1)));
    child.on('close', resolve);
  });
  return code === 0 ? null : `error: workerd --version exited with ${code}: ${out.trim().slice(0, 200)}`;
}

export interface WorkerdService {
  name: string;
  js: string;
  env: Record<string, string>;
}

export interface WorkerdProcess {
  pid: number;
  /** Socket (= worker) name → the port workerd bound on 127.0.0.1. */
  ports: Map<string, number>;
  /** From spawn to every socket listening (workerd compiles and evaluates every worker before it listens). */
  readyMs: number;
  close(): Promise<void>;
}

const q = JSON.stringify; // capnp text literals take the same escapes for these names and values

function capnpConfig(services: { name: string; file: string; env: Record<string, string> }[], compatibilityDate: string): string {
  const service = (s: (typeof services)[number]) =>
    `(name = ${q(s.name)}, worker = (modules = [(name = "worker.js", esModule = embed ${q(s.file)})], ` +
    `compatibilityDate = ${q(compatibilityDate)}, bindings = [${Object.entries(s.env).map(([k, v]) => `(name = ${q(k)}, text = ${q(v)})`).join(', ')}]))`;
  return [
    'using Workerd = import "/workerd/workerd.capnp";',
    'const config :Workerd.Config = (',
    `  services = [\n    ${services.map(service).join(',\n    ')}\n  ],`,
    // Port 0: workerd reports each bound port on the control fd, so parallel runs never collide.
    `  sockets = [\n    ${services.map((s) => `(name = ${q(s.name)}, address = "127.0.0.1:0", http = (), service = ${q(s.name)})`).join(',\n    ')}\n  ],`,
    ');',
    '',
  ].join('\n');
}

/** Starts one workerd process serving `services`; resolves once every socket listens. */
export async function startWorkerd(services: WorkerdService[], timeoutMs = 120_000): Promise<WorkerdProcess> {
  const pkg = workerdPackage();
  if (!pkg) throw new Error('workerd is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'faas-bench-workerd-'));
  services.forEach((s, i) => writeFileSync(join(dir, `w${i}.js`), s.js));
  writeFileSync(join(dir, 'config.capnp'), capnpConfig(services.map((s, i) => ({ name: s.name, file: `w${i}.js`, env: s.env })), pkg.compatibilityDate));

  const t0 = performance.now();
  const child = spawn(pkg.default, ['serve', join(dir, 'config.capnp'), '--control-fd=3'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const ports = new Map<string, number>();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`workerd did not listen within ${timeoutMs} ms`)), timeoutMs);
      const done = (err?: Error) => (clearTimeout(timer), err ? reject(err) : resolve());
      child.once('error', done);
      child.once('exit', (code, signal) => done(new Error(`workerd exited (${code ?? signal}) before listening: ${stderr.trim()}`)));
      createInterface({ input: child.stdio[3] as Readable }).on('line', (line) => {
        let msg: { event?: string; socket?: string; port?: number } = {};
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          return; // not a message this bench knows
        }
        if (msg.event === 'listen' && msg.socket && msg.port) ports.set(msg.socket, msg.port);
        if (ports.size === services.length) done();
      });
    });
  } catch (err) {
    await close();
    throw err;
  }
  return { pid: child.pid!, ports, readyMs: performance.now() - t0, close };
}

// ------------------------------------------------------------------------------------------------ /proc
// utime and stime are in clock ticks; USER_HZ is 100 on every Linux architecture Node runs on.
const TICKS_PER_SECOND = 100;

function statTimes(path: string): { name: string; seconds: number } {
  const s = readFileSync(path, 'utf8');
  // The command name is in parentheses and may itself contain spaces or parentheses.
  const close = s.lastIndexOf(')');
  const fields = s.slice(close + 2).split(' ');
  return { name: s.slice(s.indexOf('(') + 1, close), seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
}

/** CPU seconds a process has used, all its threads together. */
export function processCpuSeconds(pid: number): number {
  return statTimes(`/proc/${pid}/stat`).seconds;
}

/** CPU seconds per thread (thread id → name and seconds). */
export function threadCpuSeconds(pid: number): Map<string, { name: string; seconds: number }> {
  const out = new Map<string, { name: string; seconds: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(tid, statTimes(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

// ------------------------------------------------------------------------------------------- footprint
async function requestOnce(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

/**
 * RSS per resident worker: a workerd process with 1 + count copies of hello, each invoked once, against
 * one with the single copy, invoked once (one-time costs of the process and of the first request are in
 * both). workerd loads its config once, so the workers cannot be added one by one into one process as
 * the in-process peers are; "start" is the extra time to ready-and-invoke-all, per worker.
 */
export async function workerdFootprint(hello: Prepared, count: number, expected: string): Promise<FootprintResult> {
  const base = { peer: 'workerd', label: WORKERD_LABEL, workload: hello.id, count };
  const why = await workerdStatus();
  if (why) return { ...base, status: why };
  const path = new URL(hello.request.url).pathname;
  const measure = async (n: number) => {
    // A comment makes every copy a distinct script, as distinct functions would be.
    const services = Array.from({ length: n }, (_, i) => ({ name: `h${i}`, js: `${hello.artifact.js}\n// copy ${i}\n`, env: hello.env }));
    const t0 = performance.now();
    const wd = await startWorkerd(services);
    try {
      for (const s of services) {
        const res = await requestOnce(wd.ports.get(s.name)!, path);
        if (res.status !== 200 || res.body !== expected) throw new Error(`workerd ${s.name} answered ${res.status} ${res.body.slice(0, 80)}`);
      }
      const ms = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 300)); // let workerd finish what the last responses left behind
      return { rss: rssBytes(wd.pid), ms };
    } finally {
      await wd.close();
    }
  };
  try {
    const one = await measure(1);
    const all = await measure(1 + count);
    return {
      ...base,
      status: 'ok',
      rssPerInstanceKB: (all.rss - one.rss) / count / 1024,
      heapSource: 'not reported',
      startMsPerInstance: (all.ms - one.ms) / count,
    };
  } catch (err) {
    return { ...base, status: `error: ${(err as Error).message.split('\n')[0]}` };
  }
}
