/**
 * The web console: its page and bundled assets under `/console` (no CDN; strict CSP, no framing), and
 * the session endpoints under `/admin/session` (sign in with a token, see the session's CSRF token,
 * sign out). Everything else the console shows comes from the admin API, called with the session
 * cookie (gateway/routes/auth.ts).
 */
import type { Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { FaasError } from '../../contract/errors.ts';
import type { BodyBudget } from '../body.ts';
import type { ControlPlane } from '../control-plane.ts';
import type { GatewayContext, GatewayEnv } from '../http.ts';
import { parseBody, readSmallBody } from '../routes/admin.ts';
import type { Principal } from '../tenants/store.ts';
import { consoleAssets, type Asset } from './assets.ts';
import {
  COOKIE_PATH,
  CSRF_HEADER,
  SECURE_SESSION_COOKIE,
  SESSION_COOKIE,
  csrfMatches,
  isHttps,
  sameOrigin,
  sessionCookie,
  type SessionStore,
} from './sessions.ts';

export interface ConsoleDeps {
  plane: ControlPlane;
  sessions: SessionStore;
  /** The principal a presented token stands for (gateway/routes/auth.ts tokenAuthenticator). */
  authenticate: (token: string) => Principal | undefined;
  bodyTimeoutMs: number;
  bodyBudget: BodyBudget;
  /**
   * When set, the console and its sessions answer only on this host name, where no function is
   * served: a function's page can then never run script in the console's origin.
   */
  consoleHost?: string;
}

/** No inline script or style, nothing from elsewhere, never in a frame. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

const SignIn = z.object({ token: z.string().min(1).max(512) }).strict();

export function registerConsoleRoutes(app: Hono<GatewayEnv>, deps: ConsoleDeps): void {
  const { sessions } = deps;
  const onConsoleHost = (c: GatewayContext) => !deps.consoleHost || hostName(c.req.header('host')) === deps.consoleHost;

  app.use('/console', consoleHeaders);
  app.use('/console/*', consoleHeaders);
  app.on(['GET', 'HEAD'], ['/console', '/console/'], async (c) => {
    if (!onConsoleHost(c)) throw notHere(c);
    return send(c, (await loadAssets()).page, 'no-cache');
  });
  app.on(['GET', 'HEAD'], '/console/assets/:file', async (c) => {
    if (!onConsoleHost(c)) throw notHere(c);
    const file = (await loadAssets()).files.get(c.req.param('file'));
    if (!file) throw new FaasError('not_found', 'no such console asset');
    // Names carry their content hash: a new build is a new name.
    return send(c, file, 'public, max-age=31536000, immutable');
  });
  app.all('/console/*', (c) => {
    throw c.req.method === 'GET' || c.req.method === 'HEAD' ? notHere(c) : new FaasError('method_not_allowed', `${c.req.method} is not supported on ${c.req.path}`);
  });

  // Before the admin API's auth middleware: these make and read sessions themselves.
  app.post('/admin/session', async (c) => {
    if (!onConsoleHost(c)) throw notHere(c);
    noStore(c);
    if (!sameOrigin(c)) throw new FaasError('forbidden', 'cross-origin sign-in refused');
    // A JSON body cannot be sent cross-site without a CORS preflight, which this gateway never grants.
    if (!/^application\/json\s*(;|$)/i.test(c.req.header('content-type') ?? '')) {
      throw new FaasError('bad_request', 'sign in with a JSON body: {"token": "..."} and Content-Type: application/json');
    }
    const { token } = parseBody(SignIn, await readSmallBody(c, deps), 'sign-in request');
    const principal = deps.authenticate(token);
    if (!principal) throw new FaasError('unauthorized', 'invalid or revoked token');
    // Whatever session id the browser brought is ended, never reused: a new one is always issued.
    await sessions.destroy(sessionCookie(c));
    const { id, session } = await sessions.create(principal);
    const secure = isHttps(c);
    setCookie(c, secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE, id, {
      httpOnly: true,
      sameSite: 'Strict',
      secure,
      path: COOKIE_PATH,
      maxAge: Math.floor((session.expiresAt - session.createdAt) / 1000),
    });
    deps.plane.audit.record(principal, 'console.signin', { tenant: principal.kind === 'tenant' ? principal.tenant : null }, 'ok');
    return c.json(sessionView(principal, session), 201);
  });

  app.get('/admin/session', async (c) => {
    if (!onConsoleHost(c)) throw notHere(c);
    noStore(c);
    if (!sameOrigin(c)) throw new FaasError('forbidden', 'cross-origin request refused for a console session');
    const session = await sessions.resolve(sessionCookie(c));
    // Not an error: the console asks this first, signed in or not.
    if (!session) return c.json({ signedIn: false });
    return c.json(sessionView(session.principal, session));
  });

  app.delete('/admin/session', async (c) => {
    if (!onConsoleHost(c)) throw notHere(c);
    noStore(c);
    const id = sessionCookie(c);
    const session = await sessions.resolve(id);
    if (session) {
      if (!sameOrigin(c) || !csrfMatches(session, c.req.header(CSRF_HEADER))) {
        throw new FaasError('forbidden', `missing or wrong CSRF token: send the ${CSRF_HEADER} header to sign out`);
      }
      await sessions.destroy(id);
    }
    for (const name of [SESSION_COOKIE, SECURE_SESSION_COOKIE]) {
      deleteCookie(c, name, { path: COOKIE_PATH, secure: name === SECURE_SESSION_COOKIE || isHttps(c), httpOnly: true, sameSite: 'Strict' });
    }
    return c.body(null, 204);
  });

  app.all('/admin/session', (c) => {
    throw new FaasError('method_not_allowed', `${c.req.method} is not supported on ${c.req.path} (use POST, GET or DELETE)`);
  });
}

async function loadAssets() {
  try {
    return await consoleAssets();
  } catch (err) {
    throw new FaasError('unavailable', `the console's assets could not be built: ${(err as Error).message.slice(0, 300)} (run npm run build)`);
  }
}

async function consoleHeaders(c: GatewayContext, next: () => Promise<void>): Promise<void> {
  await next();
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
}

/** The asset, compressed as the client accepts, or 304 when its ETag matches. */
function send(c: GatewayContext, a: Asset, cacheControl: string): Response {
  const headers: Record<string, string> = { 'content-type': a.type, etag: a.etag, 'cache-control': cacheControl, vary: 'accept-encoding' };
  if (etagMatches(c.req.header('if-none-match'), a.etag)) return new Response(null, { status: 304, headers });
  const accepts = acceptedEncodings(c.req.header('accept-encoding'));
  let body = a.body;
  if (accepts.has('br')) [body, headers['content-encoding']] = [a.br, 'br'];
  else if (accepts.has('gzip')) [body, headers['content-encoding']] = [a.gzip, 'gzip'];
  headers['content-length'] = String(body.byteLength);
  return new Response(c.req.method === 'HEAD' ? null : (body as Uint8Array<ArrayBuffer>), { status: 200, headers });
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.trim() === '*' || header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/** Encodings the client accepts (a q=0 entry refuses one). */
function acceptedEncodings(header: string | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    if (name && (q === undefined || Number(q) > 0)) out.add(name);
  }
  return out;
}

function sessionView(principal: Principal, session: { csrf: string; expiresAt: number }) {
  return {
    signedIn: true,
    principal: principal.kind === 'root' ? { kind: 'root' } : { kind: 'tenant', tenant: principal.tenant, tokenId: principal.tokenId },
    csrf: session.csrf,
    csrfHeader: CSRF_HEADER,
    expiresAt: new Date(session.expiresAt).toISOString(),
  };
}

function noStore(c: GatewayContext): void {
  c.header('cache-control', 'no-store');
  c.header('x-content-type-options', 'nosniff');
}

function notHere(c: GatewayContext): FaasError {
  return new FaasError('not_found', `no route for ${c.req.method} ${c.req.path}`);
}

/** The Host header's name, lowercased, without a port. */
export function hostName(host: string | undefined): string {
  const h = (host ?? '').toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}
