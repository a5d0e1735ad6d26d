import { call } from './host.ts';
import { dataDescriptor, listFrom } from './safe.ts';

/**
 * ECMA-402 `Intl`, done by the host's ICU (runtime/host/intl.ts). A formatter here is small: its kind,
 * its key (`[kind, locales, options]` as JSON, made from primitives the guest read and coerced itself,
 * so the host never walks a guest object) and its resolved options. Every format call is one host
 * operation naming that key; the host keeps the Node formatter it built in a bounded cache.
 * Segmenter: the host returns segment boundaries, iteration happens here.
 */

interface Slot {
  kind: string;
  key: string;
  /** resolved options as JSON (copied out for every resolvedOptions()) */
  json: string;
  /** Intl.Locale: its data; Segmenter: its granularity */
  data?: any;
  bound?: Function;
}

/** `return o` from a base constructor lets a subclass put its private field on any object. */
class Stamp {
  constructor(o: object) {
    return o;
  }
}

/**
 * Internal state kept in a private field of the object itself, not in a WeakMap: it goes when the
 * object goes (Bellard's QuickJS clears WeakMap entries only in a cycle collection, which a small
 * heap may not reach before its limit when a function makes formatters in a loop).
 */
function privateState<T>(): { set: (o: object, v: T) => void; get: (o: unknown) => T | undefined } {
  let read!: (o: unknown) => T | undefined;
  class Holder extends Stamp {
    #v: T;
    constructor(o: object, v: T) {
      super(o);
      this.#v = v;
    }
    static {
      read = (o) => (isObject(o) && #v in o ? (o as Holder).#v : undefined);
    }
  }
  return { set: (o, v) => void new Holder(o, v), get: read };
}

const slots = privateState<Slot>();
const setSlot = slots.set;
const getSlot = slots.get;
const MAX_LOCALES = 32;
const MAX_TAG = 128;
/** How many UTF-16 units one Segmenter host call looks at first (grown for a longer segment). */
const WINDOW = 2048;
const MAX_WINDOW = 128 * 1024;
/** ICU formats a list in time proportional to its length: 65,536 elements take tens of milliseconds. */
const MAX_LIST = 65536;
/**
 * Case mapping for the languages ICU treats specially goes to the host in pieces of this many
 * characters, cut after a whitespace character (where no casing context reaches across).
 */
const CASE_PIECE = 1 << 20;

/**
 * Each kind's options in the order its constructor reads them (ECMA-402), with how each is coerced:
 * no suffix a string, `!` a boolean, `#` a number, `~` a boolean or a string (useGrouping).
 */
const DATE_OPTIONS = [
  'localeMatcher', 'calendar', 'numberingSystem', 'hour12!', 'hourCycle', 'timeZone', 'weekday', 'era', 'year', 'month', 'day', 'dayPeriod',
  'hour', 'minute', 'second', 'fractionalSecondDigits#', 'timeZoneName', 'formatMatcher', 'dateStyle', 'timeStyle',
];
const OPTIONS: Record<string, string[]> = {
  __proto__: null,
  DateTimeFormat: DATE_OPTIONS,
  NumberFormat: [
    'localeMatcher', 'numberingSystem', 'style', 'currency', 'currencyDisplay', 'currencySign', 'unit', 'unitDisplay', 'notation',
    'minimumIntegerDigits#', 'minimumFractionDigits#', 'maximumFractionDigits#', 'minimumSignificantDigits#', 'maximumSignificantDigits#',
    'roundingIncrement#', 'roundingMode', 'roundingPriority', 'trailingZeroDisplay', 'compactDisplay', 'useGrouping~', 'signDisplay',
  ],
  Collator: ['usage', 'localeMatcher', 'collation', 'numeric!', 'caseFirst', 'sensitivity', 'ignorePunctuation!'],
  PluralRules: [
    'localeMatcher', 'type', 'minimumIntegerDigits#', 'minimumFractionDigits#', 'maximumFractionDigits#', 'minimumSignificantDigits#',
    'maximumSignificantDigits#', 'roundingIncrement#', 'roundingMode', 'roundingPriority', 'trailingZeroDisplay',
  ],
  RelativeTimeFormat: ['localeMatcher', 'numberingSystem', 'style', 'numeric'],
  ListFormat: ['localeMatcher', 'type', 'style'],
  Segmenter: ['localeMatcher', 'granularity'],
  DisplayNames: ['localeMatcher', 'style', 'type', 'fallback', 'languageDisplay'],
  Locale: ['language', 'script', 'region', 'calendar', 'collation', 'hourCycle', 'caseFirst', 'numeric!', 'numberingSystem'],
  supportedLocalesOf: ['localeMatcher'],
} as any;
/** Kinds whose options must be an object or undefined (GetOptionsObject); the others coerce (CoerceOptionsToObject). */
const STRICT_OPTIONS = ['ListFormat', 'Segmenter', 'DisplayNames'];

function isObject(x: unknown): x is object {
  return (typeof x === 'object' && x !== null) || typeof x === 'function';
}

function slotOf(x: unknown, kind: string, what: string): Slot {
  const s = getSlot(x);
  if (!s || s.kind !== kind) throw new TypeError('Method Intl.' + kind + '.prototype.' + what + ' called on incompatible receiver');
  return s;
}

function toLength(v: unknown): number {
  const n = MathTrunc(Number(v));
  return n > 0 ? MathMin(n, 9007199254740991) : 0;
}

/** CanonicalizeLocaleList's reading half: the tags as strings (the host validates and canonicalizes them). */
function localeList(locales: unknown): string[] {
  const out: string[] = [];
  if (locales === undefined) return out;
  const one = typeof locales === 'string' || localeTag(locales) !== undefined;
  const o: any = one ? [locales] : Object(locales);
  if (locales === null) throw new TypeError('Cannot convert null to object');
  const len = toLength(o.length);
  if (len > MAX_LOCALES) throw new RangeError('Intl: at most ' + MAX_LOCALES + ' locales');
  for (let k = 0; k < len; k++) {
    if (!(k in o)) continue;
    const v = o[k];
    if (typeof v !== 'string' && !isObject(v)) throw new TypeError('Language ID should be string or object.');
    const tag = localeTag(v) ?? String(v);
    if (tag.length > MAX_TAG) throw new RangeError('Intl: a locale tag is at most ' + MAX_TAG + ' characters');
    out[out.length] = tag;
  }
  return out;
}

function localeTag(x: unknown): string | undefined {
  const s = getSlot(x);
  return s && s.kind === 'Locale' ? s.data.tag : undefined;
}

/** The options a kind reads, coerced to primitives, as a plain object in reading order. */
function readOptions(kind: string, options: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (options === undefined) return out;
  if (options === null) throw new TypeError('Cannot convert null to object');
  if (!isObject(options) && callWith(ArrayPrototypeIncludes, STRICT_OPTIONS, kind)) throw new TypeError('Options must be an object');
  const o: any = Object(options);
  const specs = OPTIONS[kind]!;
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const last = spec[spec.length - 1];
    const typed = last === '!' || last === '#' || last === '~';
    const name = typed ? callWith(StringPrototypeSlice, spec, 0, -1) : spec;
    let v = o[name];
    if (v === undefined) continue;
    if (last === '!') v = !!v;
    else if (last === '#') {
      v = Number(v);
      if (!NumberIsFinite(v)) throw new RangeError(name + ' value is out of range.');
    } else if (last !== '~' || (typeof v !== 'boolean' && typeof v !== 'number')) v = String(v);
    else if (typeof v === 'number' && !NumberIsFinite(v)) v = !!v;
    if (typeof v === 'string' && v.length > MAX_TAG) throw new RangeError('Value ' + callWith(StringPrototypeSlice, v, 0, 32) + '… out of range for Intl.' + kind + ' options property ' + name);
    out[name] = v;
  }
  return out;
}

