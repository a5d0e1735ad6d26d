import { call } from './host.ts';
import { FIELDS, HREF, SEARCH, fastUrlParts, partsFromHost, type Parts } from './url-fast.ts';
import { URLSearchParams, linkParams, resetParams } from './url-search-params.ts';
import { named } from './util.ts';

/**
 * URL with the host's WHATWG parser (Node's) doing all parsing and setting: the guest keeps only the
 * components, which costs a host call per parse but nothing like a guest-side parser's heap. URLs
 * already in canonical form (a request's own URL, typically) are split in the guest (url-fast.ts).
 */

function parse(url: unknown, base?: unknown): Parts | null {
  if (base !== undefined) return partsFromHost(call('urlParse', String(url), String(base)));
  const s = String(url);
  return fastUrlParts(s) ?? partsFromHost(call('urlParse', s));
}

export class URL {
  #p: Parts;
  #params: URLSearchParams | null = null;

  constructor(url: unknown, base?: unknown) {
    if (arguments.length === 0) throw new TypeError("Failed to construct 'URL': 1 argument required");
    const p = parse(url, base);
    if (!p) throw new TypeError('Invalid URL: ' + String(url));
    this.#p = p;
  }

  static canParse(url: unknown, base?: unknown): boolean {
    return parse(url, base) !== null;
  }

  static parse(url: unknown, base?: unknown): URL | null {
    return parse(url, base) !== null ? new URL(url, base) : null;
  }

  #set(field: number, value: unknown): void {
    const before = this.#p[SEARCH];
    this.#p = partsFromHost(call('urlSet', this.#p[HREF], FIELDS[field], String(value)))!;
    if (this.#params && this.#p[SEARCH] !== before) resetParams(this.#params, this.#p[SEARCH]);
  }

  get href(): string {
    return this.#p[0];
  }
  set href(v: string) {
    const p = parse(v);
    if (!p) throw new TypeError('Invalid URL: ' + String(v));
    this.#p = p;
    if (this.#params) resetParams(this.#params, p[SEARCH]);
  }
  get origin(): string {
    return this.#p[1];
  }
  get protocol(): string {
    return this.#p[2];
  }
  set protocol(v: string) {
    this.#set(2, v);
  }
  get username(): string {
    return this.#p[3];
  }
  set username(v: string) {
    this.#set(3, v);
  }
  get password(): string {
    return this.#p[4];
  }
  set password(v: string) {
    this.#set(4, v);
  }
  get host(): string {
    return this.#p[5];
  }
  set host(v: string) {
    this.#set(5, v);
  }
  get hostname(): string {
    return this.#p[6];
  }
  set hostname(v: string) {
    this.#set(6, v);
  }
  get port(): string {
    return this.#p[7];
  }
  set port(v: string) {
    this.#set(7, v);
  }
  get pathname(): string {
    return this.#p[8];
  }
  set pathname(v: string) {
    this.#set(8, v);
  }
  get search(): string {
    return this.#p[9];
  }
  set search(v: string) {
    this.#set(9, v);
  }
  get hash(): string {
    return this.#p[10];
  }
  set hash(v: string) {
    this.#set(10, v);
  }

  get searchParams(): URLSearchParams {
    if (!this.#params) {
      const params = new URLSearchParams(this.#p[SEARCH]);
      linkParams(params, (query) => {
        this.#p = partsFromHost(call('urlSet', this.#p[HREF], 'search', query))!;
      });
      this.#params = params;
    }
    return this.#params;
  }

  toString(): string {
    return this.#p[0];
  }

  toJSON(): string {
    return this.#p[0];
  }
}

named(URL, 'URL');
