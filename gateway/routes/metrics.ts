import type { Hono } from 'hono';
import type { GatewayEnv } from '../http.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';

export function registerMetricsRoute(app: Hono<GatewayEnv>, metrics: GatewayMetrics): void {
  app.get('/metrics', async (c) => {
    const { text, contentType } = await metrics.exposition();
    return c.body(text, 200, { 'content-type': contentType });
  });
}
