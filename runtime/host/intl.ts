import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { INTL_KINDS, INTL_METHODS } from './op-table.ts';

/**
 * The guest's `Intl`, done by Node's ICU. A guest formatter holds its kind, its locales and its
 * options as one JSON key (`[kind, locales, options]`, made by the prelude from primitives only);
 * every call sends that key, and the host keeps the Node `Intl` object built from it in a bounded
 * LRU shared by all functions on this thread (building one costs 20–200 µs; keeping one costs
 * 4–100 KB). A guest that creates formatters with endless distinct options only churns the cache,
 * at its own CPU's expense: the cache never holds more than CACHE_BUDGET units.
 */

type Kind = (typeof INTL_KINDS)[number];
type Options = Record<string, string | number | boolean>;

/** Cache capacity in units: a DateTimeFormat (with the interval formatter it may build, ~100 KB) weighs 4, anything else 1. */
export const CACHE_BUDGET = 256;
const WEIGHT: Partial<Record<Kind, number>> = { DateTimeFormat: 4, 'DateTimeFormat:any': 4, 'DateTimeFormat:date': 4, 'DateTimeFormat:time': 4 };
/** Bounds of a key's parts: a BCP 47 tag, an option's string value, the number of either. */
const MAX_TAG = 128;
const MAX_LOCALES = 32;
const MAX_OPTION = 128;
const MAX_OPTIONS = 32;
/** Characters one Segmenter call looks at (the prelude sends windows of a long text). */
export const MAX_SEGMENT_WINDOW = 256 * 1024;
/** What a guest gets for no locale (the host's own default is the operator's business, not the function's). */
const DEFAULT_LOCALE = 'en-US';

interface Entry {
  kind: Kind;
  obj: any;
  weight: number;
}

const cache = new Map<string, Entry>();
let cacheWeight = 0;

/**
 * An evicted formatter's ICU memory (tens of KB; ~100 KB for a DateTimeFormat that formatted a range)
 * is freed only when V8 collects its small JS wrapper, and V8 does not count that memory: with few JS
 * allocations around, a flood of distinct formatters grows the process by hundreds of MB before a
 * collection comes (measured: 16,000 DateTimeFormats, +410 MB in Node 20). So after evicting this
 * much weight the host collects itself; that time is spent inside the guest's host call, on its CPU.
 */
const COLLECT_AFTER = 8 * CACHE_BUDGET;
let evictedSinceCollect = 0;
let gc: (() => void) | undefined;

