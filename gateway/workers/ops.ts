/**
 * The gateway's host operations for guests: fetch (egress-checked) and KV. In-process execution
 * uses `gatewayOps()` with the gateway's own KV store; each worker thread imports this module and
 * calls `createOps()` (see runtime/workers/protocol.ts, OpsModule), opening its own connection to
 * the same SQLite file: WAL mode lets the connections work concurrently, and a put is committed
 * before the guest's promise resolves, whichever thread ran it.
 */
import { EgressCounters } from '../../runtime/index.ts';
import { fetchOp } from '../../runtime/index.ts';
import type { BoundOp } from '../../runtime/index.ts';
import type { OpsModule, OpsProvider } from '../../runtime/index.ts';
import { kvOps } from '../bindings/kv/ops.ts';
import { KvStore } from '../bindings/kv/store.ts';

export interface WorkerOpsOptions {
  kvPath: string;
  /** EgressCounters.buffer of the gateway thread: workers count their fetches into it. */
  egressCounters?: SharedArrayBuffer;
}

export function gatewayOps(kv: KvStore, egress?: EgressCounters): Record<string, BoundOp> {
  return { fetch: fetchOp({}, egress), ...kvOps(kv) };
}

/** Called in each worker thread. */
export function createOps(options: WorkerOpsOptions): OpsProvider {
  const kv = new KvStore(options.kvPath);
  return { ops: gatewayOps(kv, new EgressCounters(options.egressCounters)), close: () => kv.close() };
}

/** How a worker finds this module. */
export function workerOpsModule(options: WorkerOpsOptions): OpsModule {
  return { module: import.meta.url, options };
}
