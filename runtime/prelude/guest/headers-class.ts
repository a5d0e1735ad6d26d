import { fillHeaders, hasHeader, headerName, headerValue, sortAndCombine, type HeaderList } from './headers.ts';
import { named } from './util.ts';

/**
 * The Headers class: a chunk, because Request and Response keep plain header lists until a handler
 * reads `.headers` (see headers.ts), and most never do.
 */

/** Lets Request/Response build and read Headers without going through validation twice. */
export let fromList: (list: HeaderList, immutable: boolean) => Headers;
/** The sorted, combined list of a Headers (do not modify it). */
export let sortedListOf: (h: Headers) => HeaderList;

export class Headers {
  #list: HeaderList = [];
  #immutable = false;
  /** The "sort and combine" view, rebuilt only after a change. */
  #sorted: HeaderList | null = null;

  constructor(init?: unknown) {
    if (init == null) return;
    if (typeof init === 'object' && #list in init) this.#list = init.#sortAndCombine().slice();
    else fillHeaders(this.#list, init);
  }

  append(name: unknown, value: unknown): void {
    this.#writable();
    const n = headerName(name);
    this.#list.push(n, headerValue(value));
  }

  delete(name: unknown): void {
    const n = headerName(name);
    this.#writable();
    const list = this.#list;
    const kept: HeaderList = [];
    for (let i = 0; i < list.length; i += 2) if (list[i] !== n) kept.push(list[i], list[i + 1]);
    this.#list = kept;
  }

  get(name: unknown): string | null {
    const n = headerName(name);
    const list = this.#list;
    let out: string | null = null;
    for (let i = 0; i < list.length; i += 2) if (list[i] === n) out = out === null ? list[i + 1] : `${out}, ${list[i + 1]}`;
    return out;
  }

  getSetCookie(): string[] {
    const list = this.#list;
    const out: string[] = [];
    for (let i = 0; i < list.length; i += 2) if (list[i] === 'set-cookie') out.push(list[i + 1]);
    return out;
  }

  has(name: unknown): boolean {
    return hasHeader(this.#list, headerName(name));
  }

  set(name: unknown, value: unknown): void {
    const n = headerName(name);
    const v = headerValue(value);
    this.#writable();
    const list = this.#list;
    const out: HeaderList = [];
    let found = false;
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] !== n) out.push(list[i], list[i + 1]);
      else if (!found) {
        found = true;
        out.push(n, v);
      }
    }
    if (!found) out.push(n, v);
    this.#list = out;
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) callback.call(thisArg, v, k, this);
  }

  /** Live like Web IDL pair iterators: each step re-reads the current, sorted list. */
  *entries(): IterableIterator<[string, string]> {
    for (let i = 0; ; i += 2) {
      const sorted = this.#sortAndCombine();
      if (i >= sorted.length) return;
      yield [sorted[i], sorted[i + 1]];
    }
  }

  *keys(): IterableIterator<string> {
    for (const p of this.entries()) yield p[0];
  }

  *values(): IterableIterator<string> {
    for (const p of this.entries()) yield p[1];
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  #writable(): void {
    if (this.#immutable) throw new TypeError("Can't modify immutable headers.");
    this.#sorted = null;
  }

  #sortAndCombine(): HeaderList {
    return (this.#sorted ??= sortAndCombine(this.#list));
  }

  static {
    fromList = (list, immutable) => {
      const h = new Headers();
      h.#list = list;
      h.#immutable = immutable;
      return h;
    };
    sortedListOf = (h) => h.#sortAndCombine();
  }
}

named(Headers, 'Headers');
