import { internals } from './host.ts';
import { named } from './util.ts';

/**
 * Just enough DOM events for AbortSignal: no bubbling, no capture phase, one target. The prelude's
 * own uses (AbortSignal, fetch) go through the internal functions exported here, never through the
 * public methods, which user code may replace.
 */

type Listener = ((e: Event) => unknown) | { handleEvent(e: Event): unknown };

/**
 * Listener lists hold the prelude's own listeners too (an AbortSignal's onabort, a signal option's
 * removal): they have no prototype, so a setter user code put on an Array.prototype index never sees
 * an entry written into them.
 */
const entryList = (): Entry[] => ObjectSetPrototypeOf([], null) as Entry[];

interface Entry {
  listener: Listener;
  capture: boolean;
  once: boolean;
  removed: boolean;
}

/** Sets the event's target for a dispatch; returns whether a listener stopped it. */
let dispatchTo: (event: Event, target: EventTarget) => () => boolean;
let eventType: (event: Event) => string;
let canceled: (event: Event) => boolean;
let isEvent: (x: unknown) => boolean;
/** Adds a listener (unless already there); removes one; dispatches: what the public methods do. */
export let listen: (target: EventTarget, type: string, listener: Listener, capture: boolean, once: boolean) => boolean;
export let unlisten: (target: EventTarget, type: string, listener: unknown, capture: boolean) => void;
export let fire: (target: EventTarget, event: Event) => boolean;
/** Whether `x` is an EventTarget of this prelude. */
export let isTarget: (x: unknown) => x is EventTarget;
/** Set by abort.ts: whether `x` is an aborted AbortSignal (undefined: not an AbortSignal). */
let abortedOf: (x: unknown) => boolean | undefined = () => undefined;
export const setAbortedOf = (fn: typeof abortedOf) => void (abortedOf = fn);

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
    this.timeStamp = DateNow();
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
    eventType = (event) => event.#type;
    canceled = (event) => event.#canceled;
    isEvent = (x) => typeof x === 'object' && x !== null && #type in x;
  }
}

export class EventTarget {
  #listeners = new Map<string, Entry[]>();

  addEventListener(type: unknown, listener: Listener | null, options?: boolean | { capture?: boolean; once?: boolean; signal?: any }): void {
    if (listener == null) return;
    const opts = typeof options === 'object' && options !== null ? options : { capture: !!options };
    const signal = (opts as any).signal;
    if (signal != null && (abortedOf(signal) ?? signal.aborted)) return;
    const t = String(type);
    const capture = !!opts.capture;
    if (!listen(this, t, listener, capture, !!(opts as any).once) || signal == null) return;
    const remove = () => unlisten(this, t, listener, capture);
    if (isTarget(signal)) listen(signal, 'abort', remove, false, false);
    else signal.addEventListener('abort', remove);
  }

  removeEventListener(type: unknown, listener: Listener | null, options?: boolean | { capture?: boolean }): void {
    const capture = typeof options === 'object' && options !== null ? !!options.capture : !!options;
    unlisten(this, String(type), listener, capture);
  }

  /** Listener errors are reported, not thrown, so one bad listener cannot stop the others (as in browsers). */
  dispatchEvent(event: Event): boolean {
    if (!isEvent(event)) throw new TypeError("Failed to execute 'dispatchEvent': parameter 1 is not of type 'Event'");
    return fire(this, event);
  }

  static {
    isTarget = (x): x is EventTarget => typeof x === 'object' && x !== null && #listeners in x;
    listen = (target, type, listener, capture, once) => {
      const map = target.#listeners;
      const list = callWith(MapPrototypeGet, map, type) ?? entryList();
      for (let i = 0; i < list.length; i++) if (list[i]!.listener === listener && list[i]!.capture === capture) return false;
      list[list.length] = { listener, capture, once, removed: false };
      callWith(MapPrototypeSet, map, type, list);
      return true;
    };
    unlisten = (target, type, listener, capture) => {
      const list = callWith(MapPrototypeGet, target.#listeners, type);
      if (!list) return;
      for (let i = 0; i < list.length; i++) {
        if (list[i]!.listener !== listener || list[i]!.capture !== capture) continue;
        list[i]!.removed = true;
        for (let j = i + 1; j < list.length; j++) list[j - 1] = list[j]!;
        list.length--;
        return;
      }
    };
    fire = (target, event) => {
      const stopped = dispatchTo(event, target);
      const type = eventType(event);
      const list = callWith(MapPrototypeGet, target.#listeners, type);
      const entries = entryList();
      if (list) for (let i = 0; i < list.length; i++) entries[i] = list[i]!;
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        if (entry.removed) continue;
        if (entry.once) unlisten(target, type, entry.listener, entry.capture);
        try {
          const l = entry.listener;
          if (typeof l === 'function') callWith(l, target, event);
          else l.handleEvent(event);
        } catch (err) {
          const c = internals.console as { emit(level: string, text: string): void; format(args: unknown[]): string };
          c.emit('error', c.format([err]));
        }
        if (stopped()) break;
      }
      return !canceled(event);
    };
  }
}

named(Event, 'Event');
named(EventTarget, 'EventTarget');
