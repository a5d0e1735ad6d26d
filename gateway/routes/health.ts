import type { Hono } from 'hono';
import type { GatewayEnv } from '../http.ts';
import type { Lifecycle } from '../lifecycle.ts';

export function registerHealthRoutes(app: Hono<GatewayEnv>, lifecycle: Lifecycle): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  // Load balancers take the instance out while it starts or drains; the process itself is fine.
  // A gateway whose cluster database is away keeps serving the functions it has, but is taken out of
  // the pool: it cannot deploy, and its view of the cluster may be stale.
  app.get('/readyz', (c) => {
    if (lifecycle.phase !== 'ready') return c.json({ status: lifecycle.phase }, 503);
    const problem = lifecycle.problem();
    if (problem) return c.json({ status: 'degraded', reason: problem }, 503);
    // ready while the functions directory is still checked in the background (the registry serves meanwhile)
    const functionsDir = lifecycle.functionsDir();
    return c.json(functionsDir ? { status: 'ready', functionsDir } : { status: 'ready' });
  });
}
