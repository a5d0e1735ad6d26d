/**
 * The host operations the gateway itself provides to guests, beside the bindings' (gateway/bindings.ts):
 * fetch under the egress policy. In-process execution uses `gatewayOps()`; each worker thread imports
 * this module and calls `createOps()` (see runtime/workers/protocol.ts, OpsModule), counting its
 * fetches into the gateway thread's shared counters.
 */
import { EgressCounters, fetchOp, type BoundOp, type OpsModule, type OpsProvider } from '../../runtime/index.ts';

export interface WorkerOpsOptions {
  /** EgressCounters.buffer of the gateway thread: workers count their fetches into it. */
  egressCounters?: SharedArrayBuffer;
}

export function gatewayOps(egress?: EgressCounters): Record<string, BoundOp> {
  return { fetch: fetchOp({}, egress) };
}

/** Called in each worker thread. */
export function createOps(options: WorkerOpsOptions): OpsProvider {
  return { ops: gatewayOps(new EgressCounters(options.egressCounters)) };
}

/** How a worker finds this module. */
export function workerOpsModule(options: WorkerOpsOptions): OpsModule {
  return { module: import.meta.url, options };
}
