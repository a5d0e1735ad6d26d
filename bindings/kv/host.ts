/**
 * KV's host side, loaded wherever guests run: on the gateway thread, in each worker thread (each
 * opens its own connection to the same SQLite file: WAL lets them work concurrently, and a put is
 * committed before the guest's promise resolves, whichever thread ran it), and in `faas run`.
 */
import { join } from 'node:path';
import type { OpsProvider } from '../../runtime/index.ts';
import type { BindingHostOptions } from '../types.ts';
import { kvOps } from './ops.ts';
import { KvStore } from './store.ts';

export function createOps(options: BindingHostOptions): OpsProvider {
  const store = new KvStore(kvPath(options.dataDir));
  return { ops: kvOps(store), close: () => store.close() };
}

/** Where a data directory keeps its KV namespaces. */
export function kvPath(dataDir: string): string {
  return join(dataDir, 'kv.db');
}
