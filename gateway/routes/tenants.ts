/** Tenants, their tokens and quotas: the operator's (root token) business; a tenant may read its own. */
import type { Hono } from 'hono';
import { z } from 'zod';
import { FaasError } from '../../contract/errors.ts';
import { DEFAULT_TENANT, TENANT_NAME } from '../../contract/tenants.ts';
import type { BodyBudget } from '../body.ts';
import type { ControlPlane } from '../control-plane.ts';
import type { GatewayContext, GatewayEnv } from '../http.ts';
import type { Registry } from '../registry/registry.ts';
import { QuotaSchema, type Tenant } from '../tenants/store.ts';
import { audited, parseBody, readSmallBody } from './admin.ts';
import { principalOf, requireRoot, requireTenantAccess } from './auth.ts';

export interface TenantRouteDeps {
  registry: Registry;
  plane: ControlPlane;
  bodyTimeoutMs: number;
  bodyBudget: BodyBudget;
}

const CreateTenant = z.object({ name: z.string().regex(TENANT_NAME, `must match ${TENANT_NAME.source}`), quota: QuotaSchema.optional() }).strict();
const IssueToken = z.object({ label: z.string().max(128).optional() }).strict();

export function registerTenantRoutes(app: Hono<GatewayEnv>, deps: TenantRouteDeps): void {
  const { plane, registry } = deps;
  const view = async (t: Tenant) => ({
    ...t,
    functions: registry.ofTenant(t.name).length,
    kvBytes: await plane.kvBytes(t.name),
  });

  app.get('/admin/tenants', async (c) => {
    requireRoot(c);
    return c.json(await Promise.all(plane.tenants.list().map(view)));
  });

  app.post('/admin/tenants', async (c) => {
    requireRoot(c);
    return audited(plane, principalOf(c), 'tenant.create', { tenant: null }, async (target) => {
      const body = parseBody(CreateTenant, await readSmallBody(c, deps), 'tenant');
      target.tenant = body.name;
      const t = await plane.tenants.create(body.name);
      if (body.quota) {
        await plane.tenants.setQuota(t.name, body.quota);
        t.quota = body.quota;
        target.detail = { quota: body.quota };
      }
      await plane.applyQuota(t);
      return c.json(await view(t), 201);
    });
  });

  app.get('/admin/tenants/:tenant', async (c) => {
    const t = tenantOf(c, plane);
    return c.json(await view(t));
  });

  app.delete('/admin/tenants/:tenant', async (c) => {
    requireRoot(c);
    const name = c.req.param('tenant');
    return audited(plane, principalOf(c), 'tenant.delete', { tenant: name }, async () => {
      tenantOf(c, plane);
      if (name === DEFAULT_TENANT) throw new FaasError('bad_request', `the "${DEFAULT_TENANT}" tenant cannot be deleted`);
      const left = registry.ofTenant(name).length;
      if (left > 0) throw new FaasError('conflict', `tenant "${name}" still has ${left} function(s); delete them first`);
      await plane.tenants.remove(name);
      await plane.forgetTenant(name);
      return c.body(null, 204);
    });
  });

  app.put('/admin/tenants/:tenant/quota', async (c) => {
    requireRoot(c);
    const name = c.req.param('tenant');
    return audited(plane, principalOf(c), 'quota.set', { tenant: name }, async (target) => {
      const t = tenantOf(c, plane);
      const quota = parseBody(QuotaSchema, await readSmallBody(c, deps), 'quota');
      target.detail = { quota, previous: t.quota };
      await plane.tenants.setQuota(name, quota);
      const updated = { ...t, quota };
      await plane.applyQuota(updated);
      return c.json(await view(updated));
    });
  });

  app.post('/admin/tenants/:tenant/tokens', async (c) => {
    requireRoot(c);
    const name = c.req.param('tenant');
    return audited(plane, principalOf(c), 'token.issue', { tenant: name }, async (target) => {
      tenantOf(c, plane);
      const body = parseBody(IssueToken, await readSmallBody(c, deps, true), 'token request');
      const { token, info } = await plane.tenants.issueToken(name, body.label ?? null);
      target.detail = { id: info.id, label: info.label };
      // The only time the token is shown.
      return c.json({ token, ...info }, 201);
    });
  });

  app.get('/admin/tenants/:tenant/tokens', (c) => {
    requireRoot(c);
    tenantOf(c, plane);
    return c.json(plane.tenants.tokens(c.req.param('tenant')));
  });

  app.delete('/admin/tenants/:tenant/tokens/:id', async (c) => {
    requireRoot(c);
    const name = c.req.param('tenant');
    const id = c.req.param('id');
    return audited(plane, principalOf(c), 'token.revoke', { tenant: name, detail: { id: id.slice(0, 64) } }, async () => {
      tenantOf(c, plane);
      if (!(await plane.tenants.revokeToken(name, id))) throw new FaasError('not_found', `tenant "${name}" has no live token "${id.slice(0, 64)}"`);
      return c.body(null, 204);
    });
  });
}

function tenantOf(c: GatewayContext, plane: ControlPlane): Tenant {
  const name = c.req.param('tenant')!;
  requireTenantAccess(c, name);
  if (!TENANT_NAME.test(name)) throw new FaasError('bad_request', `invalid tenant name "${name.slice(0, 64)}"`);
  const t = plane.tenants.get(name);
  if (!t) throw new FaasError('not_found', `tenant "${name}" does not exist`);
  return t;
}
