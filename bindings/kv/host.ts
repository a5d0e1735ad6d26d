/**
 * KV's host side, loaded wherever guests run: on the gateway thread, in each worker thread (each
 * opens its own connection to the same SQLite file: WAL lets them work concurrently, and a put is
 * committed before the guest's promise resolves, whichever thread ran it), and in `faas run`. With a
 * PostgreSQL store (a cluster), each opens a small pool to the shared database instead.
 */
import { join } from 'node:path';
import { isPostgresUrl } from '../../contract/pg.ts';
import type { OpsProvider } from '../../runtime/index.ts';
import type { BindingHostOptions } from '../types.ts';
import { kvOps } from './ops.ts';
import { PgKvStore } from './pg-store.ts';
import { KvStore, type KvBackend } from './store.ts';

export function createOps(options: BindingHostOptions): OpsProvider {
  const store = openKv(options);
  return { ops: kvOps(store), close: () => void store.close() };
}

/** The KV store a data directory or a cluster store names. */
export function openKv(options: BindingHostOptions, poolSize = 2): KvBackend {
  return isPostgresUrl(options.store) ? new PgKvStore(options.store, undefined, undefined, poolSize) : new KvStore(kvPath(options.dataDir));
}

/** Where a data directory keeps its KV namespaces. */
export function kvPath(dataDir: string): string {
  return join(dataDir, 'kv.db');
}
