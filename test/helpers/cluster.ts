/** Gateways sharing one PostgreSQL database, for the `cluster` project (test/cluster/). */
import { inject } from 'vitest';
import { spawnGateway, startTestGateway, tempDir, type ChildGateway, type TestGateway } from './gateway.ts';
import { freshDatabase } from './postgres.ts';

/** The key every gateway of a test cluster signs and verifies with (a cluster needs one shared key). */
export const CLUSTER_SIGNING_KEY = 'ab'.repeat(32);

export function useClusterKey(): void {
  process.env.FAAS_SIGNING_KEY = CLUSTER_SIGNING_KEY;
}

/** A database of its own for a test file. */
export function clusterDatabase(): Promise<string> {
  return freshDatabase(inject('pg'));
}

/** `n` in-process gateways on one database (each its own data directory). */
export async function startCluster(url: string, n: number, options: Parameters<typeof startTestGateway>[0] = {}): Promise<TestGateway[]> {
  useClusterKey();
  const token = 'cluster-token';
  const out: TestGateway[] = [];
  for (let i = 0; i < n; i++) out.push(await startTestGateway({ adminToken: token, store: url, clusterPollMs: 500, ...options }));
  return out;
}

/** A gateway as a child process (`faas serve --store <url>`), for tests that SIGKILL one. */
export function spawnClusterGateway(url: string, args: string[] = []): Promise<ChildGateway> {
  return spawnGateway({
    dataDir: tempDir('faas-cluster-'),
    token: 'cluster-token',
    args: ['--store', url, '--workers', '0', ...args],
    env: { FAAS_SIGNING_KEY: CLUSTER_SIGNING_KEY },
    timeoutMs: 60_000,
  });
}
