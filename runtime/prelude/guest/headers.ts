/**
 * Header lists: one flat array `[name, value, name, value, …]` with lower-cased names. Arrays are the
 * cheapest structure QuickJS builds, and Request/Response hold such a list without a Headers object
 * until someone touches `.headers`, which most handlers never do; the Headers class itself is a
 * chunk (headers-class.ts), loaded on that first touch.
 */
import { loaded } from './host.ts';
import { hardenRegExp, regexReplace, regexTest } from './safe.ts';

export type HeaderList = string[];

const TOKEN = hardenRegExp(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
const EDGE_WS = hardenRegExp(/^[\t\n\r ]+|[\t\n\r ]+$/g);
const BAD_VALUE = hardenRegExp(/[\0\n\r\u0100-\uffff]/);

export function headerName(name: unknown): string {
  const s = String(name);
  if (!regexTest(TOKEN, s)) throw new TypeError('Invalid header name: "' + s + '"');
  return callWith(StringPrototypeToLowerCase, s);
}

/** Tab, LF, CR or space: the HTTP whitespace a value loses at both ends. */
const isWs = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

export function headerValue(value: unknown): string {
  let s = String(value);
  const n = s.length;
  if (n > 0 && (isWs(callWith(StringPrototypeCharCodeAt, s, 0)) || isWs(callWith(StringPrototypeCharCodeAt, s, n - 1)))) s = regexReplace(EDGE_WS, s, '');
  if (regexTest(BAD_VALUE, s)) throw new TypeError('Invalid header value: "' + s + '"');
  return s;
}

/**
 * The values of an iterable init other than a plain array, through its own iterator (safe.ts
 * listFrom). Rare, so the core leaves it to the headers chunk; a chunk that bundles this module sets
 * its own.
 */
let iterate: (x: unknown) => unknown[] | undefined;
export const setIterate = (fn: typeof iterate) => void (iterate = fn);

/** A user array that keeps the original iterator is read by index, as that iterator would. */
function sequence(x: any): unknown[] | undefined {
  const method = x[Symbol.iterator];
  if (method == null) return undefined;
  return method === ArrayPrototypeSymbolIterator && ArrayIsArray(x) ? x : iterate(x);
}

/**
 * Appends the validated pairs of a HeadersInit (record, iterable of pairs, Headers) to `list`. A
 * Headers object is read through its private list, not its (replaceable) iterator.
 */
export function fillHeaders(list: HeaderList, init: unknown): void {
  if (init == null) return;
  if (typeof init !== 'object' && typeof init !== 'function') throw new TypeError("Failed to construct 'Headers': invalid init");
  const own: HeaderList | undefined = loaded.headers?.listOf(init);
  if (own) {
    for (let i = 0; i < own.length; i++) list[list.length] = own[i]!;
    return;
  }
  const pairs = sequence(init);
  if (pairs) {
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i];
      const p = typeof pair === 'object' && pair !== null ? sequence(pair) : undefined;
      if (!p || p.length !== 2) throw new TypeError('Headers init pairs must have exactly two items');
      const name = headerName(p[0]);
      callWith(ArrayPrototypePush, list, name, headerValue(p[1]));
    }
  } else {
    const keys = ObjectKeys(init);
    for (let i = 0; i < keys.length; i++) {
      const name = headerName(keys[i]);
      callWith(ArrayPrototypePush, list, name, headerValue((init as any)[keys[i]!]));
    }
  }
}

export function hasHeader(list: HeaderList, name: string): boolean {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return true;
  return false;
}

/**
 * The Fetch spec's "sort and combine", flat: names ascending, values of one name joined by ", "
 * except set-cookie, which keeps one entry per value. A list that is already in that form (one
 * header, or distinct names in order: the usual case) is returned as it is, not copied.
 */
export function sortAndCombine(list: HeaderList): HeaderList {
  const n = list.length;
  let i = 2;
  while (i < n && list[i - 2]! < list[i]!) i += 2;
  if (i >= n) return list;
  const names: string[] = [];
  for (let j = 0; j < n; j += 2) if (!callWith(ArrayPrototypeIncludes, names, list[j])) names[names.length] = list[j]!;
  callWith(ArrayPrototypeSort, names);
  const out: HeaderList = [];
  for (let k = 0; k < names.length; k++) {
    const name = names[k]!;
    if (name === 'set-cookie') {
      for (let j = 0; j < n; j += 2) if (list[j] === name) callWith(ArrayPrototypePush, out, name, list[j + 1]!);
      continue;
    }
    let value: string | null = null;
    for (let j = 0; j < n; j += 2) if (list[j] === name) value = value === null ? list[j + 1]! : (value + ', ' + list[j + 1]);
    callWith(ArrayPrototypePush, out, name, value!);
  }
  return out;
}
