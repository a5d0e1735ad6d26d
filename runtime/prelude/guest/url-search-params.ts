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

/** Fast path in the guest; malformed percent-escapes (which decodeURIComponent rejects) go to the host's exact parser. */
export function parseQuery(query: string): Pair[] {
  if (query.startsWith('?')) query = query.slice(1);
  if (!query) return [];
  try {
    const out: Pair[] = [];
    for (const part of query.split('&')) {
      if (!part) continue;
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? '' : part.slice(eq + 1);
      out.push([decodeURIComponent(name.replace(/\+/g, ' ')), decodeURIComponent(value.replace(/\+/g, ' '))]);
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

  constructor(init: unknown = '') {
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
    } else {
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
