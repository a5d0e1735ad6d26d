import { randomBytes } from 'node:crypto';
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
  return header && SANE_REQUEST_ID.test(header) ? header : newRequestId();
}

/**
 * A UUID (version 8, RFC 9562's custom layout) without drawing randomness on every request: 74
 * random bits drawn once per process, then a 48-bit counter. Unique across processes and restarts
 * like a random UUID, and still 36 characters of hex and dashes.
 */
const ID_PREFIX = (() => {
  const b = randomBytes(10);
  b[6] = (b[6]! & 0x0f) | 0x80; // version 8
  b[8] = (b[8]! & 0x3f) | 0x80; // variant 10
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-`;
})();
let idCounter = 0;
export const newRequestId = (): string => ID_PREFIX + (++idCounter % 2 ** 48).toString(16).padStart(12, '0');

/**
 * A request header straight from Node's raw header list (`name` in lower case), repeated fields joined
 * with ", " as a Headers object joins them: asking Hono's request for one makes @hono/node-server build a
 * whole Headers object first.
 */
export function rawHeader(raw: string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!;
    if (k.length === name.length && k.toLowerCase() === name) value = value === undefined ? raw[i + 1] : `${value}, ${raw[i + 1]}`;
  }
  return value;
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