/** The constant key of a kind's default formatter (no locales, no options) saves the work for the common calls. */
const DEFAULT_KEYS: Record<string, string> = { __proto__: null } as any;

function keyOf(kind: string, locales: unknown, options: unknown): string {
  if (locales === undefined && options === undefined) return (DEFAULT_KEYS[kind] ??= JSONStringify([kind, [], {}]));
  // OPTIONS is per constructor: Date's toLocale*String read DateTimeFormat's
  const base = callWith(StringPrototypeIndexOf, kind, ':') > 0 ? 'DateTimeFormat' : kind;
  return JSONStringify([kind, localeList(locales), readOptions(base, options)]);
}

/** A value JSON cannot carry, tagged for the host (runtime/host/intl.ts `value`). */
function enc(v: unknown): unknown {
  if (typeof v === 'bigint') return { b: callWith(BigIntPrototypeToString, v) };
  if (typeof v !== 'number' || (NumberIsFinite(v) && !(v === 0 && 1 / v < 0))) return v;
  return { n: v === 0 ? '-0' : String(v) };
}

function host(method: string, key: string, args?: unknown[]): any {
  return call('intl', method, key, args === undefined ? undefined : JSONStringify(args));
}

/** ToPrimitive with hint number, then ToNumber unless it is a BigInt or a string (NumberFormat formats those exactly). */
function mathValue(v: unknown): unknown {
  if (isObject(v)) {
    const exotic = (v as any)[Symbol.toPrimitive];
    if (exotic != null) v = callWith(exotic, v, 'number');
    else {
      const valueOf = (v as any).valueOf;
      const r = typeof valueOf === 'function' ? callWith(valueOf, v) : v;
      if (!isObject(r)) v = r;
      else {
        const toString = (v as any).toString;
        v = typeof toString === 'function' ? callWith(toString, v) : v;
      }
    }
    if (isObject(v)) throw new TypeError('Cannot convert object to primitive value');
  }
  return typeof v === 'bigint' || typeof v === 'string' ? v : Number(v);
}

