import type { Hono } from 'hono';
import type { GatewayEnv } from '../http.ts';
import type { Lifecycle } from '../lifecycle.ts';

export function registerHealthRoutes(app: Hono<GatewayEnv>, lifecycle: Lifecycle): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  // Load balancers take the instance out while it starts or drains; the process itself is fine.
  app.get('/readyz', (c) => (lifecycle.phase === 'ready' ? c.json({ status: 'ready' }) : c.json({ status: lifecycle.phase }, 503)));
}
