/**
 * Header lists: one flat array `[name, value, name, value, …]` with lower-cased names. Arrays are the
 * cheapest structure QuickJS builds, and Request/Response hold such a list without a Headers object
 * until someone touches `.headers`, which most handlers never do; the Headers class itself is a
 * chunk (headers-class.ts), loaded on that first touch.
 */
export type HeaderList = string[];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const EDGE_WS = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const BAD_VALUE = /[\0\n\r\u0100-\uffff]/;

export function headerName(name: unknown): string {
  const s = String(name);
  if (!TOKEN.test(s)) throw new TypeError(`Invalid header name: "${s}"`);
  return s.toLowerCase();
}

/** Tab, LF, CR or space: the HTTP whitespace a value loses at both ends. */
const isWs = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

export function headerValue(value: unknown): string {
  let s = String(value);
  const n = s.length;
  if (n > 0 && (isWs(s.charCodeAt(0)) || isWs(s.charCodeAt(n - 1)))) s = s.replace(EDGE_WS, '');
  if (BAD_VALUE.test(s)) throw new TypeError(`Invalid header value: "${s}"`);
  return s;
}

/** Appends the validated pairs of a HeadersInit (record, iterable of pairs, Headers) to `list`. */
export function fillHeaders(list: HeaderList, init: unknown): void {
  if (init == null) return;
  if (typeof init !== 'object' && typeof init !== 'function') throw new TypeError("Failed to construct 'Headers': invalid init");
  const it = (init as any)[Symbol.iterator];
  if (typeof it === 'function') {
    for (const pair of init as Iterable<unknown>) {
      const p = typeof pair === 'object' && pair !== null && !Array.isArray(pair) ? Array.from(pair as Iterable<unknown>) : (pair as unknown[]);
      if (!p || p.length !== 2) throw new TypeError('Headers init pairs must have exactly two items');
      const name = headerName(p[0]);
      list.push(name, headerValue(p[1]));
    }
  } else {
    for (const key of Object.keys(init)) {
      const name = headerName(key);
      list.push(name, headerValue((init as any)[key]));
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
  while (i < n && list[i - 2] < list[i]) i += 2;
  if (i >= n) return list;
  const names: string[] = [];
  for (let j = 0; j < n; j += 2) if (!names.includes(list[j])) names.push(list[j]);
  names.sort();
  const out: HeaderList = [];
  for (const name of names) {
    if (name === 'set-cookie') {
      for (let j = 0; j < n; j += 2) if (list[j] === name) out.push(name, list[j + 1]);
      continue;
    }
    let value: string | null = null;
    for (let j = 0; j < n; j += 2) if (list[j] === name) value = value === null ? list[j + 1] : `${value}, ${list[j + 1]}`;
    out.push(name, value!);
  }
  return out;
}

