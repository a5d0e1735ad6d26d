import { internals } from './host.ts';
import { Event, EventTarget, fire, isTarget, listen, setAbortedOf, unlisten } from './event-target.ts';
import { listFrom } from './safe.ts';
import { named } from './util.ts';

const ILLEGAL = {};

let signalAbort: (signal: AbortSignal, reason: unknown) => void;
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
      if (state[0]) return AbortSignal.abort(state[1]);
    }
    for (let i = 0; i < list.length; i++) {
      const x = list[i];
      onAbort(x, () => signalAbort(s, abortState(x)[1]));
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
    signalAbort = (s, reason) => {
      if (s.#aborted) return;
      s.#aborted = true;
      s.#reason = reason === undefined ? new internals.DOMException('This operation was aborted', 'AbortError') : reason;
      fire(s, new Event('abort'));
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
