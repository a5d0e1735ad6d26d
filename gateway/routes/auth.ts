/**
 * Who is calling the admin API: the operator's root token (FAAS_ADMIN_TOKEN), or a tenant token
 * issued by the operator. Either way a bearer token; anything else is 401 `unauthorized`. A tenant
 * asking for what only the operator may do is 403 `forbidden`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { FaasError } from '../../contract/errors.ts';
import type { GatewayContext, GatewayEnv } from '../http.ts';
import { ROOT, type Principal, type TenantStore } from '../tenants/store.ts';

export function principalAuth(rootToken: string, tenants: Pick<TenantStore, 'authenticate'>): MiddlewareHandler<GatewayEnv> {
  const expected = digest(rootToken);
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new FaasError('unauthorized', 'missing bearer token: send Authorization: Bearer <token>');
    const presented = match[1]!;
    // Comparing digests keeps the comparison constant-time whatever the presented length.
    let principal: Principal | undefined = timingSafeEqual(digest(presented), expected) ? ROOT : undefined;
    principal ??= tenants.authenticate(presented);
    if (!principal) throw new FaasError('unauthorized', 'invalid or revoked token');
    c.set('principal', principal);
    await next();
  };
}

export function principalOf(c: GatewayContext): Principal {
  return c.get('principal') ?? ROOT;
}

/** Only the operator. */
export function requireRoot(c: GatewayContext): void {
  if (principalOf(c).kind !== 'root') throw new FaasError('forbidden', `${c.req.method} ${c.req.path} needs the operator's token`);
}

/** The operator, or a token of `tenant` itself. */
export function requireTenantAccess(c: GatewayContext, tenant: string): void {
  const p = principalOf(c);
  if (p.kind === 'tenant' && p.tenant !== tenant) throw new FaasError('forbidden', `this token belongs to tenant "${p.tenant}", not "${tenant}"`);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