function collect(): void {
  if (!gc) {
    // --expose-gc gives new contexts a `gc` function; the flag changes nothing else
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** Units held now (for tests and metrics). */
export function intlCacheWeight(): number {
  return cacheWeight;
}

function bad(message: string): never {
  throw new RangeError(message);
}

function parseJson(key: string): unknown {
  try {
    return JSON.parse(key);
  } catch {
    throw new TypeError('Intl: malformed formatter key');
  }
}

function parseKey(key: string): [Kind, string[], Options] {
  const parsed = parseJson(key);
  if (!Array.isArray(parsed) || parsed.length !== 3) throw new TypeError('Intl: malformed formatter key');
  const [kind, locales, options] = parsed as [unknown, unknown, unknown];
  if (typeof kind !== 'string' || !(INTL_KINDS as readonly string[]).includes(kind)) throw new TypeError('Intl: unknown formatter kind');
  return [kind as Kind, localeList(locales), optionBag(options)];
}

export function localeList(locales: unknown): string[] {
  if (!Array.isArray(locales) || locales.length > MAX_LOCALES) bad(`Intl: at most ${MAX_LOCALES} locales`);
  for (const l of locales) if (typeof l !== 'string' || l.length > MAX_TAG) bad(`Intl: a locale is a string of at most ${MAX_TAG} characters`);
  return locales as string[];
}

function optionBag(options: unknown): Options {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new TypeError('Intl: malformed options');
  const keys = Object.keys(options);
  if (keys.length > MAX_OPTIONS) bad('Intl: too many options');
  const out: Options = Object.create(null);
  for (const k of keys) {
    const v = (options as Record<string, unknown>)[k];
    if (typeof v === 'string' ? v.length > MAX_OPTION : typeof v !== 'number' && typeof v !== 'boolean') bad(`Intl: option "${k}" is too long or not a primitive`);
    out[k] = v as string | number | boolean;
  }
  return out;
}

const DATE_FIELDS = ['weekday', 'year', 'month', 'day'];
const TIME_FIELDS = ['dayPeriod', 'hour', 'minute', 'second', 'fractionalSecondDigits'];

/**
 * ECMA-402's defaults for Date.prototype.toLocale{,Date,Time}String (CreateDateTimeFormat with
 * `required` and `defaults`): Node applies them only inside those methods, which build a formatter
 * per call.
 */
function dateOptions(required: 'any' | 'date' | 'time', options: Options): Options {
  const o: Options = { ...options };
  let needDefaults = true;
  if (required !== 'time') for (const f of DATE_FIELDS) if (o[f] !== undefined) needDefaults = false;
  if (required !== 'date') for (const f of TIME_FIELDS) if (o[f] !== undefined) needDefaults = false;
  if (o.dateStyle !== undefined || o.timeStyle !== undefined) needDefaults = false;
  if (required === 'date' && o.timeStyle !== undefined) throw new TypeError('Invalid option : timeStyle');
  if (required === 'time' && o.dateStyle !== undefined) throw new TypeError('Invalid option : dateStyle');
  if (needDefaults && required !== 'time') o.year = o.month = o.day = 'numeric';
  if (needDefaults && required !== 'date') o.hour = o.minute = o.second = 'numeric';
  return o;
}

function build(kind: Kind, locales: string[], options: Options): any {
  const l = locales.length ? locales : DEFAULT_LOCALE;
  switch (kind) {
    case 'DateTimeFormat:any':
      return new Intl.DateTimeFormat(l, dateOptions('any', options));
    case 'DateTimeFormat:date':
      return new Intl.DateTimeFormat(l, dateOptions('date', options));
    case 'DateTimeFormat:time':
      return new Intl.DateTimeFormat(l, dateOptions('time', options));
    case 'Locale':
      if (locales.length !== 1) throw new TypeError('Intl.Locale: a tag is required');
      return new Intl.Locale(locales[0]!, options);
    default:
      return new (Intl as any)[kind](l, options);
  }
}

/** The Node Intl object for `key`, from the cache or built (a bad key or option throws, as Node does). */
function formatter(key: string): Entry {
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const [kind, locales, options] = parseKey(key);
  const entry: Entry = { kind, obj: build(kind, locales, options), weight: WEIGHT[kind] ?? 1 };
  cache.set(key, entry);
  cacheWeight += entry.weight;
  for (const [k, e] of cache) {
    if (cacheWeight <= CACHE_BUDGET) break;
    cache.delete(k);
    cacheWeight -= e.weight;
    evictedSinceCollect += e.weight;
  }
  if (evictedSinceCollect >= COLLECT_AFTER) {
    evictedSinceCollect = 0;
    collect();
  }
  return entry;
}

/**
 * Numbers that JSON cannot carry arrive tagged: `{ n: "NaN" | "Infinity" | "-Infinity" | "-0" }`, a
 * BigInt as `{ b: "123" }`. Strings stay strings (NumberFormat formats them as exact decimals).
 */
function value(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const o = v as { n?: unknown; b?: unknown };
  if (typeof o.b === 'string' && /^-?\d{1,4096}$/.test(o.b)) return BigInt(o.b);
  if (o.n === 'NaN') return NaN;
  if (o.n === 'Infinity') return Infinity;
  if (o.n === '-Infinity') return -Infinity;
  if (o.n === '-0') return -0;
  throw new TypeError('Intl: malformed argument');
}

function args(a: unknown, min: number): unknown[] {
  if (!Array.isArray(a) || a.length < min) throw new TypeError('Intl: malformed arguments');
  return a.map(value);
}

/** The public data of an Intl.Locale (its getters and info lists), read once when it is made. */
function localeData(l: Intl.Locale): Record<string, unknown> {
  const x = l as any;
  const info = (name: string) => {
    const v = x[name];
    return typeof v === 'function' ? v.call(l) : v;
  };
  return {
    tag: l.toString(),
    baseName: l.baseName, language: l.language, script: l.script, region: l.region,
    calendar: l.calendar, caseFirst: l.caseFirst, collation: l.collation, hourCycle: l.hourCycle,
    numeric: l.numeric, numberingSystem: l.numberingSystem,
    calendars: info('calendars') ?? info('getCalendars'), collations: info('collations') ?? info('getCollations'),
    hourCycles: info('hourCycles') ?? info('getHourCycles'), numberingSystems: info('numberingSystems') ?? info('getNumberingSystems'),
    textInfo: info('textInfo') ?? info('getTextInfo'), timeZones: info('timeZones') ?? info('getTimeZones'),
    weekInfo: info('weekInfo') ?? info('getWeekInfo'),
    maximal: l.maximize().toString(), minimal: l.minimize().toString(),
  };
}

/**
 * V8's segment iterator costs time in proportion to the whole text at every step (Node 20: 250,000
 * characters and 3,000 segments take 1.7 s), so one call looks at a window the guest cut and stops
 * after SEGMENT_WORK / window length segments: well under 20 ms whatever the text. The guest asks
 * again from the last boundary it trusts.
 */
const SEGMENT_WORK = 8 * 1024 * 1024;

function segments(seg: Intl.Segmenter, text: unknown): number[] {
  if (typeof text !== 'string' || text.length > MAX_SEGMENT_WINDOW) throw new RangeError('Intl.Segmenter: window too large');
  const max = Math.max(2, Math.floor(SEGMENT_WORK / Math.max(1, text.length)));
  const ends: number[] = [];
  for (const s of seg.segment(text)) {
    ends.push((s.index + s.segment.length) * 2 + (s.isWordLike ? 1 : 0));
    if (ends.length >= max) break;
  }
  return ends;
}

/**
 * One guest Intl call: `method` on the formatter named by `key`, with `input` (a JSON array of the
 * method's arguments). 'open' builds (or finds) the formatter and returns its resolved options as
 * JSON text, which the guest keeps and copies for every resolvedOptions() call.
 */
export function intlCall(method: string, key: string, input: unknown): unknown {
  if (!(INTL_METHODS as readonly string[]).includes(method)) throw new TypeError('Intl: unknown method');
  switch (method) {
    case 'canonicalLocales':
      return Intl.getCanonicalLocales(localeList(input));
    case 'supportedValuesOf':
      return (Intl as any).supportedValuesOf(String(args(input, 1)[0]));
    case 'supportedLocalesOf': {
      const [kind, locales, options] = parseKey(key);
      const C = (Intl as any)[kind];
      if (typeof C?.supportedLocalesOf !== 'function') throw new TypeError('Intl: unknown formatter kind');
      return C.supportedLocalesOf(locales, options);
    }
    case 'toLocaleUpperCase':
    case 'toLocaleLowerCase': {
      const [s] = args(input, 1);
      if (typeof s !== 'string') throw new TypeError('Intl: malformed arguments');
      const locales = localeList(parseJson(key));
      return method === 'toLocaleUpperCase' ? s.toLocaleUpperCase(locales) : s.toLocaleLowerCase(locales);
    }
  }
  const { kind, obj } = formatter(key);
  switch (method) {
    case 'open':
      return JSON.stringify(kind === 'Locale' ? localeData(obj) : obj.resolvedOptions());
    case 'segment':
      if (kind !== 'Segmenter') break;
      return segments(obj, args(input, 1)[0]);
    case 'maximize':
    case 'minimize':
      if (kind !== 'Locale') break;
      return obj[method]().toString();
    default: {
      const fn = obj[method];
      if (typeof fn !== 'function') break;
      const a = args(input, 0);
      // a list (ListFormat) must hold strings only: anything else is not what the guest built
      if (kind === 'ListFormat' && !(Array.isArray(a[0]) && (a[0] as unknown[]).every((x) => typeof x === 'string'))) break;
      return fn.apply(obj, a);
    }
  }
  throw new TypeError(`Intl: ${method} is not a method of Intl.${kind.replace(/:.*/, '')}`);
}
