/** `GET /admin/functions/<n>/source?version=`: the source a kept version was compiled from (the console's playground edits it). */
import type { Hono } from 'hono';
import { FaasError } from '../../contract/errors.ts';
import type { GatewayEnv } from '../http.ts';
import type { Registry } from '../registry/registry.ts';
import { requireFunction } from './admin.ts';
import { principalOf } from './auth.ts';

export function registerSourceRoutes(app: Hono<GatewayEnv>, deps: { registry: Registry }): void {
  app.get('/admin/functions/:name/source', async (c) => {
    const rec = requireFunction(c, deps.registry);
    const v = c.req.query('version');
    if (v !== undefined && !/^[1-9]\d{0,9}$/.test(v)) throw new FaasError('bad_request', 'version must be a positive integer');
    return c.json({ name: rec.name, ...(await deps.registry.source(rec.name, v === undefined ? undefined : Number(v), principalOf(c))) });
  });
}
