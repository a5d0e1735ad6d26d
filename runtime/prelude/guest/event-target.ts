import { named } from './util.ts';

/** Just enough DOM events for AbortSignal: no bubbling, no capture phase, one target. */

type Listener = ((e: Event) => unknown) | { handleEvent(e: Event): unknown };

interface Entry {
  listener: Listener;
  capture: boolean;
  once: boolean;
  removed: boolean;
}

/** Sets the event's target for a dispatch; returns whether a listener stopped it. */
let dispatchTo: (event: Event, target: EventTarget) => () => boolean;

export class Event {
  #type: string;
  #cancelable: boolean;
  #bubbles: boolean;
  #canceled = false;
  #stopped = false;
  #target: EventTarget | null = null;
  readonly timeStamp: number;

  constructor(type: unknown, init: { bubbles?: boolean; cancelable?: boolean; composed?: boolean } = {}) {
    if (arguments.length === 0) throw new TypeError("Failed to construct 'Event': 1 argument required");
    this.#type = String(type);
    this.#bubbles = !!init?.bubbles;
    this.#cancelable = !!init?.cancelable;
    this.timeStamp = Date.now();
  }

  get type(): string {
    return this.#type;
  }
  get bubbles(): boolean {
    return this.#bubbles;
  }
  get cancelable(): boolean {
    return this.#cancelable;
  }
  get defaultPrevented(): boolean {
    return this.#canceled;
  }
  get target(): EventTarget | null {
    return this.#target;
  }
  get currentTarget(): EventTarget | null {
    return this.#target;
  }
  get srcElement(): EventTarget | null {
    return this.#target;
  }
  get eventPhase(): number {
    return this.#target ? 2 : 0;
  }
  get isTrusted(): boolean {
    return false;
  }
  get composed(): boolean {
    return false;
  }
  composedPath(): EventTarget[] {
    return this.#target ? [this.#target] : [];
  }
  preventDefault(): void {
    if (this.#cancelable) this.#canceled = true;
  }
  stopPropagation(): void {}
  stopImmediatePropagation(): void {
    this.#stopped = true;
  }

  static {
    dispatchTo = (event, target) => {
      event.#target = target;
      event.#stopped = false;
      return () => event.#stopped;
    };
  }
}

export class EventTarget {
  #listeners = new Map<string, Entry[]>();

  addEventListener(type: unknown, listener: Listener | null, options?: boolean | { capture?: boolean; once?: boolean; signal?: any }): void {
    if (listener == null) return;
    const opts = typeof options === 'object' && options !== null ? options : { capture: !!options };
    const signal = (opts as any).signal;
    if (signal?.aborted) return;
    const t = String(type);
    const capture = !!opts.capture;
    const list = this.#listeners.get(t) ?? [];
    if (list.some((e) => e.listener === listener && e.capture === capture)) return;
    const entry: Entry = { listener, capture, once: !!(opts as any).once, removed: false };
    list.push(entry);
    this.#listeners.set(t, list);
    signal?.addEventListener('abort', () => this.removeEventListener(t, listener, { capture }));
  }

  removeEventListener(type: unknown, listener: Listener | null, options?: boolean | { capture?: boolean }): void {
    const capture = typeof options === 'object' && options !== null ? !!options.capture : !!options;
    const t = String(type);
    const list = this.#listeners.get(t);
    if (!list) return;
    const i = list.findIndex((e) => e.listener === listener && e.capture === capture);
    if (i >= 0) {
      list[i].removed = true;
      list.splice(i, 1);
    }
  }

  /** Listener errors are reported, not thrown, so one bad listener cannot stop the others (as in browsers). */
  dispatchEvent(event: Event): boolean {
    if (!(event instanceof Event)) throw new TypeError("Failed to execute 'dispatchEvent': parameter 1 is not of type 'Event'");
    const stopped = dispatchTo(event, this);
    for (const entry of [...(this.#listeners.get(event.type) ?? [])]) {
      if (entry.removed) continue;
      if (entry.once) this.removeEventListener(event.type, entry.listener, { capture: entry.capture });
      try {
        const l = entry.listener;
        if (typeof l === 'function') l.call(this, event);
        else l.handleEvent(event);
      } catch (err) {
        (globalThis as any).console?.error(err);
      }
      if (stopped()) break;
    }
    return !event.defaultPrevented;
  }
}

named(Event, 'Event');
named(EventTarget, 'EventTarget');
