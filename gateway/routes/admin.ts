import type { Hono } from 'hono';
import { z } from 'zod';
import { assertFunctionName, parseFunctionConfig } from '../../contract/config.ts';

import { FaasError, isFaasError } from '../../contract/errors.ts';
import { DEFAULT_TENANT, TENANT_NAME } from '../../contract/tenants.ts';
import { withQuotaDefaults } from '../tenants/quota.ts';
import { readBody, type BodyBudget } from '../body.ts';
import type { ControlPlane } from '../control-plane.ts';
import type { GatewayContext, GatewayEnv } from '../http.ts';
import { publicView, type Registry, type SplitEntry } from '../registry/registry.ts';
import { principalAuth, principalOf, type SessionAuth } from './auth.ts';
import { registerLogRoutes } from './logs.ts';
import { registerTenantRoutes } from './tenants.ts';
import { registerUsageRoutes } from './usage.ts';
import type { Principal } from '../tenants/store.ts';

/** What an empty config gets (contract/config.ts), for lowering to a tenant's maxima. */
const CONFIG_DEFAULTS = parseFunctionConfig({});

export interface AdminDeps {
  registry: Registry;
  plane: ControlPlane;
  adminToken: string;
  /** Cap on a deploy request (bundled sources with npm packages can be large). */
  maxDeployBytes: number;
  bodyTimeoutMs: number;
  bodyBudget: BodyBudget;
  /** Console sessions: a request with no Authorization header may stand on one (gateway/console/sessions.ts). */
  sessions?: SessionAuth;
}

const DeployBody = z
  .object({
    source: z.string().min(1, 'must not be empty'),
    // Only ever a display name and a loader choice (nothing is read or written under it), but kept to
    // a plain file name so messages and stack traces cannot be made to show a path.
    filename: z
      .string()
      .max(128, 'must be at most 128 characters')
      .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/, 'must be a plain file name: letters, digits, ".", "_" and "-" only (no path separators, no NUL)')
      .regex(/\.(?:ts|mts|js|mjs|tsx|jsx)$/, 'must end in .ts, .js, .mts, .mjs, .tsx or .jsx')
      .default('index.ts'),
    config: z.unknown().optional(),
    /** The operator only: the tenant a new function belongs to (default "default"). */
    tenant: z.string().regex(TENANT_NAME, 'must be a tenant name').optional(),
    /** A gradual rollout: the new version takes this share of the traffic, the live one the rest. */
    percent: z.number().int().min(1).max(99).optional(),
  });

/** Largest page of GET /admin/functions (also its default). */
export const MAX_LIST_LIMIT = 1000;
const ListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(MAX_LIST_LIMIT),
    cursor: z.string().max(256).optional(),
    prefix: z.string().max(256).optional(),
    tenant: z.string().regex(TENANT_NAME, 'must be a tenant name').optional(),
  })
  .strict();

const RollbackBody = z.object({ version: z.number().int().positive().optional() }).strict();
const SplitBody = z
  .object({
    split: z.array(z.object({ version: z.number().int().positive(), percent: z.number().int().min(1).max(100) }).strict()).min(1).max(10),
  })
  .strict();

/** Small JSON bodies of the control routes (rollback, split, tenants, quotas, tokens). */
export const SMALL_BODY_BYTES = 64 * 1024;

