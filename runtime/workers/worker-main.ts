/**
 * A worker thread of a WorkerPool: one Runtime (its own engine instances and blank-sandbox pool)
 * driven by messages from the gateway thread. Started through worker.js, which registers the
 * TypeScript loader first.
 *
 * What a worker trusts: artifacts arrive already verified by the gateway thread (the registry
 * checked integrity, signature and engine), in memory, from the thread that spawned this one, the
 * first time this thread starts the function (a thread loads only what it runs). A worker reads no
 * artifact from disk, so it re-verifies nothing and never needs the signing key.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Runtime } from '../runtime.ts';
import type { BoundOp } from '../host/services.ts';
import { fromEpoch, type FromWorker, type OpsProvider, type ToWorker, type WorkerInit, type WorkerReport } from './protocol.ts';
import { fromWire, toWire } from '../../contract/errors.ts';
import type { Artifact } from '../../contract/artifact.ts';
import type { ArtifactSource } from '../loaded-function.ts';
import { StreamPort } from './stream-port.ts';
import { every } from '../../contract/timers.ts';

const init = workerData as WorkerInit;
const port = parentPort!;

const post = (msg: FromWorker, transfer?: ArrayBuffer[]) => {
  if (transfer && transfer.length > 0) {
    try {
      port.postMessage(msg, transfer);
      return;
    } catch {
      // Not transferable (e.g. a view of engine memory): fall back to a copy.
    }
  }
  port.postMessage(msg);
};

/** Request bodies the gateway streams in, response bodies it pulls out. */
const streams = new StreamPort((msg, transfer) => post(msg, transfer));

const providers: OpsProvider[] = [];
for (const ref of init.ops) {
  const mod = (await import(ref.module)) as { createOps?: (options: unknown) => OpsProvider | Promise<OpsProvider> };
  if (typeof mod.createOps !== 'function') throw new Error(`ops module ${ref.module} does not export createOps()`);
  providers.push(await mod.createOps(ref.options));
}
const ops: Record<string, BoundOp> = Object.assign({}, ...providers.map((p) => p.ops));

const runtime = await Runtime.create({ ...init.runtime, ops, log: (entry) => post({ t: 'log', entry }) });
// The prelude is built (esbuild is done here): stop esbuild's service process while this thread can
// still reap it; a child outliving its thread stays a zombie until the process exits.
await (await import('esbuild')).stop();

const report = (): WorkerReport => ({ stats: runtime.stats(), counts: runtime.counts(), poolStats: runtime.poolStats(), coldStarts: runtime.coldStarts });
const reporter = every(init.reportIntervalMs, () => post({ t: 'report', ...report() }));

port.on('message', (msg: ToWorker) => {
  if (streams.handle(msg as { t: string })) return;
  switch (msg.t) {
    case 'invoke':
      void invoke(msg);
      return;
    case 'scheduled':
      runtime.scheduled(msg.name, msg.controller, { requestId: msg.requestId, deadline: fromEpoch(msg.deadline) }).then(
        () => post({ t: 'done', id: msg.id }),
        (err) => post({ t: 'done', id: msg.id, error: toWire(err) }),
      );
      return;
    case 'artifact': {
      const waiter = needs.get(msg.id);
      needs.delete(msg.id);
      if (!waiter) return;
      if (msg.artifact) waiter.resolve(msg.artifact);
      else waiter.reject(fromWire(msg.error ?? { code: 'internal_error', message: 'artifact not sent' }));
      return;
    }
    case 'deploy':
      try {
        runtime.deploy(msg.name, msg.version, msg.artifact ?? artifactFromGateway(msg.name, msg.version, msg.sha256), msg.config, msg.options);
        post({ t: 'done', id: msg.id });
      } catch (err) {
        post({ t: 'done', id: msg.id, error: toWire(err) });
      }
      return;
    case 'undeploy':
      post({ t: 'done', id: msg.id, value: runtime.undeploy(msg.name) });
      return;
    case 'stats':
      post({ t: 'report', id: msg.id, ...report() });
      return;
    case 'close':
      void close(msg.id);
      return;
    case 'fault':
      if (msg.fault === 'throw') {
        setImmediate(() => {
          throw new Error('worker crash requested (test hook)');
        });
      } else {
        const until = Date.now() + msg.hangMs;
        while (Date.now() < until) {
          // blocked, as a host call that never returns would block it
        }
      }
      return;
  }
});
post({ t: 'ready' });
post({ t: 'report', ...report() });

/** Artifacts asked of the gateway thread, by request id. */
const needs = new Map<number, { resolve: (a: Artifact) => void; reject: (e: unknown) => void }>();
let nextNeed = 1;

/** A thread loads what it runs: the artifact comes from the gateway thread (which verified it) on first start. */
function artifactFromGateway(name: string, version: number, sha256: string): ArtifactSource {
  return {
    sha256,
    load: () =>
      new Promise<Artifact>((resolve, reject) => {
        const id = nextNeed++;
        needs.set(id, { resolve, reject });
        post({ t: 'need', id, name, version });
      }),
  };
}

async function invoke(msg: Extract<ToWorker, { t: 'invoke' }>): Promise<void> {
  let result;
  const { bodyStream, ...req } = msg.req;
  try {
    result = await runtime.invoke(msg.name, bodyStream === undefined ? req : { ...req, stream: streams.import(bodyStream) }, {
      requestId: msg.requestId,
      version: msg.version,
      deadline: fromEpoch(msg.deadline),
    });
  } catch (err) {
    post({ t: 'done', id: msg.id, error: toWire(err) });
    return;
  }
  let settled = false;
  let finalUsage = result.usage;
  const background = result.background.then((usage) => {
    settled = true;
    if (usage) finalUsage = usage;
  });
  // Most invocations have no waitUntil work: give it a turn to settle so no second message is needed.
  await Promise.resolve();
  const pending = !settled;
  const { stream, ...response } = result.response;
  post(
    {
      t: 'result',
      id: msg.id,
      response: stream ? { ...response, bodyStream: streams.export(stream) } : response,
      cold: result.cold,
      coldMs: result.coldMs,
      execMs: result.execMs,
      instanceId: result.instanceId,
      coldStarts: runtime.coldStarts,
      usage: finalUsage,
      background: pending,
    },
    response.body instanceof ArrayBuffer ? [response.body] : undefined,
  );
  if (pending) void background.then(() => post({ t: 'background', id: msg.id, usage: finalUsage }));
}

async function close(id: number): Promise<void> {
  clearInterval(reporter);
  runtime.close();
  for (const p of providers) {
    try {
      await p.close?.();
    } catch {
      // Closing is best effort: the thread exits next.
    }
  }
  post({ t: 'done', id });
  port.close();
  process.exit(0);
}
