import { call } from './host.ts';
import { URLSearchParams, linkParams, resetParams } from './url-search-params.ts';
import { named } from './util.ts';

/**
 * URL with the host's WHATWG parser (Node's) doing all parsing and setting: the guest keeps only the
 * components, which costs a host call per parse but nothing like a guest-side parser's heap.
 */

interface Parts {
  href: string;
  origin: string;
  protocol: string;
  username: string;
  password: string;
  host: string;
  hostname: string;
  port: string;
  pathname: string;
  search: string;
  hash: string;
}

function parse(url: unknown, base?: unknown): Parts | null {
  return base === undefined ? call('urlParse', String(url)) : call('urlParse', String(url), String(base));
}

export class URL {
  #p: Parts;
  #params: URLSearchParams | null = null;

  constructor(url: unknown, base?: unknown) {
    if (arguments.length === 0) throw new TypeError("Failed to construct 'URL': 1 argument required");
    const p = parse(url, base);
    if (!p) throw new TypeError(`Invalid URL: ${String(url)}`);
    this.#p = p;
  }

  static canParse(url: unknown, base?: unknown): boolean {
    return parse(url, base) !== null;
  }

  static parse(url: unknown, base?: unknown): URL | null {
    return URL.canParse(url, base) ? new URL(url, base) : null;
  }

  #set(prop: keyof Parts, value: unknown): void {
    const before = this.#p.search;
    this.#p = call('urlSet', this.#p.href, prop, String(value));
    if (this.#params && this.#p.search !== before) resetParams(this.#params, this.#p.search);
  }

  get href(): string {
    return this.#p.href;
  }
  set href(v: string) {
    const p = parse(v);
    if (!p) throw new TypeError(`Invalid URL: ${String(v)}`);
    this.#p = p;
    if (this.#params) resetParams(this.#params, p.search);
  }
  get origin(): string {
    return this.#p.origin;
  }
  get protocol(): string {
    return this.#p.protocol;
  }
  set protocol(v: string) {
    this.#set('protocol', v);
  }
  get username(): string {
    return this.#p.username;
  }
  set username(v: string) {
    this.#set('username', v);
  }
  get password(): string {
    return this.#p.password;
  }
  set password(v: string) {
    this.#set('password', v);
  }
  get host(): string {
    return this.#p.host;
  }
  set host(v: string) {
    this.#set('host', v);
  }
  get hostname(): string {
    return this.#p.hostname;
  }
  set hostname(v: string) {
    this.#set('hostname', v);
  }
  get port(): string {
    return this.#p.port;
  }
  set port(v: string) {
    this.#set('port', v);
  }
  get pathname(): string {
    return this.#p.pathname;
  }
  set pathname(v: string) {
    this.#set('pathname', v);
  }
  get search(): string {
    return this.#p.search;
  }
  set search(v: string) {
    this.#set('search', v);
  }
  get hash(): string {
    return this.#p.hash;
  }
  set hash(v: string) {
    this.#set('hash', v);
  }

  get searchParams(): URLSearchParams {
    if (!this.#params) {
      const params = new URLSearchParams(this.#p.search);
      linkParams(params, (query) => {
        this.#p = call('urlSet', this.#p.href, 'search', query);
      });
      this.#params = params;
    }
    return this.#params;
  }

  toString(): string {
    return this.#p.href;
  }

  toJSON(): string {
    return this.#p.href;
  }
}

named(URL, 'URL');
