/**
 * The last hour of the gateway's own metrics (observability/sampler.ts), as the console charts them:
 * a summary row per function (`GET /admin/stats`), one function's series
 * (`GET /admin/functions/<n>/stats`), and the gateway's health for the operator (`GET /admin/health`).
 * A tenant sees its own functions only.
 */
import type { Hono } from 'hono';
import type { FunctionHost } from '../../runtime/index.ts';
import type { GatewayEnv } from '../http.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { MetricsSampler } from '../observability/sampler.ts';
import type { Registry } from '../registry/registry.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import { requireFunction } from './admin.ts';
import { principalOf, requireRoot } from './auth.ts';

export interface StatsRouteDeps {
  sampler: MetricsSampler;
  registry: Registry;
  runtime: FunctionHost;
  scheduler: Scheduler;
  lifecycle: Lifecycle;
}

const STARTED = Date.now();

export function registerStatsRoutes(app: Hono<GatewayEnv>, deps: StatsRouteDeps): void {
  const { sampler, registry } = deps;

  app.get('/admin/stats', (c) => {
    const functions: Record<string, ReturnType<MetricsSampler['summary']>> = {};
    for (const f of registry.list(principalOf(c))) functions[f.name] = sampler.summary(f.name);
    return c.json({ intervalMs: sampler.intervalMs, windowMs: sampler.intervalMs * sampler.points, functions });
  });

  app.get('/admin/functions/:name/stats', (c) => {
    const rec = requireFunction(c, registry);
    return c.json({ name: rec.name, ...sampler.functionWindow(rec.name) });
  });

  app.get('/admin/health', async (c) => {
    requireRoot(c);
    const { runtime, scheduler } = deps;
    await runtime.refreshStats?.();
    const stats = runtime.stats();
    const mem = process.memoryUsage();
    return c.json({
      phase: deps.lifecycle.phase,
      uptimeSeconds: Math.round((Date.now() - STARTED) / 1000),
      functions: registry.count(),
      instances: stats.reduce((n, s) => n + s.instances, 0),
      guestMemoryBytes: stats.reduce((n, s) => n + s.heapBytes, 0),
      queueDepth: scheduler.depth,
      inflight: scheduler.inflight,
      background: scheduler.background,
      maxConcurrent: scheduler.options.maxConcurrent,
      maxQueue: scheduler.options.maxQueue,
      workers: runtime.threads?.() ?? [],
      workerRestarts: runtime.restarts ?? 0,
      sandboxPools: runtime.poolStats(),
      process: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed },
      window: sampler.gatewayWindow(),
    });
  });
}
