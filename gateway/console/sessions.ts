/**
 * Console sessions: signing in with a token (root or tenant) gives the browser a random session id in
 * an HttpOnly, SameSite=Strict cookie scoped to `/admin` (so it never travels with a request to a
 * function); the token itself stays in the browser's memory only for the sign-in request. The server
 * maps the id to a principal, a CSRF token and an expiry. A session ends when it expires, when its
 * owner signs out, or at once when its tenant token is revoked (checked on every request).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { getCookie } from 'hono/cookie';
import { FaasError } from '../../contract/errors.ts';
import type { GatewayContext } from '../http.ts';
import type { Principal } from '../tenants/store.ts';
import { every } from '../../contract/timers.ts';

/** Over plain http (development); behind https the `__Secure-` prefix makes browsers insist on Secure. */
export const SESSION_COOKIE = 'faas_session';
export const SECURE_SESSION_COOKIE = '__Secure-faas_session';
/** The header a cookie-authenticated state-changing request must carry, holding the session's CSRF token. */
export const CSRF_HEADER = 'x-faas-csrf';
/** Where the session cookie is sent: the admin API, never `/fn/*` or a claimed host route. */
export const COOKIE_PATH = '/admin';

export interface SessionOptions {
  /** A session unused this long ends. Default 2 h. */
  idleMs?: number;
  /** A session ends this long after sign-in, used or not. Default 12 h. */
  maxAgeMs?: number;
  /** Sessions held at most; signing in past it ends the least recently used one. Default 10,000. */
  maxSessions?: number;
  now?: () => number;
}

export interface Session {
  principal: Principal;
  csrf: string;
  createdAt: number;
  lastSeen: number;
  expiresAt: number;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class SessionStore {
  /** By the SHA-256 of the session id: the ids themselves are never kept. Map order = least recently used first. */
  private readonly sessions = new Map<string, Session>();
  private readonly idleMs: number;
  private readonly maxAgeMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    /** Whether the principal's credential still stands (a tenant token not revoked, its tenant not deleted). */
    private readonly stillValid: (p: Principal) => boolean,
    options: SessionOptions = {},
  ) {
    this.idleMs = options.idleMs ?? 2 * 3_600_000;
    this.maxAgeMs = options.maxAgeMs ?? 12 * 3_600_000;
    this.maxSessions = options.maxSessions ?? 10_000;
    this.now = options.now ?? Date.now;
    this.sweeper = every(60_000, () => this.sweep());
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A new session (never one the client named: no fixation). Returns the id for the cookie. */
  create(principal: Principal): { id: string; session: Session } {
    while (this.sessions.size >= this.maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const session: Session = { principal, csrf: randomBytes(32).toString('base64url'), createdAt: now, lastSeen: now, expiresAt: now + this.maxAgeMs };
    this.sessions.set(keyOf(id), session);
    return { id, session };
  }

  /** The live session named by `id`, touched; undefined when unknown, expired or its token was revoked. */
  resolve(id: string | undefined): Session | undefined {
    if (!id || id.length > 128) return undefined;
    const key = keyOf(id);
    const s = this.sessions.get(key);
    if (!s) return undefined;
    const now = this.now();
    if (now >= s.expiresAt || now - s.lastSeen >= this.idleMs || !this.stillValid(s.principal)) {
      this.sessions.delete(key);
      return undefined;
    }
    s.lastSeen = now;
    this.sessions.delete(key);
    this.sessions.set(key, s);
    return s;
  }

  destroy(id: string | undefined): void {
    if (id && id.length <= 128) this.sessions.delete(keyOf(id));
  }

  /** Ends every session (gateway close). */
  clear(): void {
    clearInterval(this.sweeper);
    this.sessions.clear();
  }

  sweep(): void {
    const now = this.now();
    for (const [key, s] of this.sessions) {
      if (now >= s.expiresAt || now - s.lastSeen >= this.idleMs || !this.stillValid(s.principal)) this.sessions.delete(key);
    }
  }

  /**
   * The principal of a cookie-authenticated admin request, or undefined when it carries no session
   * cookie (bearer auth then applies as before). A cookie that names no live session is 401; a
   * state-changing request without the session's CSRF token, or from another origin, is 403.
   */
  authenticate(c: GatewayContext): Principal | undefined {
    const id = sessionCookie(c);
    if (id === undefined) return undefined;
    const session = this.resolve(id);
    if (!session) throw new FaasError('unauthorized', 'console session expired or signed out: sign in again');
    if (!sameOrigin(c)) throw new FaasError('forbidden', 'cross-origin request refused for a console session');
    if (!SAFE_METHODS.has(c.req.method) && !csrfMatches(session, c.req.header(CSRF_HEADER))) {
      throw new FaasError('forbidden', `missing or wrong CSRF token: a console session must send the ${CSRF_HEADER} header on ${c.req.method}`);
    }
    return session.principal;
  }
}

export function sessionCookie(c: GatewayContext): string | undefined {
  return getCookie(c, SECURE_SESSION_COOKIE) ?? getCookie(c, SESSION_COOKIE);
}

export function csrfMatches(session: Session, presented: string | undefined): boolean {
  return presented !== undefined && timingSafeEqual(digest(presented), digest(session.csrf));
}

/** Whether the request came from a page of this origin (or from no browser page at all). */
export function sameOrigin(c: GatewayContext): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = c.req.header('origin');
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === (c.req.header('host') ?? '').toLowerCase();
  } catch {
    return false;
  }
}

/** Whether the client reached the gateway over https (directly or through a proxy that says so). */
export function isHttps(c: GatewayContext): boolean {
  return c.req.url.startsWith('https:') || c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https';
}

function keyOf(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