export function registerAdminRoutes(app: Hono<GatewayEnv>, deps: AdminDeps): void {
  const { registry, plane } = deps;
  app.use('/admin/*', principalAuth(deps.adminToken, plane.tenants, deps.sessions));

  // Paged by name so a listing costs the same with 100 functions or 100,000: the next page's cursor
  // comes back in x-faas-next-cursor (absent on the last page).
  app.get('/admin/functions', (c) => {
    const q = ListQuery.safeParse(c.req.query());
    if (!q.success) throw new FaasError('bad_request', `invalid listing query: ${q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const { limit, cursor, prefix, tenant } = q.data;
    const rows = registry.page(principalOf(c), { cursor, prefix, tenant, limit: limit + 1 });
    if (rows.length > limit) {
      rows.length = limit;
      c.header('x-faas-next-cursor', rows[limit - 1]!.name);
    }
    return c.json(rows.map(publicView));
  });

  app.get('/admin/functions/:name', (c) => c.json(publicView(requireFunction(c, registry))));

  app.put('/admin/functions/:name', async (c) => {
    const name = c.req.param('name');
    assertFunctionName(name);
    const principal = principalOf(c);
    return audited(plane, principal, 'deploy', { tenant: ownTenant(principal), name }, async (target) => {
      const limits = { limit: deps.maxDeployBytes, timeoutMs: deps.bodyTimeoutMs, outgoing: c.env.outgoing, budget: deps.bodyBudget };
      return c.json(await deployFunction(deps, principal, name, parseJson(await readBody(c.env.incoming, limits)), target), 201);
    });
  });

  /** An audited change to an existing function, recorded under the function's tenant. */
  const change = (c: GatewayContext, action: string, run: (name: string, principal: Principal, target: AuditTarget) => Promise<Response>) => {
    const name = c.req.param('name')!;
    assertFunctionName(name);
    const principal = principalOf(c);
    const owner = registry.get(name, principal)?.tenant ?? ownTenant(principal);
    return audited(plane, principal, action, { tenant: owner, name }, (target) => run(name, principal, target));
  };

  app.delete('/admin/functions/:name', (c) =>
    change(c, 'delete', async (name, principal) => {
      if (!(await registry.remove(name, principal))) throw notDeployed(name);
      return c.body(null, 204);
    }),
  );

  app.get('/admin/functions/:name/versions', async (c) => {
    const name = c.req.param('name');
    assertFunctionName(name);
    return c.json(await registry.versions(name, principalOf(c)));
  });

  app.post('/admin/functions/:name/rollback', (c) =>
    change(c, 'rollback', async (name, principal, target) => {
      const body = parseBody(RollbackBody, await readSmallBody(c, deps, true), 'rollback request');
      const live = await registry.rollback(name, body.version, principal);
      target.detail = { version: live.version };
      return c.json(publicView(live));
    }),
  );

  app.get('/admin/functions/:name/deployment', (c) => {
    const rec = requireFunction(c, registry);
    return c.json({ name: rec.name, split: rec.split ?? [{ version: rec.version, percent: 100 }] });
  });

  app.put('/admin/functions/:name/deployment', (c) =>
    change(c, 'split', async (name, principal, target) => {
      const body = parseBody(SplitBody, await readSmallBody(c, deps), 'deployment');
      target.detail = { split: body.split };
      const live = await registry.setSplit(name, body.split, principal);
      return c.json({ name: live.name, split: live.split ?? [{ version: live.version, percent: 100 }] });
    }),
  );

  app.all('/admin/functions/:name', (c) => {
    throw new FaasError('method_not_allowed', `${c.req.method} is not supported on ${c.req.path} (use GET, PUT or DELETE)`);
  });

  registerLogRoutes(app, { registry, plane });
  registerTenantRoutes(app, { ...deps });
  registerUsageRoutes(app, { plane });
}

export interface AuditTarget {
  tenant: string | null;
  name?: string | null;
  detail?: Record<string, unknown>;
}

/** Runs an admin action and records it in the audit log with its outcome (ok or the error code). */
export async function audited<T>(
  plane: ControlPlane,
  principal: Principal,
  action: string,
  target: AuditTarget,
  run: (target: AuditTarget) => Promise<T> | T,
): Promise<T> {
  try {
    const out = await run(target);
    plane.audit.record(principal, action, target, 'ok', target.detail);
    return out;
  } catch (err) {
    plane.audit.record(principal, action, target, isFaasError(err) ? err.code : 'internal_error', {
      ...target.detail,
      message: err instanceof Error ? err.message.slice(0, 500) : 'error',
    });
    throw err;
  }
}

/** What a deploy answers (201). */
export interface DeployAnswer {
  name: string;
  version: number;
  sha256: string;
  bytecodeBytes: number;
  deployedAt: string;
  tenant: string;
  split?: SplitEntry[];
}

/**
 * Deploys `name` as `principal` from a deploy request (`{source, filename, config, tenant?,
 * percent?}`, already parsed from JSON): the admin API's PUT and MCP's deploy_function. Fills in
 * `target` for the audit log; the caller runs it inside audited().
 */
export async function deployFunction(
  deps: Pick<AdminDeps, 'registry' | 'plane'>,
  principal: Principal,
  name: string,
  request: unknown,
  target: AuditTarget,
): Promise<DeployAnswer> {
  const { registry, plane } = deps;
  const body = validated(DeployBody, request, 'deploy request');
  if (body.tenant !== undefined && principal.kind === 'tenant' && body.tenant !== principal.tenant) {
    throw new FaasError('forbidden', `this token belongs to tenant "${principal.tenant}", not "${body.tenant}"`);
  }
  const tenant = principal.kind === 'tenant' ? principal.tenant : (body.tenant ?? registry.get(name)?.tenant ?? DEFAULT_TENANT);
  const quota = plane.tenants.get(tenant)?.quota ?? {};
  const config = parseFunctionConfig(withQuotaDefaults(body.config, quota, CONFIG_DEFAULTS));
  const rec = await registry.deploy(
    name,
    { entry: registry.sourceEntry(body.source, body.filename), source: body.source, filename: body.filename, origin: 'api' },
    config,
    { principal, tenant: body.tenant, percent: body.percent },
  );
  target.tenant = rec.tenant;
  target.detail = { ...target.detail, version: rec.version, sha256: rec.sha256, ...(body.percent !== undefined ? { percent: body.percent } : {}) };
  const live = registry.get(name);
  return {
    name: rec.name,
    version: rec.version,
    sha256: rec.sha256,
    bytecodeBytes: rec.bytecodeBytes,
    deployedAt: rec.deployedAt,
    tenant: rec.tenant,
    ...(live?.split ? { split: live.split } : {}),
  };
}

/** The tenant a principal acts as ("default" for the operator unless told otherwise). */
export function ownTenant(p: Principal): string | null {
  return p.kind === 'tenant' ? p.tenant : null;
}

export async function readSmallBody(c: GatewayContext, deps: { bodyTimeoutMs: number; bodyBudget: BodyBudget }, optional = false): Promise<Uint8Array> {
  const bytes = await readBody(c.env.incoming, { limit: SMALL_BODY_BYTES, timeoutMs: deps.bodyTimeoutMs, outgoing: c.env.outgoing, budget: deps.bodyBudget });
  return optional && bytes.byteLength === 0 ? new TextEncoder().encode('{}') : bytes;
}

export function parseBody<S extends z.ZodType>(schema: S, bytes: Uint8Array, what: string): z.output<S> {
  return validated(schema, parseJson(bytes), what);
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new FaasError('bad_request', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** `json` as `schema` says, else `bad_request` naming the first field at fault. */
export function validated<S extends z.ZodType>(schema: S, json: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new FaasError('bad_request', `invalid ${what}: ${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return parsed.data;
}

export function requireFunction(c: GatewayContext, registry: Registry) {
  const name = c.req.param('name')!;
  assertFunctionName(name);
  const rec = registry.get(name, principalOf(c));
  if (!rec) throw notDeployed(name);
  return rec;
}

export function notDeployed(name: string): FaasError {
  return new FaasError('not_found', `function "${name}" is not deployed`);
}
