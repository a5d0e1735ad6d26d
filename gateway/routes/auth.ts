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

/**
 * A request with an Authorization header is judged by its bearer token alone. Only a request with
 * none may stand on a console session cookie (`sessions`), which needs the session's CSRF token on
 * anything but GET and HEAD (gateway/console/sessions.ts).
 */
export function principalAuth(rootToken: string, tenants: Pick<TenantStore, 'authenticate'>, sessions?: SessionAuth): MiddlewareHandler<GatewayEnv> {
  const authenticate = tokenAuthenticator(rootToken, tenants);
  return async (c, next) => {
    const header = c.req.header('authorization');
    const fromSession = header === undefined ? await sessions?.authenticate(c) : undefined;
    if (fromSession) {
      c.set('principal', fromSession);
      return next();
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) throw new FaasError('unauthorized', 'missing bearer token: send Authorization: Bearer <token>');
    const principal = authenticate(match[1]!);
    if (!principal) throw new FaasError('unauthorized', 'invalid or revoked token');
    c.set('principal', principal);
    await next();
  };
}

/** What a console session answers for a request: its principal, undefined without a session cookie; throws when refused. */
export interface SessionAuth {
  authenticate(c: GatewayContext): Promise<Principal | undefined>;
}

/** The principal a presented token stands for: the operator's root token, a live tenant token, or nothing. */
export function tokenAuthenticator(rootToken: string, tenants: Pick<TenantStore, 'authenticate'>): (presented: string) => Principal | undefined {
  const expected = digest(rootToken);
  // Comparing digests keeps the comparison constant-time whatever the presented length.
  return (presented) => (timingSafeEqual(digest(presented), expected) ? ROOT : tenants.authenticate(presented));
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