/** ToNumber then TimeClip, as DateTimeFormat's methods take a date. */
function timeValue(date: unknown): number {
  const t = date === undefined ? DateNow() : Number(date);
  if (!NumberIsFinite(t) || MathAbs(t) > 8.64e15) throw new RangeError('Invalid time value');
  return MathTrunc(t) + 0;
}

// ------------------------------------------------------------------------------------- constructors

const CTORS: Record<string, any> = { __proto__: null } as any;

function create(kind: string, newTarget: any, locales: unknown, options: unknown, legacy: boolean): object {
  if (newTarget === undefined && !legacy) throw new TypeError("Constructor Intl." + kind + " requires 'new'");
  let proto = (newTarget ?? CTORS[kind]).prototype;
  if (!isObject(proto)) proto = CTORS[kind].prototype;
  const self = ObjectCreate(proto);
  const key = keyOf(kind, locales, options);
  const json: string = host('open', key);
  const slot: Slot = { kind, key, json };
  if (kind === 'Segmenter') slot.data = JSONParse(json).granularity;
  setSlot(self, slot);
  return self;
}

/** A constructor of `kind`; the legacy ones (ECMA-402's first three) may be called without `new`. */
function constructor(kind: string, legacy: boolean): Function {
  return function (this: unknown, locales?: unknown, options?: unknown) {
    return create(kind, new.target, locales, options, legacy);
  };
}

