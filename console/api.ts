/**
 * The admin API as the console calls it: same origin, the session cookie (HttpOnly: never seen by
 * this code) and, on anything but GET, the session's CSRF token in its header.
 */
export type Principal = { kind: 'root' } | { kind: 'tenant'; tenant: string; tokenId: string };

export interface Session {
  principal: Principal;
  csrf: string;
  csrfHeader: string;
  expiresAt: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let session: Session | null = null;
let onSignedOut: () => void = () => {};

export function currentSession(): Session | null {
  return session;
}

export function whenSignedOut(fn: () => void): void {
  onSignedOut = fn;
}

export async function loadSession(): Promise<Session | null> {
  const res = await fetch('/admin/session', { credentials: 'same-origin' });
  const body = res.ok ? ((await res.json()) as Session | { signedIn: false }) : null;
  session = body && 'principal' in body ? body : null;
  return session;
}

export async function signIn(token: string): Promise<Session> {
  const res = await fetch('/admin/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (!res.ok) throw await errorOf(res);
  session = (await res.json()) as Session;
  return session;
}

export async function signOut(): Promise<void> {
  const s = session;
  session = null;
  await fetch('/admin/session', { method: 'DELETE', credentials: 'same-origin', headers: s ? { [s.csrfHeader]: s.csrf } : {} });
}

/** A JSON admin call; a 401 ends the session in the page too. */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await raw(method, path, body);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export async function raw(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && session) headers[session.csrfHeader] = session.csrf;
  const res = await fetch(path, { method, credentials: 'same-origin', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) {
    session = null;
    onSignedOut();
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

async function errorOf(res: Response): Promise<ApiError> {
  try {
    const j = (await res.json()) as { error?: string; message?: string };
    return new ApiError(res.status, j.error ?? 'error', j.message ?? res.statusText);
  } catch {
    return new ApiError(res.status, 'error', res.statusText || `HTTP ${res.status}`);
  }
}

export const enc = encodeURIComponent;

// Shapes of the admin API's answers the pages read.
export interface FunctionView {
  name: string;
  version: number;
  sha256: string;
  bytecodeBytes: number;
  deployedAt: string;
  origin: string;
  tenant: string;
  config: Record<string, unknown> & {
    memoryMb: number;
    cpuMs: number;
    timeoutMs: number;
    priority: number;
    maxConcurrency: number;
    allowedHosts: string[];
    env: Record<string, string>;
    kv: string[];
    crons: string[];
    routes: string[];
    isolation?: string;
    rateLimit?: { requestsPerSecond: number; burst?: number };
    stripPrefix: boolean;
  };
  secretNames?: string[];
  split?: { version: number; percent: number }[];
}

export interface Summary {
  invocations: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
  perMinute: number[];
}

export interface VersionView {
  version: number;
  sha256: string;
  bytecodeBytes: number;
  deployedAt: string;
  deployedBy: string | null;
  origin: string;
  percent: number;
}

export interface LogLine {
  at: string;
  level: string;
  source: string;
  text: string;
}

export type TailEvent =
  | { type: 'invocation'; at: string; function: string; version: number | null; requestId: string; method: string; path: string; status: number; outcome: string; ms: number; cpuMs?: number; logs: LogLine[] }
  | ({ type: 'log'; function: string; version: number | null; requestId: string | null } & LogLine);
