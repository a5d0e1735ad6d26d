import { envFor, type EnvSpec } from './env.ts';
import { format } from './console.ts';
import { call } from './host.ts';
import { incomingRequest } from './request.ts';
import { Response, responseOut } from './response.ts';
import { exactBuffer } from './util.ts';

/** The internal API the host drives: the core script's completion value, never a global. */

interface Handlers {
  fetch?: (request: unknown, env: unknown, ctx: unknown) => unknown;
  scheduled?: (controller: unknown, env: unknown, ctx: unknown) => unknown;
}

interface IncomingRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: ArrayBuffer | null;
}

let handlers: Handlers | null = null;
/** Promises given to ctx.waitUntil, per request id, until the host asks to settle them. */
const pending = new Map<string, Promise<unknown>[]>();

export function attach(ns: any): void {
  const d = ns?.default;
  if (!d || (typeof d.fetch !== 'function' && typeof d.scheduled !== 'function')) {
    throw new TypeError("the module's default export has no fetch() handler");
  }
  handlers = d;
}

function context(id: string) {
  return {
    waitUntil(promise: unknown): void {
      let list = pending.get(id);
      if (!list) pending.set(id, (list = []));
      const p = Promise.resolve(promise);
      // handled from the start: settle() reports a rejection; it is not an unhandled one
      p.catch(() => {});
      list.push(p);
    },
    passThroughOnException(): void {},
  };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  const name = Object.getPrototypeOf(v)?.constructor?.name;
  return typeof name === 'string' && name ? name : 'object';
}

export async function dispatch(req: IncomingRequest, env: EnvSpec, reqId: string) {
  if (typeof handlers?.fetch !== 'function') throw new TypeError("the module's default export has no fetch() handler");
  const request = incomingRequest(req.method, req.url, req.headers, req.body);
  const result = await handlers.fetch(request, envFor(env), context(reqId));
  if (!(result instanceof Response)) throw new TypeError(`fetch handler must return a Response (got ${describe(result)})`);
  if (result.type === 'error') throw new TypeError('fetch handler returned Response.error()');
  const out = responseOut(result);
  // waitUntil tells the host whether settle() has anything to wait for: most requests skip that call.
  return { status: out.status, headers: out.headers, body: out.body && exactBuffer(out.body), waitUntil: pending.has(reqId) };
}

export async function scheduled(controller: { cron: string; scheduledTime: number }, env: EnvSpec, id: string): Promise<void> {
  if (typeof handlers?.scheduled !== 'function') throw new TypeError("the module's default export has no scheduled() handler");
  const event = { cron: String(controller.cron), scheduledTime: Number(controller.scheduledTime), noRetry() {} };
  await handlers.scheduled(event, envFor(env), context(id));
}

/** Resolves once every waitUntil promise of `id` has settled, including ones added meanwhile. */
export async function settle(id: string): Promise<void> {
  let done = 0;
  for (;;) {
    const list = pending.get(id);
    if (!list || done === list.length) break;
    const batch = list.slice(done);
    done = list.length;
    const results = await Promise.allSettled(batch);
    for (const r of results) {
      if (r.status === 'rejected') call('log', 'error', format(['Uncaught (in waitUntil promise)', r.reason]));
    }
  }
  pending.delete(id);
}
