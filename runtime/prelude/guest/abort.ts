import { internals } from './host.ts';
import { Event, EventTarget, fire, isTarget, listen, setAbortedOf, trustedEvent, unlisten } from './event-target.ts';
import { listFrom } from './safe.ts';
import { named } from './util.ts';

const ILLEGAL = {};

/** Lists of signals without a prototype: no index setter user code put on Array.prototype sees them. */
const bare = <T>(): T[] => ObjectSetPrototypeOf([], null) as T[];

let signalAbort: (signal: AbortSignal, reason: unknown) => void;
/** Makes `dependent` follow `source` (AbortSignal.any). */
let follow: (dependent: AbortSignal, source: AbortSignal) => void;
/** `[aborted, reason]` of an AbortSignal of this prelude, or undefined for anything else (read from its state, not its getters). */
let stateOf: (x: unknown) => [boolean, unknown] | undefined;

/**
 * Calls `fn` once `signal` aborts; returns how to stop watching. A signal of this prelude is watched
 * through its internal listener list; anything else (a look-alike from user code) through its own
 * addEventListener/removeEventListener.
 */
export function onAbort(signal: any, fn: () => void): () => void {
  if (isTarget(signal)) {
    listen(signal, 'abort', fn, false, true);
    return () => unlisten(signal, 'abort', fn, false);
  }
  signal.addEventListener('abort', fn, { once: true });
  return () => signal.removeEventListener('abort', fn);
}

/** Whether `signal` has aborted, and why: from its state if it is an AbortSignal, else from its properties. */
export function abortState(signal: any): [boolean, unknown] {
  return stateOf(signal) ?? [!!signal.aborted, signal.reason];
}

export class AbortSignal extends EventTarget {
  #aborted = false;
  #reason: unknown = undefined;
  #onabort: ((e: Event) => unknown) | null = null;
  #handlerInstalled = false;
  /** AbortSignal.any's result: it follows its sources, which are never dependent themselves (DOM "dependent signals"). */
  #dependent = false;
  #sources: AbortSignal[] | null = null;
  /** The signals made by AbortSignal.any from this one, held weakly: a long-lived source does not keep them alive. */
  #dependents: WeakRef<AbortSignal>[] | null = null;

  constructor(key?: unknown) {
    if (key !== ILLEGAL) throw new TypeError('Illegal constructor');
    super();
  }

  static abort(reason?: unknown): AbortSignal {
    const s = new AbortSignal(ILLEGAL);
    s.#aborted = true;
    s.#reason = reason === undefined ? new internals.DOMException('This operation was aborted', 'AbortError') : reason;
    return s;
  }

  static timeout(ms: unknown): AbortSignal {
    const s = new AbortSignal(ILLEGAL);
    internals.setTimeout(() => signalAbort(s, new internals.DOMException('The operation timed out.', 'TimeoutError')), Number(ms));
    return s;
  }

  static any(signals: Iterable<AbortSignal>): AbortSignal {
    const s = new AbortSignal(ILLEGAL);
    const list = listFrom(signals);
    if (!list) throw new TypeError('AbortSignal.any: signals must be a sequence');
    for (let i = 0; i < list.length; i++) {
      const state = abortState(list[i]);
      if (state[0]) {
        s.#aborted = true;
        s.#reason = state[1];
        return s;
      }
    }
    s.#dependent = true;
    for (let i = 0; i < list.length; i++) {
      const x = list[i];
      if (stateOf(x) === undefined) {
        // a look-alike from user code: followed through its own events
        onAbort(x, () => signalAbort(s, abortState(x)[1]));
        continue;
      }
      const signal = x as AbortSignal;
      const sources = signal.#dependent ? signal.#sources! : [signal];
      for (let j = 0; j < sources.length; j++) follow(s, sources[j]!);
    }
    return s;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  throwIfAborted(): void {
    if (this.#aborted) throw this.#reason;
  }

  get onabort(): ((e: Event) => unknown) | null {
    return this.#onabort;
  }

  /** An event handler attribute takes its place among the listeners when first set, like in the DOM. */
  set onabort(fn: ((e: Event) => unknown) | null) {
    this.#onabort = typeof fn === 'function' ? fn : null;
    if (this.#onabort && !this.#handlerInstalled) {
      this.#handlerInstalled = true;
      listen(this, 'abort', (e: Event) => {
        const handler = this.#onabort;
        if (handler) callWith(handler, this, e);
      }, false, false);
    }
  }

  static {
    stateOf = (x) => (typeof x === 'object' && x !== null && #aborted in x ? [x.#aborted, x.#reason] : undefined);
    setAbortedOf((x) => (typeof x === 'object' && x !== null && #aborted in x ? x.#aborted : undefined));
    follow = (dependent, source) => {
      const sources = (dependent.#sources ??= bare());
      if (callWith(ArrayPrototypeIncludes, sources, source)) return;
      sources[sources.length] = source;
      const list = (source.#dependents ??= bare());
      // drop the dependents that are gone before adding one
      let kept = 0;
      for (let i = 0; i < list.length; i++) if (callWith(WeakRefPrototypeDeref, list[i]!) !== undefined) list[kept++] = list[i]!;
      list.length = kept;
      list[kept] = new WeakRef(dependent);
    };
    /**
     * DOM "signal abort": the signal and every dependent not yet aborted take the reason first, then
     * the abort events fire, the signal's before its dependents' (in the order they were made).
     */
    signalAbort = (s, reason) => {
      if (s.#aborted) return;
      s.#aborted = true;
      s.#reason = reason === undefined ? new internals.DOMException('This operation was aborted', 'AbortError') : reason;
      const toAbort: AbortSignal[] = bare();
      const list = s.#dependents;
      s.#dependents = null;
      if (list) {
        for (let i = 0; i < list.length; i++) {
          const d = callWith(WeakRefPrototypeDeref, list[i]!);
          if (d === undefined || d.#aborted) continue;
          d.#aborted = true;
          d.#reason = s.#reason;
          toAbort[toAbort.length] = d;
        }
      }
      fire(s, trustedEvent('abort'));
      for (let i = 0; i < toAbort.length; i++) fire(toAbort[i]!, trustedEvent('abort'));
    };
  }
}

export class AbortController {
  #signal = new AbortSignal(ILLEGAL);

  get signal(): AbortSignal {
    return this.#signal;
  }

  abort(reason?: unknown): void {
    signalAbort(this.#signal, reason);
  }
}

/** A fresh signal (a Request's, made on first touch). */
export const newSignal = () => new AbortSignal(ILLEGAL);

named(AbortSignal, 'AbortSignal');
named(AbortController, 'AbortController');
