/**
 * The compile worker thread: QuickJS bytecode compilation and the handler probe, one job at a
 * time, for compile-worker.ts on the thread that started it. Started through compile-worker.js.
 */
import { parentPort } from 'node:worker_threads';
import { toWire } from '../contract/errors.ts';
import { compileAndProbe } from './bytecode.ts';
import type { CompileJob, CompileReply } from './compile-worker.ts';

const port = parentPort!;

port.on('message', (job: CompileJob) => {
  void run(job).then((reply) => {
    port.postMessage(reply);
    // Anything but a compile_error may have left the compiler VM in a bad state (a WASM trap):
    // end the thread, and the next job gets a fresh one.
    if ('error' in reply && reply.error.code !== 'compile_error') process.exit(1);
  });
});
port.postMessage({ ready: true });

async function run(job: CompileJob): Promise<CompileReply> {
  try {
    return { id: job.id, ...(await compileAndProbe(job)) };
  } catch (err) {
    return { id: job.id, error: toWire(err) };
  }
}
