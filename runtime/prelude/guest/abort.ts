import { internals } from './host.ts';
import { Event, EventTarget } from './event-target.ts';
import { named } from './util.ts';

const ILLEGAL = {};

let signalAbort: (signal: AbortSignal, reason: unknown) => void;

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
    const list = [...signals];
    const done = list.find((x) => x.aborted);
    if (done) return AbortSignal.abort(done.reason);
    for (const x of list) x.addEventListener('abort', () => signalAbort(s, x.reason), { once: true });
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
      this.addEventListener('abort', (e) => this.#onabort?.call(this, e));
    }
  }

  static {
    signalAbort = (s, reason) => {
      if (s.#aborted) return;
      s.#aborted = true;
      s.#reason = reason === undefined ? new internals.DOMException('This operation was aborted', 'AbortError') : reason;
      s.dispatchEvent(new Event('abort'));
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

named(AbortSignal, 'AbortSignal');
named(AbortController, 'AbortController');
