import { Body, addBrand, cloneSource, consume, currentList, headersOf, pairsToList, type State } from './body.ts';
import type { HeaderList } from './headers.ts';
import { call, type RequestParts } from './host.ts';
import { need } from './lazy.ts';
import { copyArray, dataDescriptor } from './safe.ts';
import { named } from './util.ts';

/** Lets the runtime build a Request from its state array, skipping parsing and validation. */
const TRUSTED = {};

/** Request state: the body slots of body.ts, then these. */
const METHOD = 6;
const URL_ = 7;
const REDIRECT = 8;
const SIGNAL = 9;

export interface Parts {
  method: string;
  url: string;
  headers: HeaderList;
  body: unknown;
  redirect: string;
  signal: unknown;
}

/** Serializes an absolute URL through the host's WHATWG parser, without loading the URL chunk. */
export function absoluteUrl(input: unknown): string {
  const s = String(input);
  const parsed = call('urlParse', s);
  if (!parsed) throw new TypeError('Invalid URL: ' + s);
  return parsed.href;
}

/** `body`: the bytes, or the id of the host stream they arrive on, or null. */
export let incomingRequest: (method: string, url: string, headers: string | [string, string][] | null, body: ArrayBuffer | number | null) => Request;
export let outgoingParts: (req: Request) => RequestParts;
export let explicitSignal: (req: Request) => unknown;
/** What `new Request(request)` copies from a Request, read from its state; undefined for anything else. */
export let requestFields: (x: unknown) => { method: string; url: string; redirect: string; signal: unknown } | undefined;
/** A Request's current header list (sorted, combined; do not modify), without making a Headers object. */
export let requestHeaderList: (req: Request) => HeaderList;

export class Request extends Body {
  #s: State;

  constructor(input: unknown, init?: any) {
    super();
    if (input === TRUSTED) {
      this.#s = init;
      return;
    }
    // (arguments, not a default parameter: QuickJS runs a function with defaults much slower)
    if (arguments.length === 0) throw new TypeError("Failed to construct 'Request': 1 argument required");
    const p: Parts = need('request').requestParts(input, init);
    this.#s = [p.body, false, null, null, p.headers, false, p.method, p.url, p.redirect, p.signal];
  }

  get method(): string {
    return this.#s[METHOD];
  }
  get url(): string {
    return this.#s[URL_];
  }
  get headers(): any {
    return headersOf(this.#s);
  }
  get redirect(): string {
    return this.#s[REDIRECT];
  }
  /** Created on first touch: most requests never look at their signal, and AbortSignal is a chunk. */
  get signal(): any {
    const s = this.#s;
    return (s[SIGNAL] ??= need('abort').newSignal());
  }

  clone(): Request {
    const s = this.#s;
    const body = cloneSource(s);
    return new Request(TRUSTED, [body, false, null, null, copyArray(currentList(s)), false, s[METHOD], s[URL_], s[REDIRECT], s[SIGNAL]]);
  }

  static {
    addBrand((x) => (#s in x ? x.#s : undefined));
    incomingRequest = (method, url, headers, body) =>
      new Request(TRUSTED, [
        typeof body === 'number'
          ? body
          : body && (callWith(ArrayBufferPrototypeGetByteLength, body) || (method !== 'GET' && method !== 'HEAD'))
            ? new Uint8Array(body)
            : null,
        false,
        null,
        null,
        typeof headers === 'string' ? headers : pairsToList(headers ?? []),
        true,
        method,
        url,
        'follow',
        undefined,
      ]);
    outgoingParts = (req) => {
      const s = req.#s;
      const src = consume(s);
      const list = currentList(s);
      const headers: [string, string][] = [];
      for (let i = 0; i < list.length; i += 2) headers[i >> 1] = [list[i]!, list[i + 1]!];
      return { method: s[METHOD], url: s[URL_], headers, body: src, redirect: s[REDIRECT] };
    };
    explicitSignal = (req) => req.#s[SIGNAL];
    requestFields = (x) => {
      if (typeof x !== 'object' || x === null || !(#s in x)) return undefined;
      const s = x.#s;
      return { method: s[METHOD], url: s[URL_], redirect: s[REDIRECT], signal: s[SIGNAL] };
    };
    requestHeaderList = (req) => currentList(req.#s);
  }
}

// Web IDL: one required argument
ObjectDefineProperty(Request, 'length', dataDescriptor(1, false));
named(Request, 'Request');
