import { call } from './host.ts';
import { named } from './util.ts';

type Pair = [string, string];

/** Strings cross Web IDL as USVStrings: lone surrogates become U+FFFD. */
const usv = (v: unknown) => String(v).toWellFormed();

/** application/x-www-form-urlencoded serializing: encodeURIComponent plus the few characters it leaves alone. */
function encode(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const PLUS = /\+/g;
const ESCAPED = /[+%]/;

function decode(s: string): string {
  if (s.indexOf('+') >= 0) s = s.replace(PLUS, ' ');
  return s.indexOf('%') >= 0 ? decodeURIComponent(s) : s;
}
const keep = (s: string): string => s;

/** Fast path in the guest; malformed percent-escapes (which decodeURIComponent rejects) go to the host's exact parser. */
export function parseQuery(query: string): Pair[] {
  const n = query.length;
  let start = query.charCodeAt(0) === 63 ? 1 : 0;
  const out: Pair[] = [];
  // most queries have nothing to decode: one test for the whole string spares a decode per name and value
  const dec = ESCAPED.test(query) ? decode : keep;
  try {
    while (start < n) {
      let end = query.indexOf('&', start);
      if (end < 0) end = n;
      if (end > start) {
        const eq = query.indexOf('=', start);
        if (eq < 0 || eq > end) out.push([dec(query.slice(start, end)), '']);
        else out.push([dec(query.slice(start, eq)), dec(query.slice(eq + 1, end))]);
      }
      start = end + 1;
    }
    return out;
  } catch {
    return call('formDecode', query);
  }
}

export let linkParams: (params: URLSearchParams, onChange: (query: string) => void) => void;
export let resetParams: (params: URLSearchParams, query: string) => void;

export class URLSearchParams {
  #list: Pair[] = [];
  #onChange: ((query: string) => void) | null = null;

  // `arguments`, not `init = ''`: length stays 0 as Web IDL says, and QuickJS runs functions with
  // default parameters much slower
  constructor(init?: unknown);
  constructor() {
    const init: unknown = arguments[0];
    if (typeof init === 'object' && init !== null) {
      if (typeof (init as any)[Symbol.iterator] === 'function') {
        for (const pair of init as Iterable<unknown>) {
          const p = Array.from(pair as Iterable<unknown>);
          if (p.length !== 2) throw new TypeError('URLSearchParams init pairs must have exactly two items');
          this.#list.push([usv(p[0]), usv(p[1])]);
        }
      } else {
        for (const k of Object.keys(init)) this.#list.push([usv(k), usv((init as any)[k])]);
      }
    } else if (init !== undefined) {
      this.#list = parseQuery(usv(init));
    }
  }

  get size(): number {
    return this.#list.length;
  }

  append(name: unknown, value: unknown): void {
    this.#list.push([usv(name), usv(value)]);
    this.#update();
  }

  delete(name: unknown, value?: unknown): void {
    const n = usv(name);
    const v = value === undefined ? undefined : usv(value);
    this.#list = this.#list.filter((p) => p[0] !== n || (v !== undefined && p[1] !== v));
    this.#update();
  }

  get(name: unknown): string | null {
    const n = usv(name);
    return this.#list.find((p) => p[0] === n)?.[1] ?? null;
  }

  getAll(name: unknown): string[] {
    const n = usv(name);
    return this.#list.filter((p) => p[0] === n).map((p) => p[1]);
  }

  has(name: unknown, value?: unknown): boolean {
    const n = usv(name);
    const v = value === undefined ? undefined : usv(value);
    return this.#list.some((p) => p[0] === n && (v === undefined || p[1] === v));
  }

  set(name: unknown, value: unknown): void {
    const n = usv(name);
    const v = usv(value);
    const i = this.#list.findIndex((p) => p[0] === n);
    if (i < 0) this.#list.push([n, v]);
    else this.#list = this.#list.filter((p, j) => j === i || p[0] !== n).map((p, j) => (j === i ? [n, v] : p));
    this.#update();
  }

  /** Stable sort by name in UTF-16 code units, as the spec asks (JS string comparison is exactly that). */
  sort(): void {
    this.#list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.#update();
  }

  toString(): string {
    return this.#list.map((p) => `${encode(p[0])}=${encode(p[1])}`).join('&');
  }

  forEach(callback: (value: string, key: string, parent: URLSearchParams) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) callback.call(thisArg, v, k, this);
  }

  *entries(): IterableIterator<Pair> {
    for (let i = 0; i < this.#list.length; i++) yield [this.#list[i][0], this.#list[i][1]];
  }

  *keys(): IterableIterator<string> {
    for (const p of this.entries()) yield p[0];
  }

  *values(): IterableIterator<string> {
    for (const p of this.entries()) yield p[1];
  }

  [Symbol.iterator](): IterableIterator<Pair> {
    return this.entries();
  }

  #update(): void {
    this.#onChange?.(this.toString());
  }

  static {
    linkParams = (params, onChange) => {
      params.#onChange = onChange;
    };
    resetParams = (params, query) => {
      params.#list = parseQuery(query);
    };
  }
}

named(URLSearchParams, 'URLSearchParams');