const DateTimeFormat = constructor('DateTimeFormat', true);
const NumberFormat = constructor('NumberFormat', true);
const Collator = constructor('Collator', true);
const PluralRules = constructor('PluralRules', false);
const RelativeTimeFormat = constructor('RelativeTimeFormat', false);
const ListFormat = constructor('ListFormat', false);
const Segmenter = constructor('Segmenter', false);
const DisplayNames = constructor('DisplayNames', false);
function Locale(this: unknown, tag?: unknown, options?: unknown) {
  if (new.target === undefined) throw new TypeError("Constructor Intl.Locale requires 'new'");
  if (typeof tag !== 'string' && !isObject(tag)) throw new TypeError('First argument to Intl.Locale constructor can\'t be empty or missing');
  let proto = new.target.prototype;
  if (!isObject(proto)) proto = CTORS.Locale.prototype;
  const self = ObjectCreate(proto);
  const key = JSONStringify(['Locale', [localeTag(tag) ?? String(tag)], readOptions('Locale', options)]);
  const json: string = host('open', key);
  setSlot(self, { kind: 'Locale', key, json, data: JSONParse(json) });
  return self;
}

function resolvedOptions(kind: string) {
  return {
    resolvedOptions(this: unknown) {
      return JSONParse(slotOf(this, kind, 'resolvedOptions').json);
    },
  }.resolvedOptions;
}

/** A bound format/compare function (an anonymous arrow), made once per formatter (as ECMA-402's [[BoundFormat]]). */
function bound(slot: Slot, fn: Function): Function {
  return (slot.bound ??= fn);
}

function defineMethods(C: any, name: string, length: number, methods: object): void {
  ObjectDefineProperty(C, 'name', dataDescriptor(name, false));
  ObjectDefineProperty(C, 'length', dataDescriptor(length, false));
  const proto = C.prototype;
  const keys = ReflectOwnKeys(methods);
  for (let i = 0; i < keys.length; i++) {
    const d = ObjectGetOwnPropertyDescriptor(methods, keys[i]!)!;
    ObjectSetPrototypeOf(d, null);
    d.enumerable = false;
    ObjectDefineProperty(proto, keys[i]!, d);
  }
  ObjectDefineProperty(proto, Symbol.toStringTag, dataDescriptor('Intl.' + name, false));
  ObjectDefineProperty(C, 'prototype', dataDescriptor(proto, false, false, false));
  if (name !== 'Locale') {
    ObjectDefineProperty(C, 'supportedLocalesOf', dataDescriptor({
      supportedLocalesOf(locales: unknown, options?: unknown) {
        return host('supportedLocalesOf', JSONStringify([name, localeList(locales), readOptions('supportedLocalesOf', options)]));
      },
    }.supportedLocalesOf));
  }
  CTORS[name] = C;
}

function dateCall(slot: Slot, method: string, a: unknown, b?: unknown, range?: boolean): any {
  if (range && (a === undefined || b === undefined)) throw new TypeError('startDate and endDate are required');
  return host(method, slot.key, range ? [timeValue(a), timeValue(b)] : [timeValue(a)]);
}

defineMethods(DateTimeFormat, 'DateTimeFormat', 0, {
  get format() {
    const slot = slotOf(this, 'DateTimeFormat', 'format');
    return bound(slot, (date?: unknown) => dateCall(slot, 'format', date));
  },
  formatToParts(date?: unknown) {
    return dateCall(slotOf(this, 'DateTimeFormat', 'formatToParts'), 'formatToParts', date);
  },
  formatRange(startDate: unknown, endDate: unknown) {
    return dateCall(slotOf(this, 'DateTimeFormat', 'formatRange'), 'formatRange', startDate, endDate, true);
  },
  formatRangeToParts(startDate: unknown, endDate: unknown) {
    return dateCall(slotOf(this, 'DateTimeFormat', 'formatRangeToParts'), 'formatRangeToParts', startDate, endDate, true);
  },
  resolvedOptions: resolvedOptions('DateTimeFormat'),
});

function numberCall(slot: Slot, method: string, a: unknown, b?: unknown, range?: boolean): any {
  if (range && (a === undefined || b === undefined)) throw new TypeError('start and end are required');
  return host(method, slot.key, range ? [enc(mathValue(a)), enc(mathValue(b))] : [enc(mathValue(a))]);
}

