import { randomUUID } from 'node:crypto';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { ERROR_STATUS, FaasError, isFaasError, type ErrorCode } from '../contract/errors.ts';
import type { Principal } from './tenants/store.ts';

/** What handlers share per request. */
export interface GatewayEnv {
  Bindings: HttpBindings;
  Variables: {
    requestId: string;
    /** Who called the admin API (set by its auth middleware). */
    principal: Principal;
    /** Set by the function route, for the access log. */
    invocation?: {
      function: string;
      queueMs?: number;
      coldMs?: number;
      execMs?: number;
      error?: string;
      worker?: number;
      version?: number;
      /** The function route already put x-request-id and server-timing on its response. */
      headersSet?: boolean;
    };
  };
}

export type GatewayContext = Context<GatewayEnv>;

// Incoming ids are echoed into headers and logs: keep them short and free of anything unusual.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function requestIdFrom(header: string | undefined): string {
  return header && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** `{ error, message, requestId }` with the contract's status; `overloaded` and `unavailable` say when to retry. */
export function errorResponse(c: GatewayContext, err: FaasError): Response {
  const headers: Record<string, string> = {};
  const retryAfter = err.detail?.retryAfterSeconds;
  if (typeof retryAfter === 'number') headers['retry-after'] = String(retryAfter);
  else if (err.code === 'overloaded' || err.code === 'unavailable') headers['retry-after'] = '1';
  // The rest of a refused body (too large, too slow, over the shared budget) is left unread; closing
  // is cheaper than draining it.
  if (err.detail?.unreadBody === true) headers.connection = 'close';
  if (err.code === 'unauthorized') headers['www-authenticate'] = 'Bearer realm="faas"';
  const status = (ERROR_STATUS[err.code as ErrorCode] ?? 500) as 400;
  return c.json({ error: err.code, message: err.message, requestId: c.get('requestId') }, status, headers);
}

export function asHttpError(err: unknown): FaasError {
  if (isFaasError(err)) return err;
  return new FaasError('internal_error', 'internal error');
}

/** `server-timing` of an invocation: queue, cold and exec durations in ms. */
export function serverTiming(t: { queueMs?: number; coldMs?: number; execMs?: number }): string {
  const parts = [`queue;dur=${fixed(t.queueMs)}`];
  if (t.coldMs !== undefined) parts.push(`cold;dur=${fixed(t.coldMs)}`);
  if (t.execMs !== undefined) parts.push(`exec;dur=${fixed(t.execMs)}`);
  return parts.join(', ');
}

const fixed = (n = 0) => n.toFixed(2);
