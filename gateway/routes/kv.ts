/**
 * KV namespaces through the admin API (the console's KV browser): list a tenant's namespaces and a
 * namespace's keys, read, write and delete a value. A namespace is named as the tenant's functions
 * bind it; the tenant is the token's own (a tenant token can reach no other tenant's namespaces), or
 * `?tenant=` for the operator (default "default"). Writes and deletes are audited and count against
 * the tenant's kvBytes quota like a guest's.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { KvError, scopedNamespace, type KvBackend } from '../../bindings/kv/store.ts';
import { FaasError } from '../../contract/errors.ts';
import { DEFAULT_TENANT, TENANT_NAME } from '../../contract/tenants.ts';
import { readBody, type BodyBudget } from '../body.ts';
import type { ControlPlane } from '../control-plane.ts';
import type { GatewayContext, GatewayEnv } from '../http.ts';
import type { Registry } from '../registry/registry.ts';
import { audited, parseBody } from './admin.ts';
import { principalOf } from './auth.ts';

export interface KvRouteDeps {
  /** The KV store: the SQLite file, or PostgreSQL on a cluster. */
  kv: KvBackend;
  registry: Registry;
  plane: ControlPlane;
  bodyTimeoutMs: number;
  bodyBudget: BodyBudget;
}

/** Binding names, as a function's `kv` config lists them. */
const NAMESPACE = /^[A-Za-z_$][A-Za-z0-9_$]{0,127}$/;
/** A value of the store's 1 MiB maximum, base64-encoded, plus metadata and JSON framing. */
const PUT_BODY_BYTES = 2 * 1024 * 1024;

const PutBody = z
  .object({
    value: z.string(),
    encoding: z.enum(['utf8', 'base64']).default('utf8'),
    metadata: z.unknown().optional(),
    expirationTtl: z.number().optional(),
    expiration: z.number().optional(),
  })
  .strict();

export function registerKvRoutes(app: Hono<GatewayEnv>, deps: KvRouteDeps): void {
  const { registry, plane } = deps;
  const kv = deps.kv;

  app.get('/admin/kv', async (c) => {
    const tenant = tenantOf(c, plane);
    const declared = new Map<string, string[]>();
    for (const f of registry.ofTenant(tenant)) for (const ns of f.config.kv) declared.set(ns, [...(declared.get(ns) ?? []), f.name]);
    const stored = new Set(await kvCall(() => kv.namespaces(tenant)));
    const names = [...new Set([...declared.keys(), ...stored])].sort();
    return c.json({ tenant, namespaces: names.map((name) => ({ name, functions: declared.get(name) ?? [], stored: stored.has(name) })) });
  });

  app.get('/admin/kv/:ns/keys', async (c) => {
    const ns = namespaceOf(c);
    const limit = c.req.query('limit');
    if (limit !== undefined && !/^\d{1,4}$/.test(limit)) throw new FaasError('bad_request', 'limit must be an integer from 1 to 1000');
    const listed = await kvCall(() =>
      kv.list(scopedNamespace(tenantOf(c, plane), ns), { prefix: c.req.query('prefix') ?? '', cursor: c.req.query('cursor') || undefined, limit: limit === undefined ? 100 : Number(limit) }),
    );
    return c.json(listed);
  });

  app.get('/admin/kv/:ns/value', async (c) => {
    const ns = namespaceOf(c);
    const key = keyOf(c);
    const entry = await kvCall(() => kv.entry(scopedNamespace(tenantOf(c, plane), ns), key));
    if (!entry) throw new FaasError('not_found', `no key "${key.slice(0, 200)}" in KV namespace "${ns}"`);
    const text = utf8(entry.value);
    return c.json({
      key,
      value: text ?? Buffer.from(entry.value).toString('base64'),
      encoding: text === undefined ? 'base64' : 'utf8',
      bytes: entry.value.byteLength,
      metadata: entry.metadata,
      expiration: entry.expiration,
    });
  });

  app.put('/admin/kv/:ns/value', async (c) => {
    const ns = namespaceOf(c);
    const key = keyOf(c);
    const tenant = tenantOf(c, plane);
    return audited(plane, principalOf(c), 'kv.put', { tenant, name: ns, detail: { key: key.slice(0, 200) } }, async () => {
      const bytes = await readBody(c.env.incoming, { limit: PUT_BODY_BYTES, timeoutMs: deps.bodyTimeoutMs, outgoing: c.env.outgoing, budget: deps.bodyBudget });
      const body = parseBody(PutBody, bytes, 'KV value');
      const value = body.encoding === 'base64' ? base64(body.value) : new TextEncoder().encode(body.value);
      await kvCall(() => kv.put(scopedNamespace(tenant, ns), key, value, { metadata: body.metadata, expirationTtl: body.expirationTtl, expiration: body.expiration }));
      return c.body(null, 204);
    });
  });

  app.delete('/admin/kv/:ns/value', (c) => {
    const ns = namespaceOf(c);
    const key = keyOf(c);
    const tenant = tenantOf(c, plane);
    return audited(plane, principalOf(c), 'kv.delete', { tenant, name: ns, detail: { key: key.slice(0, 200) } }, async () => {
      await kvCall(() => kv.delete(scopedNamespace(tenant, ns), key));
      return c.body(null, 204);
    });
  });
}

/** The tenant whose namespaces are meant: a tenant token's own; for the operator `?tenant=` (default "default"). */
function tenantOf(c: GatewayContext, plane: ControlPlane): string {
  const asked = c.req.query('tenant') || undefined;
  if (asked !== undefined && !TENANT_NAME.test(asked)) throw new FaasError('bad_request', `invalid tenant name "${asked.slice(0, 64)}"`);
  const p = principalOf(c);
  if (p.kind === 'tenant') {
    if (asked !== undefined && asked !== p.tenant) throw new FaasError('forbidden', `this token belongs to tenant "${p.tenant}", not "${asked}"`);
    return p.tenant;
  }
  const tenant = asked ?? DEFAULT_TENANT;
  if (!plane.tenants.get(tenant)) throw new FaasError('not_found', `tenant "${tenant}" does not exist`);
  return tenant;
}

function namespaceOf(c: GatewayContext): string {
  const ns = c.req.param('ns')!;
  if (!NAMESPACE.test(ns)) throw new FaasError('bad_request', 'a KV namespace is named as functions bind it: a JavaScript identifier of at most 128 characters');
  return ns;
}

function keyOf(c: GatewayContext): string {
  const key = c.req.query('key');
  if (key === undefined || key === '') throw new FaasError('bad_request', 'the key goes in the "key" query parameter');
  return key;
}

/** The store's refusals (bad key, too large, over the quota) as HTTP errors. */
/** A store call (synchronous on SQLite, a promise on PostgreSQL), its refusals as the contract's errors. */
async function kvCall<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof KvError)) throw err;
    throw new FaasError(/quota/.test(err.message) ? 'quota_exceeded' : 'bad_request', err.message);
  }
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function base64(s: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new FaasError('bad_request', 'value is not valid base64');
  return new Uint8Array(Buffer.from(s, 'base64'));
}
