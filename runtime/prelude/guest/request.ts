import { Body, addBrand, cloneSource, consume, currentList, headersOf, pairsToList, type State } from './body.ts';
import type { HeaderList } from './headers.ts';
import { call } from './host.ts';
import { need } from './lazy.ts';
import { copyArray, dataDescriptor } from './safe.ts';
import { named } from './util.ts';

/** Lets the runtime build a Request from its state array, skipping parsing and validation. */
const TRUSTED = {};

import { METHOD, REDIRECT, SIGNAL, URL_ } from './slots.ts';

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
/** The state of a Request (brand-checked by its private field), else undefined: the chunks read it (slots.ts). */
export let requestState: (x: unknown) => State | undefined;

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
    requestState = (x) => (typeof x === 'object' && x !== null && #s in x ? x.#s : undefined);
  }
}

// Web IDL: one required argument
ObjectDefineProperty(Request, 'length', dataDescriptor(1, false));
named(Request, 'Request');
