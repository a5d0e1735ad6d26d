import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGateway, type Gateway, type GatewayOptions } from '../../gateway/server.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import { engineUnderTest } from './sandbox.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const FAAS_BIN = join(REPO_ROOT, 'bin/faas.js');

export type LogRecord = Record<string, any> & { msg: string };

/**
 * Worker threads for gateways the tests start (in this process or as `faas serve` children):
 * $FAAS_TEST_WORKERS, default 0 = guests run on the gateway thread. The vitest projects in
 * vitest.config.ts run the gateway suite with 0, 1 and 2.
 */
export function testWorkers(): number {
  return Number(process.env.FAAS_TEST_WORKERS ?? 0);
}

export function tempDir(prefix = 'faas-gw-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes `{ "hello.ts": "...", "hello.faas.json": {...} }` into `dir` (objects become JSON). */
export function writeFiles(dir: string, files: Record<string, string | object>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  }
}

export interface TestGateway {
  gw: Gateway;
  url: string;
  token: string;
  dataDir: string;
  functionsDir: string;
  /** Every log record the gateway wrote, parsed. */
  logs: LogRecord[];
  /** An admin request with the right token unless `token` says otherwise (null: none at all). */
  admin(method: string, path: string, body?: unknown, token?: string | null): Promise<Response>;
  /** PUT /admin/functions/<name> with `source` as `<name>.ts`. */
  deploy(name: string, source: string, config?: object): Promise<Response>;
  /** A request to /fn/<name><path>. */
  fn(name: string, path?: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export interface TestGatewayOptions extends Partial<GatewayOptions> {
  /** Files for the functions directory. */
  functions?: Record<string, string | object>;
  /** Keep the data directory on close (restart tests reuse it). */
  keepData?: boolean;
}

/** A real gateway in this process on an ephemeral port, with temp directories and a known token. */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const { functions, keepData, ...rest } = options;
  const dataDir = rest.dataDir ?? tempDir('faas-data-');
  const functionsDir = rest.functionsDir ?? tempDir('faas-fns-');
  if (functions) writeFiles(functionsDir, functions);
  const token = rest.adminToken ?? `test-token-${Math.random().toString(36).slice(2)}`;
  const logs: LogRecord[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => void logs.push(JSON.parse(line)) },
  });
  const gw = await startGateway({ port: 0, runtime: { poolSize: 1 }, workers: testWorkers(), ...engineUnderTest, logger, ...rest, dataDir, functionsDir, adminToken: token });
  const admin = (method: string, path: string, body?: unknown, tok: string | null = token) =>
    fetch(`${gw.url}${path}`, {
      method,
      headers: { ...(tok === null ? {} : { authorization: `Bearer ${tok}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  return {
    gw,
    url: gw.url,
    token,
    dataDir,
    functionsDir,
    logs,
    admin,
    deploy: (name, source, config) => admin('PUT', `/admin/functions/${name}`, { source, filename: `${name}.ts`, config }),
    fn: (name, path = '', init) => fetch(`${gw.url}/fn/${name}${path}`, init),
    async close() {
      await gw.close();
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
      if (!rest.functionsDir) rmSync(functionsDir, { recursive: true, force: true });
    },
  };
}

export interface ChildGateway {
  proc: ChildProcess;
  url: string;
  token: string;
  stdout: string[];
  stderr: string[];
  /** Settles when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL unless told otherwise; resolves on exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  dataDir: string;
  functionsDir?: string;
  token?: string;
  env?: Record<string, string>;
  args?: string[];
  /** Resolve once the port is bound instead of once functions are loaded. */
  untilListening?: boolean;
  timeoutMs?: number;
}

/** `node bin/faas.js serve` as a child process on an ephemeral port; resolves when it reports ready. */
export function spawnGateway(options: SpawnOptions): Promise<ChildGateway> {
  const token = options.token ?? 'child-token';
  // A directory that does not exist: the gateway warns and serves registered functions only.
  const functionsDir = options.functionsDir ?? join(options.dataDir, 'no-functions');
  const args = options.args ?? [];
  const workers = args.includes('--workers') ? [] : ['--workers', String(testWorkers())];
  const proc = spawn(
    process.execPath,
    [FAAS_BIN, 'serve', '--port', '0', '--data', options.dataDir, '--functions', functionsDir, ...workers, ...args],
    { cwd: REPO_ROOT, env: { ...process.env, FAAS_FROM_SOURCE: '1', FAAS_ADMIN_TOKEN: token, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.once('exit', (code, signal) => res({ code, signal })));
  const stop = (signal: NodeJS.Signals = 'SIGKILL') => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return exited;
  };
  return new Promise((resolvePromise, reject) => {
    let url: string | undefined;
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`gateway did not start within ${options.timeoutMs ?? 20_000} ms\nstderr:\n${stderr.join('\n')}`));
    }, options.timeoutMs ?? 20_000);
    lines(proc.stdout!, stdout);
    lines(proc.stderr!, stderr, (line) => {
      const listening = /listening on (\S+)/.exec(line);
      if (listening) url = listening[1];
      if (url && (options.untilListening ? listening : line.startsWith('ready:'))) {
        clearTimeout(timer);
        resolvePromise({ proc, url, token, stdout, stderr, exited, stop });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited early (code ${code}, signal ${signal})\nstderr:\n${stderr.join('\n')}`));
    });
  });
}

function lines(stream: NodeJS.ReadableStream, sink: string[], onLine?: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let i;
    while ((i = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      sink.push(line);
      onLine?.(line);
    }
  });
}

/** Runs `node bin/faas.js <args>` to completion. */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [FAAS_BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, FAAS_FROM_SOURCE: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`faas ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Polls `check` every `everyMs` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(check: () => Promise<T> | T, { timeoutMs = 5000, everyMs = 25, what = 'condition' } = {}): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Guest sources the gateway tests deploy. */
export const SOURCES = {
  hello: `export default { fetch() { return new Response('hello'); } };`,
  version: (v: string) => `export default { fetch() { return new Response(${JSON.stringify(v)}); } };`,
  echo: `export default {
    async fetch(request: Request) {
      const body = await request.text();
      return Response.json({ method: request.method, url: request.url, headers: [...request.headers], body, bodyLength: body.length });
    },
  };`,
  sleep: `export default {
    async fetch(request: Request) {
      const ms = Number(new URL(request.url).searchParams.get('ms') ?? 100);
      await new Promise((r) => setTimeout(r, ms));
      return new Response('slept ' + ms);
    },
  };`,
  spin: `export default { fetch() { for (;;) {} } };`,
  memoryBomb: `export default { fetch() { const hoard: string[] = []; for (let i = 0; ; i++) hoard.push(String(i).repeat(64)); } };`,
  hang: `export default { async fetch() { await new Promise(() => {}); return new Response('never'); } };`,
  throws: `export default { fetch() { throw new Error('boom'); } };`,
};
