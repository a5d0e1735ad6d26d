import { envFor } from './env.ts';
import { format } from './console.ts';
import { call } from './host.ts';
import { incomingRequest } from './request.ts';
import { responseOut, responseState, responseType } from './response.ts';
import type { State } from './body.ts';
import { copyArray } from './safe.ts';

/** The internal API the host drives: the core script's completion value, never a global. */

interface Handlers {
  fetch?: (request: unknown, env: unknown, ctx: unknown) => unknown;
  scheduled?: (controller: unknown, env: unknown, ctx: unknown) => unknown;
}

let handlers: Handlers | null = null;
/** Promises given to ctx.waitUntil, per request id, until the host asks to settle them. */
const pending = new Map<string, Promise<unknown>[]>();
/**
 * Requests whose waitUntil work may still be awaited: from the call until the response went out
 * without any, or until settle() is done. A late waitUntil is only watched for a rejection.
 */
const open = new Set<string>();
/** The env of the last dispatch that sent one: the host sends the spec only when it changes. */
let dispatchEnv: Record<string, unknown> | undefined;

const NO_FETCH = "the module's default export has no fetch() handler";

export function attach(ns: any): void {
  const d = ns?.default;
  if (!d || (typeof d.fetch !== 'function' && typeof d.scheduled !== 'function')) throw new TypeError(NO_FETCH);
  handlers = d;
}

function reportRejection(reason: unknown): void {
  call('log', 'error', format(['Uncaught (in waitUntil promise)', reason]));
}

/** One shared function: it does nothing, so it needs no per-request closure. */
const { passThroughOnException } = { passThroughOnException(): void {} };

const ignore = () => {};

function context(id: string) {
  return {
    waitUntil(promise: unknown): void {
      const p = PromiseResolve(promise);
      if (!callWith(SetPrototypeHas, open, id)) {
        callWith(PromisePrototypeThen, p, undefined, reportRejection);
        return;
      }
      // handled from the start: settle() reports a rejection; it is not an unhandled one
      callWith(PromisePrototypeThen, p, undefined, ignore);
      const list = callWith(MapPrototypeGet, pending, id);
      if (list) callWith(ArrayPrototypePush, list, p);
      else callWith(MapPrototypeSet, pending, id, [p]);
    },
    passThroughOnException,
  };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  try {
    const name = ObjectGetPrototypeOf(v)?.constructor?.name;
    return typeof name === 'string' && name ? name : 'object';
  } catch {
    return 'object';
  }
}

async function rejected(e: unknown): Promise<never> {
  throw e;
}

/** The response as it leaves the guest (see responseOut), with whether settle() has anything to wait for. */
function finish(s: State | undefined, result: unknown, id: string): unknown[] {
  if (s === undefined) throw new TypeError('fetch handler must return a Response (got ' + describe(result) + ')');
  if (responseType(s) === 'error') throw new TypeError('fetch handler returned Response.error()');
  const waitUntil = callWith(MapPrototypeHas, pending, id);
  if (!waitUntil) callWith(SetPrototypeDelete, open, id);
  return responseOut(s, waitUntil);
}

/** A failed request gets no settle() call: forget its waitUntil work (its rejections are already handled). */
function forget(id: string): void {
  callWith(MapPrototypeDelete, pending, id);
  callWith(SetPrototypeDelete, open, id);
}

async function later(result: unknown, id: string): Promise<unknown[]> {
  try {
    const r = await result;
    return finish(responseState(r), r, id);
  } catch (e) {
    forget(id);
    throw e;
  }
}

/**
 * One request, in the compact form the engines send: method and URL, the headers as a JSON text of
 * `[name, value]` pairs (parsed only if the handler reads them), the body bytes (or the id of the host
 * stream it arrives on), the env spec as JSON
 * (undefined: same as last time) and the request id. A handler that answers synchronously gets its
 * response back without a promise; otherwise the result is a promise, rejected on any error.
 */
export function dispatch(
  method: string,
  url: string,
  headers: string | [string, string][] | null,
  body: ArrayBuffer | number | null,
  env: string | undefined,
  id: string,
): unknown {
  if (env !== undefined || dispatchEnv === undefined) dispatchEnv = envFor(env);
  const h = handlers;
  if (typeof h?.fetch !== 'function') return rejected(new TypeError(NO_FETCH));
  callWith(SetPrototypeAdd, open, id);
  let result: unknown;
  try {
    result = h.fetch(incomingRequest(method, url, headers, body), dispatchEnv, context(id));
    const s = responseState(result);
    if (s !== undefined) return finish(s, result, id);
  } catch (e) {
    forget(id);
    return rejected(e);
  }
  return later(result, id);
}

/** A cron firing: the expression and the scheduled time (ms since the epoch), the env as in dispatch, the id. */
export async function scheduled(cron: string, scheduledTime: number, env: string | undefined, id: string): Promise<void> {
  if (env !== undefined || dispatchEnv === undefined) dispatchEnv = envFor(env);
  if (typeof handlers?.scheduled !== 'function') throw new TypeError("the module's default export has no scheduled() handler");
  const event = { cron, scheduledTime, noRetry() {} };
  callWith(SetPrototypeAdd, open, id);
  try {
    await handlers.scheduled(event, dispatchEnv, context(id));
  } catch (e) {
    forget(id);
    throw e;
  }
}

/** Resolves once every waitUntil promise of `id` has settled, including ones added meanwhile. */
export async function settle(id: string): Promise<void> {
  let done = 0;
  for (;;) {
    const list = callWith(MapPrototypeGet, pending, id);
    if (!list || done === list.length) break;
    const batch = copyArray(list, done);
    done = list.length;
    for (let i = 0; i < batch.length; i++) {
      try {
        await batch[i];
      } catch (e) {
        reportRejection(e);
      }
    }
  }
  forget(id);
}

/**
 * Subscribes the host to a guest promise with the original `then` (engines without a native
 * promise-reaction API use it; a patched Promise.prototype.then never sees the host's callbacks).
 */
export function watch(p: Promise<unknown>, onFulfilled: (v: unknown) => void, onRejected: (e: unknown) => void): void {
  callWith(PromisePrototypeThen, p, onFulfilled, onRejected);
}
