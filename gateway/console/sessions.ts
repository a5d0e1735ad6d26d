/**
 * Console sessions: signing in with a token (root or tenant) gives the browser a random session id in
 * an HttpOnly, SameSite=Strict cookie scoped to `/admin` (so it never travels with a request to a
 * function); the token itself stays in the browser's memory only for the sign-in request. The store
 * every process and gateway shares (faas.db, or PostgreSQL on a cluster) maps the SHA-256 of the id to
 * a principal and its times; the CSRF token is derived from the id, so neither is ever stored. A
 * session ends when it expires, when its owner signs out, or at once when its tenant token is revoked
 * or its tenant deleted (checked on every request).
 *
 * Every check reads the row (no cache): a sign-out or a revocation on another process or gateway
 * takes effect on its next request. Only the console's admin traffic pays for it, a primary-key read.
 * `lastSeen` is written at most once per `touchEveryMs` (a minute) per session, so the idle expiry and
 * the least-recently-used order are accurate to that.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { getCookie } from 'hono/cookie';
import { FaasError } from '../../contract/errors.ts';
import type { GatewayContext } from '../http.ts';
import type { Principal } from '../tenants/store.ts';
import type { SessionBackend } from '../store/types.ts';
import { every } from '../../contract/timers.ts';

/** Over plain http (development); behind https the `__Secure-` prefix makes browsers insist on Secure. */
export const SESSION_COOKIE = 'faas_session';
export const SECURE_SESSION_COOKIE = '__Secure-faas_session';
/** The header a cookie-authenticated state-changing request must carry, holding the session's CSRF token. */
export const CSRF_HEADER = 'x-faas-csrf';
/** Where the session cookie is sent: the admin API, never `/fn/*` or a claimed host route. */
export const COOKIE_PATH = '/admin';
/** What create() issues: 32 random bytes, base64url. Anything else names no session and costs no lookup. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export interface SessionOptions {
  /** A session unused this long ends. Default 2 h. */
  idleMs?: number;
  /** A session ends this long after sign-in, used or not. Default 12 h. */
  maxAgeMs?: number;
  /** Sessions held at most; signing in past it ends the least recently used one. Default 10,000. */
  maxSessions?: number;
  /** A session's lastSeen is written to the store at most this often. Default 60 s. */
  touchEveryMs?: number;
  /** How often expired sessions are deleted from the store. Default 60 s. */
  sweepEveryMs?: number;
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
  private readonly idleMs: number;
  private readonly maxAgeMs: number;
  private readonly maxSessions: number;
  private readonly touchEveryMs: number;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly backend: SessionBackend,
    /**
     * Whether this gateway's view of tokens lets the principal's credential stand. The store's own
     * check (the row read joined to its token) is authoritative; this one can only refuse sooner.
     */
    private readonly stillValid: (p: Principal) => boolean,
    options: SessionOptions = {},
    /** The store failed (a request answered 503, or a sweep; the next one tries again): for the log, not the client. */
    private readonly onStoreError: (err: unknown) => void = () => {},
  ) {
    this.idleMs = options.idleMs ?? 2 * 3_600_000;
    this.maxAgeMs = options.maxAgeMs ?? 12 * 3_600_000;
    this.maxSessions = options.maxSessions ?? 10_000;
    // Well inside the idle window, whatever it is (a short one in tests), so a session in use never idles out.
    this.touchEveryMs = Math.min(options.touchEveryMs ?? 60_000, this.idleMs / 10);
    this.now = options.now ?? Date.now;
    this.sweeper = every(options.sweepEveryMs ?? 60_000, () => this.sweep());
  }

  /** Sessions in the store (every process's and gateway's). */
  size(): Promise<number> {
    return this.store(() => this.backend.count());
  }

  /** A new session (never one the client named: no fixation). Returns the id for the cookie. */
  async create(principal: Principal): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const session: Session = { principal, csrf: csrfOf(id), createdAt: now, lastSeen: now, expiresAt: now + this.maxAgeMs };
    await this.store(() => this.backend.insert({ key: keyOf(id), principal, createdAt: now, lastSeen: now, expiresAt: session.expiresAt }, this.maxSessions));
    return { id, session };
  }

  /**
   * The live session named by `id`, touched; undefined when unknown, expired or its credential no
   * longer stands. Throws `unavailable` when the store cannot be read.
   */
  async resolve(id: string | undefined): Promise<Session | undefined> {
    if (id === undefined || !SESSION_ID.test(id)) return undefined;
    // Looked up by its hash: what the store is searched with is nothing an attacker can choose.
    const key = keyOf(id);
    const found = await this.store(() => this.backend.get(key));
    if (!found) return undefined;
    const { record } = found;
    const now = this.now();
    if (now >= record.expiresAt || now - record.lastSeen >= this.idleMs || !found.credentialLive) {
      await this.store(() => this.backend.delete(key));
      return undefined;
    }
    // This gateway's view of tokens (a cluster's mirror may lag the database by a moment: refuse, but leave the row to the store's own check).
    if (!this.stillValid(record.principal)) return undefined;
    let lastSeen = record.lastSeen;
    if (now - lastSeen >= this.touchEveryMs) {
      await this.store(() => this.backend.touch(key, now));
      lastSeen = now;
    }
    return { principal: record.principal, csrf: csrfOf(id), createdAt: record.createdAt, lastSeen, expiresAt: record.expiresAt };
  }

  /** Ends the session named by `id` in the store: on every process and gateway at once. */
  async destroy(id: string | undefined): Promise<void> {
    if (id !== undefined && SESSION_ID.test(id)) await this.store(() => this.backend.delete(keyOf(id)));
  }

  /** Stops the sweeper (gateway close). The sessions stay in the store: a restarted gateway accepts them. */
  stop(): void {
    clearInterval(this.sweeper);
  }

  /** Deletes expired and idle sessions, and those whose token was revoked or tenant deleted. */
  async sweep(): Promise<number> {
    const now = this.now();
    return this.store(() => this.backend.sweep(now, now - this.idleMs));
  }

  /**
   * The principal of a cookie-authenticated admin request, or undefined when it carries no session
   * cookie (bearer auth then applies as before). A cookie that names no live session is 401; a
   * state-changing request without the session's CSRF token, or from another origin, is 403; a store
   * that cannot be read is 503.
   */
  async authenticate(c: GatewayContext): Promise<Principal | undefined> {
    const id = sessionCookie(c);
    if (id === undefined) return undefined;
    const session = await this.resolve(id);
    if (!session) throw new FaasError('unauthorized', 'console session expired or signed out: sign in again');
    if (!sameOrigin(c)) throw new FaasError('forbidden', 'cross-origin request refused for a console session');
    if (!SAFE_METHODS.has(c.req.method) && !csrfMatches(session, c.req.header(CSRF_HEADER))) {
      throw new FaasError('forbidden', `missing or wrong CSRF token: a console session must send the ${CSRF_HEADER} header on ${c.req.method}`);
    }
    return session.principal;
  }

  /**
   * A store that fails (the cluster database away, the file locked too long) is 503 `unavailable`,
   * never 401. The cause goes to the log only: whoever sends a cookie is not yet anybody, and the
   * database's address or path is none of their business.
   */
  private async store<T>(fn: () => T | Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      try {
        this.onStoreError(err);
      } catch {
        // a failing logger must not turn a 503 into something else
      }
      throw new FaasError('unavailable', 'the console session store is unavailable; retry shortly', { retryAfterSeconds: 1 });
    }
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

/** The key a session is stored under: the SHA-256 of its id. */
export function keyOf(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/** Derived from the id (which only the browser holds), so the store keeps no CSRF token either. */
function csrfOf(id: string): string {
  return createHmac('sha256', id).update('faas console csrf').digest('base64url');
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
