import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { populate, nameOf } from './scale.ts';
import { startGateway } from '../gateway/server.ts';
import { createLogger } from '../gateway/observability/logger.ts';
const N = Number(process.argv[2] ?? 3000);
const budgetMb = Number(process.argv[3] ?? 64);
const dir = mkdtempSync(join(tmpdir(), 'prof-'));
await populate(dir, N);
const g = await startGateway({ dataDir: dir, port: 0, workers: 0, logger: createLogger({ level: 'warn' }) as any, runtime: { memoryBudgetBytes: budgetMb * 2 ** 20 } });
const req = { method: 'GET', url: 'http://x/fn/a', headers: [] as [string, string][], body: null };
let t = performance.now();
for (let i = 0; i < N; i++) {
  const name = nameOf(i);
  await g.registry.materialize(name);
  await g.runtime.invoke(name, req as any);
  if ((i + 1) % 500 === 0) {
    const c = g.runtime.counts();
    console.log(i + 1, ((performance.now() - t) / 500).toFixed(2), 'ms/first request', 'resident', c.resident, 'evictions', c.instanceEvictions, 'rss', (process.memoryUsage().rss / 2 ** 20).toFixed(0));
    t = performance.now();
  }
}
await g.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
