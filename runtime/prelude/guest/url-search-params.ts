import { call } from './host.ts';
import { dataDescriptor, hardenRegExp, listFrom, regexReplace, regexTest } from './safe.ts';
import { named } from './util.ts';

type Pair = [string, string];

/** Strings cross Web IDL as USVStrings: lone surrogates become U+FFFD. */
const usv = (v: unknown) => callWith(StringPrototypeToWellFormed, String(v));

const SPACE = hardenRegExp(/%20/g);
const UNRESERVED = hardenRegExp(/[!'()~]/g);
const ESCAPES: Record<string, string> = { __proto__: null, '!': '%21', "'": '%27', '(': '%28', ')': '%29', '~': '%7E' } as any;
const escape = (c: string) => ESCAPES[c]!;

/** application/x-www-form-urlencoded serializing: encodeURIComponent plus the few characters it leaves alone. */
function encode(s: string): string {
  return regexReplace(UNRESERVED, regexReplace(SPACE, encodeURIComponent(s), '+'), escape);
}

const PLUS = hardenRegExp(/\+/g);
const ESCAPED = hardenRegExp(/[+%]/);

function decode(s: string): string {
  if (callWith(StringPrototypeIndexOf, s, '+') >= 0) s = regexReplace(PLUS, s, ' ');
  return callWith(StringPrototypeIndexOf, s, '%') >= 0 ? decodeURIComponent(s) : s;
}
const keep = (s: string): string => s;

/** Fast path in the guest; malformed percent-escapes (which decodeURIComponent rejects) go to the host's exact parser. */
export function parseQuery(query: string): Pair[] {
  const n = query.length;
  let start = callWith(StringPrototypeCharCodeAt, query, 0) === 63 ? 1 : 0;
  const out: Pair[] = [];
  // most queries have nothing to decode: one test for the whole string spares a decode per name and value
  const dec = regexTest(ESCAPED, query) ? decode : keep;
  try {
    while (start < n) {
      let end = callWith(StringPrototypeIndexOf, query, '&', start);
      if (end < 0) end = n;
      if (end > start) {
        const eq = callWith(StringPrototypeIndexOf, query, '=', start);
        out[out.length] =
          eq < 0 || eq > end
            ? [dec(callWith(StringPrototypeSlice, query, start, end)), '']
            : [dec(callWith(StringPrototypeSlice, query, start, eq)), dec(callWith(StringPrototypeSlice, query, eq + 1, end))];
      }
      start = end + 1;
    }
    return out;
  } catch {
    return call('formDecode', query);
  }
}

function serialize(list: Pair[]): string {
  let out = '';
  for (let i = 0; i < list.length; i++) out += ((i ? '&' : '') + encode(list[i]![0]) + '=' + encode(list[i]![1]));
  return out;
}

export let linkParams: (params: URLSearchParams, onChange: (query: string) => void) => void;
export let resetParams: (params: URLSearchParams, query: string) => void;
/** The serialization of a URLSearchParams (read through its private list), or undefined for anything else. */
export let serializeParams: (x: unknown) => string | undefined;

export class URLSearchParams {
  #list: Pair[] = [];
  #onChange: ((query: string) => void) | null = null;

  // `arguments`, not `init = ''`: length stays 0 as Web IDL says, and QuickJS runs functions with
  // default parameters much slower
  constructor(init?: unknown);
  constructor() {
    const init: unknown = arguments[0];
    if (typeof init === 'object' && init !== null) {
      const list = this.#list;
      if (#list in init) {
        const from = init.#list;
        for (let i = 0; i < from.length; i++) list[i] = [from[i]![0], from[i]![1]];
        return;
      }
      const pairs = listFrom(init);
      if (pairs) {
        for (let i = 0; i < pairs.length; i++) {
          const pair = pairs[i];
          const p = typeof pair === 'object' && pair !== null ? listFrom(pair) : undefined;
          if (!p || p.length !== 2) throw new TypeError('URLSearchParams init pairs must have exactly two items');
          list[i] = [usv(p[0]), usv(p[1])];
        }
      } else {
        const keys = ObjectKeys(init);
        for (let i = 0; i < keys.length; i++) list[i] = [usv(keys[i]), usv((init as any)[keys[i]!])];
      }
    } else if (init !== undefined) {
      this.#list = parseQuery(usv(init));
    }
  }

  get size(): number {
    return this.#list.length;
  }

  append(name: unknown, value: unknown): void {
    const list = this.#list;
    list[list.length] = [usv(name), usv(value)];
    this.#update();
  }

  delete(name: unknown, value?: unknown): void {
    const n = usv(name);
    const v = value === undefined ? undefined : usv(value);
    const list = this.#list;
    const kept: Pair[] = [];
    for (let i = 0; i < list.length; i++) {
      const p = list[i]!;
      if (p[0] !== n || (v !== undefined && p[1] !== v)) kept[kept.length] = p;
    }
    this.#list = kept;
    this.#update();
  }

  get(name: unknown): string | null {
    const n = usv(name);
    const list = this.#list;
    for (let i = 0; i < list.length; i++) if (list[i]![0] === n) return list[i]![1];
    return null;
  }

  getAll(name: unknown): string[] {
    const n = usv(name);
    const list = this.#list;
    const out: string[] = [];
    for (let i = 0; i < list.length; i++) if (list[i]![0] === n) out[out.length] = list[i]![1];
    return out;
  }

  has(name: unknown, value?: unknown): boolean {
    const n = usv(name);
    const v = value === undefined ? undefined : usv(value);
    const list = this.#list;
    for (let i = 0; i < list.length; i++) if (list[i]![0] === n && (v === undefined || list[i]![1] === v)) return true;
    return false;
  }

  /** The first pair of that name gets the value, the others go. */
  set(name: unknown, value: unknown): void {
    const n = usv(name);
    const v = usv(value);
    const list = this.#list;
    const out: Pair[] = [];
    let found = false;
    for (let i = 0; i < list.length; i++) {
      const p = list[i]!;
      if (p[0] !== n) out[out.length] = p;
      else if (!found) {
        found = true;
        out[out.length] = [n, v];
      }
    }
    if (!found) out[out.length] = [n, v];
    this.#list = out;
    this.#update();
  }

  /** Stable sort by name in UTF-16 code units, as the spec asks (JS string comparison is exactly that). */
  sort(): void {
    callWith(ArrayPrototypeSort, this.#list, (a: Pair, b: Pair) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.#update();
  }

  toString(): string {
    return serialize(this.#list);
  }

  /** Live: each step re-reads the current list. */
  forEach(callback: (value: string, key: string, parent: URLSearchParams) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.#list.length; i++) callWith(callback, thisArg, this.#list[i]![1], this.#list[i]![0], this);
  }

  *entries(): IterableIterator<Pair> {
    for (let i = 0; i < this.#list.length; i++) yield [this.#list[i]![0], this.#list[i]![1]];
  }

  *keys(): IterableIterator<string> {
    for (let i = 0; i < this.#list.length; i++) yield this.#list[i]![0];
  }

  *values(): IterableIterator<string> {
    for (let i = 0; i < this.#list.length; i++) yield this.#list[i]![1];
  }

  declare [Symbol.iterator]: () => IterableIterator<Pair>;

  #update(): void {
    this.#onChange?.(serialize(this.#list));
  }

  static {
    linkParams = (params, onChange) => {
      params.#onChange = onChange;
    };
    resetParams = (params, query) => {
      params.#list = parseQuery(query);
    };
    serializeParams = (x) => (typeof x === 'object' && x !== null && #list in x ? serialize(x.#list) : undefined);
  }
}

// Web IDL: the iterator is the very entries() function
ObjectDefineProperty(URLSearchParams.prototype, Symbol.iterator, dataDescriptor(URLSearchParams.prototype.entries));
named(URLSearchParams, 'URLSearchParams');