defineMethods(NumberFormat, 'NumberFormat', 0, {
  get format() {
    const slot = slotOf(this, 'NumberFormat', 'format');
    return bound(slot, (value?: unknown) => numberCall(slot, 'format', value));
  },
  formatToParts(value?: unknown) {
    return numberCall(slotOf(this, 'NumberFormat', 'formatToParts'), 'formatToParts', value);
  },
  formatRange(start: unknown, end: unknown) {
    return numberCall(slotOf(this, 'NumberFormat', 'formatRange'), 'formatRange', start, end, true);
  },
  formatRangeToParts(start: unknown, end: unknown) {
    return numberCall(slotOf(this, 'NumberFormat', 'formatRangeToParts'), 'formatRangeToParts', start, end, true);
  },
  resolvedOptions: resolvedOptions('NumberFormat'),
});

defineMethods(Collator, 'Collator', 0, {
  get compare() {
    const slot = slotOf(this, 'Collator', 'compare');
    return bound(slot, (x: unknown, y: unknown) => host('compare', slot.key, [String(x), String(y)]));
  },
  resolvedOptions: resolvedOptions('Collator'),
});

defineMethods(PluralRules, 'PluralRules', 0, {
  select(n: unknown) {
    return host('select', slotOf(this, 'PluralRules', 'select').key, [enc(Number(n))]);
  },
  selectRange(start: unknown, end: unknown) {
    const slot = slotOf(this, 'PluralRules', 'selectRange');
    if (start === undefined || end === undefined) throw new TypeError('start and end are required');
    return host('selectRange', slot.key, [enc(Number(start)), enc(Number(end))]);
  },
  resolvedOptions: resolvedOptions('PluralRules'),
});

defineMethods(RelativeTimeFormat, 'RelativeTimeFormat', 0, {
  format(value: unknown, unit: unknown) {
    return host('format', slotOf(this, 'RelativeTimeFormat', 'format').key, [enc(Number(value)), String(unit)]);
  },
  formatToParts(value: unknown, unit: unknown) {
    return host('formatToParts', slotOf(this, 'RelativeTimeFormat', 'formatToParts').key, [enc(Number(value)), String(unit)]);
  },
  resolvedOptions: resolvedOptions('RelativeTimeFormat'),
});

/** StringListFromIterable: every element must already be a string. */
function stringList(list: unknown): string[] {
  if (list === undefined) return [];
  const values = isObject(list) || typeof list === 'string' ? listFrom(list) : undefined;
  if (!values) throw new TypeError('ListFormat: the list must be iterable');
  if (values.length > MAX_LIST) throw new RangeError('Intl.ListFormat: at most ' + MAX_LIST + ' elements');
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== 'string') throw new TypeError('Iterable yielded ' + String(values[i]) + ' which is not a string');
  return values as string[];
}

defineMethods(ListFormat, 'ListFormat', 0, {
  format(list: unknown) {
    const slot = slotOf(this, 'ListFormat', 'format');
    return host('format', slot.key, [stringList(list)]);
  },
  formatToParts(list: unknown) {
    const slot = slotOf(this, 'ListFormat', 'formatToParts');
    return host('formatToParts', slot.key, [stringList(list)]);
  },
  resolvedOptions: resolvedOptions('ListFormat'),
});

defineMethods(DisplayNames, 'DisplayNames', 2, {
  of(code: unknown) {
    return host('of', slotOf(this, 'DisplayNames', 'of').key, [String(code)]);
  },
  resolvedOptions: resolvedOptions('DisplayNames'),
});

// ------------------------------------------------------------------------------------------ Segmenter

