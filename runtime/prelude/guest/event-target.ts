import { internals } from './host.ts';
import { dataDescriptor } from './safe.ts';
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

/** Starts a dispatch at `target`: returns whether a listener stopped it, and ends the dispatch when called with `true`. */
let dispatchTo: (event: Event, target: EventTarget) => (done?: boolean) => boolean;
let eventType: (event: Event) => string;
/** initEvent's steps (false while the event is being dispatched: then nothing changes). */
let initialize: (event: Event, type: unknown, bubbles: unknown, cancelable: unknown) => boolean;
let canceled: (event: Event) => boolean;
let isEvent: (x: unknown) => boolean;
/** Adds a listener (unless already there); removes one; dispatches: what the public methods do. */
export let listen: (target: EventTarget, type: string, listener: Listener, capture: boolean, once: boolean) => boolean;
export let unlisten: (target: EventTarget, type: string, listener: unknown, capture: boolean) => void;
export let fire: (target: EventTarget, event: Event) => boolean;
/** Whether `x` is an EventTarget of this prelude. */
export let isTarget: (x: unknown) => x is EventTarget;
/** An event the platform itself fires (AbortSignal's abort): its isTrusted is true. */
export let trustedEvent: (type: string) => Event;
/** Set by abort.ts: whether `x` is an aborted AbortSignal (undefined: not an AbortSignal). */
let abortedOf: (x: unknown) => boolean | undefined = () => undefined;
export const setAbortedOf = (fn: typeof abortedOf) => void (abortedOf = fn);

const NONE = 0;
const AT_TARGET = 2;
let makingTrusted = false;
/**
 * `isTrusted` is [LegacyUnforgeable]: an own accessor of every event, the same getter for all (an
 * instance's own property cannot be reached through a prototype user code patched).
 */
let isTrustedDescriptor: PropertyDescriptor;

export class Event {
  #type: string;
  #cancelable: boolean;
  #bubbles: boolean;
  #canceled = false;
  #stopped = false;
  #stopPropagation = false;
  #dispatching = false;
  #trusted = makingTrusted;
  #target: EventTarget | null = null;
  readonly timeStamp: number;

  constructor(type: unknown, init: { bubbles?: boolean; cancelable?: boolean; composed?: boolean } = {}) {
    if (arguments.length === 0) throw new TypeError("Failed to construct 'Event': 1 argument required");
    if (init !== null && typeof init !== 'object' && typeof init !== 'function') throw new TypeError("Failed to construct 'Event': The provided value is not of type 'EventInit'");
    this.#type = String(type);
    this.#bubbles = !!init?.bubbles;
    this.#cancelable = !!init?.cancelable;
    this.timeStamp = DateNow();
    ObjectDefineProperty(this, 'isTrusted', isTrustedDescriptor);
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
    return this.#dispatching ? this.#target : null;
  }
  get srcElement(): EventTarget | null {
    return this.#target;
  }
  get eventPhase(): number {
    return this.#dispatching ? AT_TARGET : NONE;
  }
  get composed(): boolean {
    return false;
  }
  get cancelBubble(): boolean {
    return this.#stopPropagation;
  }
  set cancelBubble(value: boolean) {
    if (value) this.#stopPropagation = true;
  }
  get returnValue(): boolean {
    return !this.#canceled;
  }
  set returnValue(value: boolean) {
    if (!value && this.#cancelable) this.#canceled = true;
  }
  composedPath(): EventTarget[] {
    return this.#dispatching ? [this.#target!] : [];
  }
  preventDefault(): void {
    if (this.#cancelable) this.#canceled = true;
  }
  stopPropagation(): void {
    this.#stopPropagation = true;
  }
  stopImmediatePropagation(): void {
    this.#stopPropagation = true;
    this.#stopped = true;
  }
  /** The legacy initializer: does nothing while the event is being dispatched. */
  initEvent(type: unknown, bubbles = false, cancelable = false): void {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'initEvent': 1 argument required");
    initialize(this, type, bubbles, cancelable);
  }

  static {
    initialize = (event, type, bubbles, cancelable) => {
      if (event.#dispatching) return false;
      event.#type = String(type);
      event.#bubbles = !!bubbles;
      event.#cancelable = !!cancelable;
      event.#canceled = event.#stopped = event.#stopPropagation = false;
      event.#target = null;
      return true;
    };
    dispatchTo = (event, target) => {
      if (event.#dispatching) throw new (internals.DOMException)('The event is already being dispatched.', 'InvalidStateError');
      event.#target = target;
      event.#dispatching = true;
      return (done) => {
        if (done) {
          event.#dispatching = false;
          event.#stopped = event.#stopPropagation = false;
        }
        return event.#stopped;
      };
    };
    eventType = (event) => event.#type;
    canceled = (event) => event.#canceled;
    isEvent = (x) => typeof x === 'object' && x !== null && #type in x;
    const getter = ObjectGetOwnPropertyDescriptor({
      get isTrusted() {
        return isEvent(this) ? (this as unknown as Event).#trusted : false;
      },
    }, 'isTrusted')!.get;
    isTrustedDescriptor = { __proto__: null, get: getter, enumerable: true, configurable: false } as PropertyDescriptor;
    trustedEvent = (type) => {
      makingTrusted = true;
      try {
        return new Event(type);
      } finally {
        makingTrusted = false;
      }
    };
  }
}

/** Event's constants, on the constructor and the prototype (Web IDL: enumerable, read-only). */
const PHASES = ['NONE', 'CAPTURING_PHASE', 'AT_TARGET', 'BUBBLING_PHASE'];
for (let i = 0; i < PHASES.length; i++) {
  const d = dataDescriptor(i, false, true, false);
  ObjectDefineProperty(Event, PHASES[i]!, d);
  ObjectDefineProperty(Event.prototype, PHASES[i]!, d);
}

export class CustomEvent extends Event {
  #detail: unknown;

  constructor(type: unknown, init: { bubbles?: boolean; cancelable?: boolean; composed?: boolean; detail?: unknown } = {}) {
    if (arguments.length === 0) throw new TypeError("Failed to construct 'CustomEvent': 1 argument required");
    super(type, init);
    const detail = init?.detail;
    this.#detail = detail === undefined ? null : detail;
  }

  get detail(): unknown {
    return this.#detail;
  }

  initCustomEvent(type: unknown, bubbles = false, cancelable = false, detail: unknown = null): void {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'initCustomEvent': 1 argument required");
    if (initialize(this, type, bubbles, cancelable)) this.#detail = detail;
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
      try {
        run(target, event, stopped);
      } finally {
        stopped(true);
      }
      return !canceled(event);
    };
    const run = (target: EventTarget, event: Event, stopped: () => boolean) => {
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
    };
  }
}

named(Event, 'Event');
named(CustomEvent, 'CustomEvent');
named(EventTarget, 'EventTarget');
