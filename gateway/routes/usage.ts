/** Usage (what an operator bills from) and the audit log; a tenant sees only its own. */
import type { Hono } from 'hono';
import { FaasError } from '../../contract/errors.ts';
import { TENANT_NAME } from '../../contract/tenants.ts';
import type { ControlPlane } from '../control-plane.ts';
import type { GatewayContext, GatewayEnv } from '../http.ts';
import { totals } from '../usage/meter.ts';
import { principalOf } from './auth.ts';

export function registerUsageRoutes(app: Hono<GatewayEnv>, deps: { plane: ControlPlane }): void {
  const { plane } = deps;

  app.get('/admin/usage', async (c) => {
    const tenant = scopedTenant(c);
    const from = isoParam(c, 'from');
    const to = isoParam(c, 'to');
    const fn = c.req.query('function');
    const rows = await plane.usage.query({ from, to, tenant, function: fn || undefined });
    return c.json({
      from: from ?? null,
      to: to ?? null,
      tenants: totals(rows, 'tenant'),
      functions: totals(rows, 'function'),
      hours: rows,
    });
  });

  app.get('/admin/audit', async (c) => {
    const tenant = scopedTenant(c);
    const before = intParam(c, 'before');
    const limit = intParam(c, 'limit');
    return c.json(await plane.audit.list({ tenant, before, limit }));
  });
}

/** The tenant asked for (?tenant=): the operator may ask for any or all, a tenant gets its own. */
function scopedTenant(c: GatewayContext): string | undefined {
  const asked = c.req.query('tenant') || undefined;
  if (asked !== undefined && !TENANT_NAME.test(asked)) throw new FaasError('bad_request', `invalid tenant name "${asked.slice(0, 64)}"`);
  const p = principalOf(c);
  if (p.kind === 'root') return asked;
  if (asked !== undefined && asked !== p.tenant) throw new FaasError('forbidden', `this token belongs to tenant "${p.tenant}", not "${asked}"`);
  return p.tenant;
}

function isoParam(c: GatewayContext, name: string): string | undefined {
  const v = c.req.query(name);
  if (!v) return undefined;
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw new FaasError('bad_request', `${name} must be a date or time such as 2026-11-30 or 2026-11-30T10:00:00Z`);
  return new Date(ms).toISOString();
}

function intParam(c: GatewayContext, name: string): number | undefined {
  const v = c.req.query(name);
  if (!v) return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new FaasError('bad_request', `${name} must be a positive integer`);
  return Number(v);
}