/**
 * A segmented string. The host segments it a window at a time: a window starts at a segment
 * boundary, and its last segment, which may go on past the window, is asked again with the next
 * one. A window's segments are its `ends` (end index × 2, plus 1 if word-like); only the last window
 * looked at is kept, so iterating a long text holds one window's worth of boundaries, not the text's.
 */
interface Segmented {
  slot: Slot;
  s: string;
  /** the window `containing()` looked at last */
  last?: Window;
}

interface Window {
  start: number;
  ends: number[];
}

const segmentsState = privateState<Segmented>();
const iteratorState = privateState<{ st: Segmented; w: Window; i: number }>();
const setSegments = segmentsState.set;
const getSegments = segmentsState.get;
const setIterator = iteratorState.set;
const getIterator = iteratorState.get;

/**
 * The segments that start at `pos` (a boundary), as far as one window goes; none at the end of the
 * text. The host may stop before the window's end (its work per call is bounded: see
 * runtime/host/intl.ts): then, as when the window cuts a segment, the last one is asked again.
 */
function windowAt(st: Segmented, pos: number): Window {
  const s = st.s;
  const len = s.length;
  const ends: number[] = [];
  for (let size = WINDOW; pos < len; size = MathMin(size * 4, MAX_WINDOW)) {
    let to = MathMin(len, pos + size);
    if (to < len && isHighSurrogate(callWith(StringPrototypeCharCodeAt, s, to - 1))) to++;
    const got: number[] = host('segment', st.slot.key, [callWith(StringPrototypeSlice, s, pos, to)]);
    const n = got.length;
    const whole = n > 0 && got[n - 1]! >> 1 === to - pos;
    let keep = whole && to === len ? n : n - 1;
    if (keep < 1) {
      // one segment fills the window: look further, up to the largest window (a longer segment is cut there)
      if (size < MAX_WINDOW) continue;
      keep = n;
    }
    for (let i = 0; i < keep; i++) ends[i] = pos * 2 + got[i]!;
    break;
  }
  return { start: pos, ends };
}

function windowEnd(w: Window): number {
  return w.ends.length ? w.ends[w.ends.length - 1]! >> 1 : w.start;
}

function segmentData(st: Segmented, w: Window, i: number): object {
  const start = i === 0 ? w.start : w.ends[i - 1]! >> 1;
  const end = w.ends[i]!;
  const out: Record<string, unknown> = { segment: callWith(StringPrototypeSlice, st.s, start, end >> 1), index: start, input: st.s };
  if (st.slot.data === 'word') out.isWordLike = (end & 1) === 1;
  return out;
}

const ITERATOR_PROTOTYPE = ObjectGetPrototypeOf(ObjectGetPrototypeOf(callWith(ArrayPrototypeSymbolIterator, [])));
const SEGMENT_ITERATOR = ObjectCreate(ITERATOR_PROTOTYPE);
defineOn(SEGMENT_ITERATOR, {
  next() {
    const it = getIterator(this);
    if (!it) throw new TypeError('next method called on incompatible receiver');
    if (it.i >= it.w.ends.length) {
      const w = windowAt(it.st, windowEnd(it.w));
      if (!w.ends.length) return { value: undefined, done: true };
      it.w = w;
      it.i = 0;
    }
    return { value: segmentData(it.st, it.w, it.i++), done: false };
  },
});
ObjectDefineProperty(SEGMENT_ITERATOR, Symbol.toStringTag, dataDescriptor('Segmenter String Iterator', false));

