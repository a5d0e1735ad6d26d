import { named } from './util.ts';

type Pair = [string, string];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const EDGE_WS = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const BAD_VALUE = /[\0\n\r\u0100-\uffff]/;

function headerName(name: unknown): string {
  const s = String(name);
  if (!TOKEN.test(s)) throw new TypeError(`Invalid header name: "${s}"`);
  return s.toLowerCase();
}

function headerValue(value: unknown): string {
  const s = String(value).replace(EDGE_WS, '');
  if (BAD_VALUE.test(s)) throw new TypeError(`Invalid header value: "${s}"`);
  return s;
}

/** Lets Request/Response build and inspect Headers without going through validation twice. */
export let headersFromList: (list: Pair[], immutable: boolean) => Headers;
export let headerEntries: (h: Headers) => Pair[];
export let freezeHeaders: (h: Headers) => void;

export class Headers {
  #list: Pair[] = [];
  #immutable = false;
  /** The "sort and combine" view, rebuilt only after a change. */
  #sorted: Pair[] | null = null;

  constructor(init?: unknown) {
    if (init == null) return;
    if (typeof init !== 'object' && typeof init !== 'function') throw new TypeError("Failed to construct 'Headers': invalid init");
    const it = (init as any)[Symbol.iterator];
    if (typeof it === 'function') {
      for (const pair of init as Iterable<unknown>) {
        const p = typeof pair === 'object' && pair !== null && !Array.isArray(pair) ? Array.from(pair as Iterable<unknown>) : (pair as unknown[]);
        if (!p || p.length !== 2) throw new TypeError('Headers init pairs must have exactly two items');
        this.append(p[0], p[1]);
      }
    } else {
      for (const key of Object.keys(init)) this.append(key, (init as any)[key]);
    }
  }

  append(name: unknown, value: unknown): void {
    this.#writable();
    this.#list.push([headerName(name), headerValue(value)]);
  }

  delete(name: unknown): void {
    const n = headerName(name);
    this.#writable();
    this.#list = this.#list.filter((p) => p[0] !== n);
  }

  get(name: unknown): string | null {
    const n = headerName(name);
    let out: string | null = null;
    for (const p of this.#list) if (p[0] === n) out = out === null ? p[1] : `${out}, ${p[1]}`;
    return out;
  }

  getSetCookie(): string[] {
    return this.#list.filter((p) => p[0] === 'set-cookie').map((p) => p[1]);
  }

  has(name: unknown): boolean {
    const n = headerName(name);
    return this.#list.some((p) => p[0] === n);
  }

  set(name: unknown, value: unknown): void {
    const n = headerName(name);
    const v = headerValue(value);
    this.#writable();
    const i = this.#list.findIndex((p) => p[0] === n);
    if (i < 0) this.#list.push([n, v]);
    else this.#list = this.#list.filter((p, j) => j === i || p[0] !== n).map((p, j) => (j === i ? [n, v] : p));
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) callback.call(thisArg, v, k, this);
  }

  /** Live like Web IDL pair iterators: each step re-reads the current, sorted list. */
  *entries(): IterableIterator<Pair> {
    for (let i = 0; ; i++) {
      const sorted = this.#sortAndCombine();
      if (i >= sorted.length) return;
      yield [sorted[i][0], sorted[i][1]];
    }
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

  #writable(): void {
    if (this.#immutable) throw new TypeError("Can't modify immutable headers.");
    this.#sorted = null;
  }

  #sortAndCombine(): Pair[] {
    if (this.#sorted) return this.#sorted;
    const names = [...new Set(this.#list.map((p) => p[0]))].sort();
    const out: Pair[] = [];
    for (const n of names) {
      if (n === 'set-cookie') for (const v of this.getSetCookie()) out.push([n, v]);
      else out.push([n, this.get(n)!]);
    }
    return (this.#sorted = out);
  }

  static {
    headersFromList = (list, immutable) => {
      const h = new Headers();
      h.#list = list.map((p) => [String(p[0]).toLowerCase(), String(p[1])]);
      h.#immutable = immutable;
      return h;
    };
    headerEntries = (h) => h.#sortAndCombine();
    freezeHeaders = (h) => {
      h.#immutable = true;
    };
  }
}

named(Headers, 'Headers');
