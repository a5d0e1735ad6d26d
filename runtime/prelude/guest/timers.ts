import { call } from './host.ts';

/**
 * Timers live on the host's clock: the guest keeps the callbacks, the host is told when to call
 * `fireTimer(id)` back. Intervals re-arm before their callback runs, so a throwing interval keeps
 * its schedule (as in browsers) and `clearInterval` inside the callback still wins.
 */

interface Timer {
  fn: (...args: unknown[]) => void;
  args: unknown[];
  ms: number;
  repeat: boolean;
}

const timers = new Map<number, Timer>();
let lastId = 0;

/** Node's rule: delays that are not a number ≥ 1 (or exceed 2^31 − 1) become 1, except an explicit 0 for timeouts. */
function delay(ms: unknown, repeat: boolean): number {
  const n = Number(ms);
  if (!(n >= 0) || n > 0x7fffffff) return repeat ? 1 : 0;
  return repeat ? (n < 1 ? 1 : n) : n;
}

function arm(fn: unknown, ms: unknown, args: unknown[], repeat: boolean): number {
  if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
  const id = ++lastId;
  const t: Timer = { fn: fn as Timer['fn'], args, ms: delay(ms, repeat), repeat };
  callWith(MapPrototypeSet, timers, id, t);
  call('timerSet', id, t.ms);
  return id;
}

function clear(id: unknown): void {
  const n = Number(id);
  if (callWith(MapPrototypeDelete, timers, n)) call('timerClear', n);
}

/** Methods of an object literal keep their names through minification (`setTimeout.name`). */
export const timerGlobals = {
  setTimeout(fn: unknown, ms?: unknown, ...args: unknown[]): number {
    return arm(fn, ms, args, false);
  },
  setInterval(fn: unknown, ms?: unknown, ...args: unknown[]): number {
    return arm(fn, ms, args, true);
  },
  clearTimeout(id?: unknown): void {
    clear(id);
  },
  clearInterval(id?: unknown): void {
    clear(id);
  },
};

/** Called by the host when a timer is due; errors from the callback go back to the host. */
export function fireTimer(id: number): void {
  const t = callWith(MapPrototypeGet, timers, id);
  if (!t) return;
  if (t.repeat) call('timerSet', id, t.ms);
  else callWith(MapPrototypeDelete, timers, id);
  ReflectApply(t.fn, undefined, t.args);
}

/**
 * The host discarded these timers without firing them (their invocation ended): forget the
 * callbacks too, or every request that leaves a timer armed would leak its closure. The host calls
 * this under the ending invocation's CPU budget, like any other entry.
 */
export function dropTimers(ids: number[]): void {
  for (let i = 0; i < ids.length; i++) callWith(MapPrototypeDelete, timers, ids[i]);
}

/** Timers still armed: lets the host tell an idle instance from one that will wake itself up. */
export function pendingTimers(): number {
  return callWith(MapPrototypeGetSize, timers);
}
