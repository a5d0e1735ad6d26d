/**
 * QuickJS bytecode compilation and the handler probe run on a worker thread of their own, so that
 * a deploy never blocks the thread it came from (on the gateway: the HTTP thread). Compiling is
 * synchronous WASM work and the probe evaluates the module's top-level code, both of which an
 * uploaded module can make slow; here they cost the deployer a compile thread, not every other
 * request.
 *
 * One thread, started on first use and reused; jobs run one at a time in arrival order. A job that
 * does not finish within COMPILE_TIMEOUT_MS (the probe itself stops at PROBE_CPU_MS; this catches
 * whatever the interrupt handler cannot reach) terminates the thread and fails with compile_error;
 * the next job starts a fresh one. An idle thread is ended after IDLE_MS.
 */
import { Worker } from 'node:worker_threads';
import { FaasError } from '../contract/errors.ts';
import { fromWire, type WireError } from '../contract/errors.ts';
import type { CompileOutput, CompileRequest } from './bytecode.ts';

export const COMPILE_TIMEOUT_MS = 20_000;
const START_TIMEOUT_MS = 60_000;
const IDLE_MS = 30_000;
/** Built, the thread runs compile-worker-main.js itself; from source it needs the tsx loader first. */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './compile-worker.js' : './compile-worker-main.js', import.meta.url);
/** Never handed to the compile thread: it runs uploaded code and needs neither. */
const WITHHELD_ENV = ['FAAS_SIGNING_KEY', 'FAAS_ADMIN_TOKEN'];

export type CompileJob = CompileRequest & { id: number };
export type CompileReply = ({ id: number } & CompileOutput) | { id: number; error: WireError };

interface Job {
  id: number;
  request: CompileRequest;
  resolve(output: CompileOutput): void;
  reject(err: FaasError): void;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  /** The job this thread is running (or will run once ready). */
  job?: Job;
  jobTimer?: NodeJS.Timeout;
  /** Why it ended, when we ended it. */
  stopReason?: FaasError;
}

const queue: Job[] = [];
let thread: Thread | undefined;
let idleTimer: NodeJS.Timeout | undefined;
let seq = 0;

/** Compiles (and probes) `request.js` on the compile thread. */
export function compileOffThread(request: CompileRequest): Promise<CompileOutput> {
  return new Promise((resolve, reject) => {
    queue.push({ id: ++seq, request, resolve, reject });
    pump();
  });
}

function pump(): void {
  if (thread?.job || queue.length === 0) return;
  clearTimeout(idleTimer);
  const t = (thread ??= startThread());
  // A pending job keeps the process alive (`faas compile` awaits it); an idle thread does not.
  t.worker.ref();
  t.job = queue.shift()!;
  if (t.ready) send(t);
}

function send(t: Thread): void {
  const job = t.job!;
  t.jobTimer = setTimeout(() => {
    t.stopReason = new FaasError('compile_error', `${nameOf(job)}: compiling took longer than ${COMPILE_TIMEOUT_MS / 1000} s and was stopped`);
    void t.worker.terminate();
  }, COMPILE_TIMEOUT_MS);
  t.worker.postMessage({ ...job.request, id: job.id } satisfies CompileJob);
}

function startThread(): Thread {
  const env = { ...process.env };
  for (const k of WITHHELD_ENV) delete env[k];
  const worker = new Worker(WORKER_URL, { env, name: 'faas-compile' });
  const t: Thread = { worker, ready: false };
  const startTimer = setTimeout(() => {
    t.stopReason = new FaasError('internal_error', `the compile thread did not start within ${START_TIMEOUT_MS / 1000} s`);
    void worker.terminate();
  }, START_TIMEOUT_MS);
  let lastError: string | undefined;
  worker.on('message', (msg: CompileReply | { ready: true }) => {
    if ('ready' in msg) {
      clearTimeout(startTimer);
      t.ready = true;
      if (t.job) send(t);
      return;
    }
    const job = t.job;
    if (!job || msg.id !== job.id) return;
    clearTimeout(t.jobTimer);
    t.job = undefined;
    if ('error' in msg) {
      // The thread ends itself after anything but a compile_error (compile-worker-main.ts).
      if (msg.error.code !== 'compile_error' && thread === t) thread = undefined;
      job.reject(fromWire(msg.error));
    } else {
      job.resolve({ bytecode: msg.bytecode, probe: msg.probe, compileMs: msg.compileMs, probeMs: msg.probeMs });
    }
    pump();
    if (thread === t && !t.job) idle(t);
  });
  worker.on('error', (err) => {
    lastError = `${err.name}: ${err.message}`;
  });
  worker.once('exit', (code) => {
    clearTimeout(startTimer);
    clearTimeout(t.jobTimer);
    if (thread === t) thread = undefined;
    const job = t.job;
    t.job = undefined;
    if (job) {
      const reason = lastError ?? `exit code ${code}`;
      job.reject(
        t.stopReason ??
          (t.ready
            ? new FaasError('compile_error', `${nameOf(job)}: the compile thread died while compiling this module (${reason})`)
            : new FaasError('internal_error', `the compile thread failed to start: ${reason}`)),
      );
    }
    pump();
  });
  return t;
}

function nameOf(job: Job): string {
  return job.request.fallbackFile ?? job.request.filename;
}

function idle(t: Thread): void {
  t.worker.unref();
  idleTimer = setTimeout(() => {
    if (thread !== t || t.job) return;
    // forgotten at once: a job that comes before the thread has exited must start a new one, not
    // be sent to this one as it goes
    thread = undefined;
    void t.worker.terminate();
  }, IDLE_MS);
  idleTimer.unref();
}
