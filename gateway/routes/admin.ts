import { createHash, timingSafeEqual } from 'node:crypto';
import type { Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { assertFunctionName, parseFunctionConfig } from '../../contract/config.ts';
import { FaasError } from '../../contract/errors.ts';
import { readBody, type BodyBudget } from '../body.ts';
import type { GatewayEnv } from '../http.ts';
import { publicView, type Registry } from '../registry/registry.ts';

export interface AdminDeps {
  registry: Registry;
  adminToken: string;
  /** Cap on a deploy request (bundled sources with npm packages can be large). */
  maxDeployBytes: number;
  bodyTimeoutMs: number;
  bodyBudget: BodyBudget;
}

const DeployBody = z.object({
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
});

export function registerAdminRoutes(app: Hono<GatewayEnv>, deps: AdminDeps): void {
  app.use('/admin/*', bearerAuth(deps.adminToken));

  app.get('/admin/functions', (c) => c.json(deps.registry.list().map(publicView)));

  app.get('/admin/functions/:name', (c) => c.json(publicView(requireFunction(deps.registry, c.req.param('name')))));

  app.put('/admin/functions/:name', async (c) => {
    const name = c.req.param('name');
    assertFunctionName(name);
    const limits = { limit: deps.maxDeployBytes, timeoutMs: deps.bodyTimeoutMs, outgoing: c.env.outgoing, budget: deps.bodyBudget };
    const body = parseDeployBody(await readBody(c.env.incoming, limits));
    const config = parseFunctionConfig(body.config);
    const rec = await deps.registry.deploy(
      name,
      { entry: deps.registry.sourceEntry(body.source, body.filename), source: body.source, filename: body.filename, origin: 'api' },
      config,
    );
    return c.json({ name: rec.name, version: rec.version, sha256: rec.sha256, bytecodeBytes: rec.bytecodeBytes, deployedAt: rec.deployedAt }, 201);
  });

  app.delete('/admin/functions/:name', async (c) => {
    const name = c.req.param('name');
    assertFunctionName(name);
    if (!(await deps.registry.remove(name))) throw notDeployed(name);
    return c.body(null, 204);
  });

  app.all('/admin/functions/:name', (c) => {
    throw new FaasError('method_not_allowed', `${c.req.method} is not supported on ${c.req.path} (use GET, PUT or DELETE)`);
  });
}

function bearerAuth(token: string): MiddlewareHandler<GatewayEnv> {
  const expected = digest(token);
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new FaasError('unauthorized', 'missing bearer token: send Authorization: Bearer <token>');
    // Comparing digests keeps the comparison constant-time whatever the presented length.
    if (!timingSafeEqual(digest(match[1]!), expected)) throw new FaasError('unauthorized', 'invalid admin token');
    await next();
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function parseDeployBody(bytes: Uint8Array): z.output<typeof DeployBody> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new FaasError('bad_request', `request body is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = DeployBody.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new FaasError('bad_request', `invalid deploy request: ${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return parsed.data;
}

function requireFunction(registry: Registry, name: string) {
  assertFunctionName(name);
  const rec = registry.get(name);
  if (!rec) throw notDeployed(name);
  return rec;
}

function notDeployed(name: string): FaasError {
  return new FaasError('not_found', `function "${name}" is not deployed`);
}