const SEGMENTS_PROTOTYPE = ObjectCreate(Object.prototype);
defineOn(SEGMENTS_PROTOTYPE, {
  containing(index?: unknown) {
    const st = getSegments(this);
    if (!st) throw new TypeError('containing method called on incompatible receiver');
    const n = MathTrunc(Number(index)) || 0;
    if (n < 0 || n >= st.s.length) return undefined;
    // windows are found from the start of the text (a window must start at a boundary); the last one is reused
    let w = st.last && st.last.start <= n ? st.last : windowAt(st, 0);
    while (windowEnd(w) <= n) w = windowAt(st, windowEnd(w));
    st.last = w;
    let lo = 0;
    let hi = w.ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (w.ends[mid]! >> 1 <= n) lo = mid + 1;
      else hi = mid;
    }
    return segmentData(st, w, lo);
  },
  [Symbol.iterator]() {
    const st = getSegments(this);
    if (!st) throw new TypeError('Symbol.iterator method called on incompatible receiver');
    const it = ObjectCreate(SEGMENT_ITERATOR);
    setIterator(it, { st, w: { start: 0, ends: [] }, i: 0 });
    return it;
  },
});

function defineOn(target: object, methods: object): void {
  const keys = ReflectOwnKeys(methods);
  for (let i = 0; i < keys.length; i++) {
    const d = ObjectGetOwnPropertyDescriptor(methods, keys[i]!)!;
    ObjectSetPrototypeOf(d, null);
    d.enumerable = false;
    ObjectDefineProperty(target, keys[i]!, d);
  }
}

defineMethods(Segmenter, 'Segmenter', 0, {
  segment(string: unknown) {
    const slot = slotOf(this, 'Segmenter', 'segment');
    const segments = ObjectCreate(SEGMENTS_PROTOTYPE);
    setSegments(segments, { slot, s: String(string) });
    return segments;
  },
  resolvedOptions: resolvedOptions('Segmenter'),
});

// --------------------------------------------------------------------------------------------- Locale

const LOCALE_FIELDS = ['baseName', 'language', 'script', 'region', 'calendar', 'caseFirst', 'collation', 'hourCycle', 'numeric', 'numberingSystem'];
const LOCALE_INFO = ['calendars', 'collations', 'hourCycles', 'numberingSystems', 'textInfo', 'timeZones', 'weekInfo'];

function localeData(self: unknown, what: string): any {
  return slotOf(self, 'Locale', what).data;
}

defineMethods(Locale, 'Locale', 1, {
  toString() {
    return localeData(this, 'toString').tag;
  },
  maximize() {
    return new (Locale as any)(localeData(this, 'maximize').maximal);
  },
  minimize() {
    return new (Locale as any)(localeData(this, 'minimize').minimal);
  },
});
for (let i = 0; i < LOCALE_FIELDS.length + LOCALE_INFO.length; i++) {
  const info = i >= LOCALE_FIELDS.length;
  const name = info ? LOCALE_INFO[i - LOCALE_FIELDS.length]! : LOCALE_FIELDS[i]!;
  // copies: the lists belong to the caller
  const read = (self: unknown) => (info ? JSONParse(JSONStringify(localeData(self, name)[name] ?? null)) ?? undefined : localeData(self, name)[name]);
  defineOn(CTORS.Locale.prototype, { get [name]() { return read(this); } });
  // the newer spelling (getWeekInfo() …), for code written against current engines
  if (info) defineOn(CTORS.Locale.prototype, { ['get' + callWith(StringPrototypeToUpperCase, name[0]!) + callWith(StringPrototypeSlice, name, 1)]() { return read(this); } });
}

// ------------------------------------------------------------------------------------------ namespace

export const Intl: object = ObjectCreate(Object.prototype);
defineOn(Intl, {
  getCanonicalLocales(locales?: unknown) {
    return host('canonicalLocales', '', localeList(locales));
  },
  supportedValuesOf(key: unknown) {
    return host('supportedValuesOf', '', [String(key)]);
  },
});
ObjectDefineProperty(Intl, Symbol.toStringTag, dataDescriptor('Intl', false));
const NAMES = ['DateTimeFormat', 'NumberFormat', 'Collator', 'PluralRules', 'RelativeTimeFormat', 'ListFormat', 'Locale', 'DisplayNames', 'Segmenter'];
for (let i = 0; i < NAMES.length; i++) ObjectDefineProperty(Intl, NAMES[i]!, dataDescriptor(CTORS[NAMES[i]!]));

