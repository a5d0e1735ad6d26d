import { fillHeaders, hasHeader, headerName, headerValue, setIterate, sortAndCombine, type HeaderList } from './headers.ts';
import { copyArray, dataDescriptor, listFrom } from './safe.ts';

setIterate(listFrom);
import { named } from './util.ts';

/**
 * The Headers class: a chunk, because Request and Response keep plain header lists until a handler
 * reads `.headers` (see headers.ts), and most never do.
 */

/** Lets Request/Response build and read Headers without going through validation twice. */
export let fromList: (list: HeaderList, immutable: boolean) => Headers;
/** The sorted, combined list of a Headers (do not modify it). */
export let sortedListOf: (h: Headers) => HeaderList;
/** The same for anything that may be a Headers: undefined if it is not one. */
export let listOf: (x: unknown) => HeaderList | undefined;

export class Headers {
  #list: HeaderList = [];
  #immutable = false;
  /** The "sort and combine" view, rebuilt only after a change. */
  #sorted: HeaderList | null = null;

  constructor(init?: unknown) {
    if (init == null) return;
    if (typeof init === 'object' && #list in init) this.#list = copyArray(init.#sortAndCombine());
    else fillHeaders(this.#list, init);
  }

  append(name: unknown, value: unknown): void {
    this.#writable();
    const n = headerName(name);
    callWith(ArrayPrototypePush, this.#list, n, headerValue(value));
  }

  delete(name: unknown): void {
    const n = headerName(name);
    this.#writable();
    const list = this.#list;
    const kept: HeaderList = [];
    for (let i = 0; i < list.length; i += 2) if (list[i] !== n) callWith(ArrayPrototypePush, kept, list[i]!, list[i + 1]!);
    this.#list = kept;
  }

  get(name: unknown): string | null {
    const n = headerName(name);
    const list = this.#list;
    let out: string | null = null;
    for (let i = 0; i < list.length; i += 2) if (list[i] === n) out = out === null ? list[i + 1]! : (out + ', ' + list[i + 1]);
    return out;
  }

  getSetCookie(): string[] {
    const list = this.#list;
    const out: string[] = [];
    for (let i = 0; i < list.length; i += 2) if (list[i] === 'set-cookie') out[out.length] = list[i + 1]!;
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
      if (list[i] !== n) callWith(ArrayPrototypePush, out, list[i]!, list[i + 1]!);
      else if (!found) {
        found = true;
        callWith(ArrayPrototypePush, out, n, v);
      }
    }
    if (!found) callWith(ArrayPrototypePush, out, n, v);
    this.#list = out;
  }

  /** Live like Web IDL pair iterators: each step re-reads the current, sorted list. */
  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    for (let i = 0; ; i += 2) {
      const sorted = this.#sortAndCombine();
      if (i >= sorted.length) return;
      callWith(callback, thisArg, sorted[i + 1]!, sorted[i]!, this);
    }
  }

  *entries(): IterableIterator<[string, string]> {
    for (let i = 0; ; i += 2) {
      const sorted = this.#sortAndCombine();
      if (i >= sorted.length) return;
      yield [sorted[i]!, sorted[i + 1]!];
    }
  }

  *keys(): IterableIterator<string> {
    for (let i = 0; ; i += 2) {
      const sorted = this.#sortAndCombine();
      if (i >= sorted.length) return;
      yield sorted[i]!;
    }
  }

  *values(): IterableIterator<string> {
    for (let i = 0; ; i += 2) {
      const sorted = this.#sortAndCombine();
      if (i >= sorted.length) return;
      yield sorted[i + 1]!;
    }
  }

  declare [Symbol.iterator]: () => IterableIterator<[string, string]>;

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
    listOf = (x) => (typeof x === 'object' && x !== null && #list in x ? x.#sortAndCombine() : undefined);
  }
}

// Web IDL: the iterator is the very entries() function
ObjectDefineProperty(Headers.prototype, Symbol.iterator, dataDescriptor(Headers.prototype.entries));
named(Headers, 'Headers');