// ------------------------------------------------------------------- the locale-sensitive built-ins

function dateString(kind: string, self: unknown, locales: unknown, options: unknown): string {
  const t = callWith(DatePrototypeGetTime, self as Date);
  if (NumberIsNaN(t)) return 'Invalid Date';
  return host('format', keyOf(kind, locales, options), [t]);
}

const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);
const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;

/** Languages whose case mapping differs from the default one (V8 asks ICU for exactly these). */
const SPECIAL_CASING = ['tr', 'az', 'lt', 'el'];

function caseMap(self: unknown, locales: unknown, upper: boolean): string {
  if (self == null) throw new TypeError('String.prototype.toLocale' + (upper ? 'Upper' : 'Lower') + 'Case called on null or undefined');
  const s = String(self);
  const list = localeList(locales);
  if (list.length) {
    const first: string = host('canonicalLocales', '', list)[0];
    const dash = callWith(StringPrototypeIndexOf, first, '-');
    if (callWith(ArrayPrototypeIncludes, SPECIAL_CASING, dash < 0 ? first : callWith(StringPrototypeSlice, first, 0, dash))) {
      const method = upper ? 'toLocaleUpperCase' : 'toLocaleLowerCase';
      const key = JSONStringify([first]);
      let out = '';
      for (let at = 0; at < s.length;) {
        let end = MathMin(s.length, at + CASE_PIECE);
        if (end < s.length) {
          let cut = end;
          while (cut > at && !isSpace(callWith(StringPrototypeCharCodeAt, s, cut - 1))) cut--;
          if (cut > at) end = cut;
          else if (isHighSurrogate(callWith(StringPrototypeCharCodeAt, s, end - 1))) end--;
        }
        out += host(method, key, [callWith(StringPrototypeSlice, s, at, end)]);
        at = end;
      }
      return out;
    }
  }
  return callWith(upper ? StringPrototypeToUpperCase : StringPrototypeToLowerCase, s);
}

/**
 * The implementations behind the core's stubs (intl-stubs.ts), in its order: Number, BigInt, Date ×3,
 * String ×3, Array.
 */
export const localeMethods: Function[] = [
  function (this: unknown, locales?: unknown, options?: unknown) {
    return host('format', keyOf('NumberFormat', locales, options), [enc(callWith(NumberPrototypeValueOf, this as number))]);
  },
  function (this: unknown, locales?: unknown, options?: unknown) {
    return host('format', keyOf('NumberFormat', locales, options), [enc(callWith(BigIntPrototypeValueOf, this as bigint))]);
  },
  function (this: unknown, locales?: unknown, options?: unknown) {
    return dateString('DateTimeFormat:any', this, locales, options);
  },
  function (this: unknown, locales?: unknown, options?: unknown) {
    return dateString('DateTimeFormat:date', this, locales, options);
  },
  function (this: unknown, locales?: unknown, options?: unknown) {
    return dateString('DateTimeFormat:time', this, locales, options);
  },
  function (this: unknown, that: unknown, locales?: unknown, options?: unknown) {
    if (this == null) throw new TypeError('String.prototype.localeCompare called on null or undefined');
    return host('compare', keyOf('Collator', locales, options), [String(this), String(that)]);
  },
  function (this: unknown, locales?: unknown) {
    return caseMap(this, locales, true);
  },
  function (this: unknown, locales?: unknown) {
    return caseMap(this, locales, false);
  },
  function (this: unknown, locales?: unknown, options?: unknown) {
    if (this == null) throw new TypeError('Array.prototype.toLocaleString called on null or undefined');
    const o: any = Object(this);
    const len = toLength(o.length);
    let r = '';
    for (let k = 0; k < len; k++) {
      if (k > 0) r += ',';
      const e = o[k];
      if (e != null) r += String(callWith(e.toLocaleString, e, locales, options));
    }
    return r;
  },
];
