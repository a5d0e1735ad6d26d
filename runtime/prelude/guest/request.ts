import { Body, cloneBody, takeBody, toBytes, type BodySource } from './body.ts';
import { Headers, headerEntries, headersFromList } from './headers.ts';
import { call, type RequestParts } from './host.ts';
import { need } from './lazy.ts';
import { named } from './util.ts';

/** Lets the runtime build a Request from already-valid parts, skipping parsing and validation. */
const TRUSTED = {};

export interface Parts {
  method: string;
  url: string;
  headers: Headers;
  body: BodySource;
  redirect: string;
  signal: unknown;
}

/** Serializes an absolute URL through the host's WHATWG parser, without loading the URL chunk. */
export function absoluteUrl(input: unknown): string {
  const s = String(input);
  const parsed = call('urlParse', s);
  if (!parsed) throw new TypeError(`Invalid URL: ${s}`);
  return parsed.href;
}

export let incomingRequest: (method: string, url: string, headers: [string, string][], body: ArrayBuffer | null) => Request;
export let outgoingParts: (req: Request) => RequestParts;
export let explicitSignal: (req: Request) => unknown;

export class Request extends Body {
  #method: string;
  #url: string;
  #headers: Headers;
  #redirect: string;
  #signal: unknown;

  constructor(input: unknown, init?: any) {
    if (arguments.length === 0) throw new TypeError("Failed to construct 'Request': 1 argument required");
    const p: Parts = input === TRUSTED ? init : need('request').requestParts(input, init);
    super(p.body);
    this.#method = p.method;
    this.#url = p.url;
    this.#headers = p.headers;
    this.#redirect = p.redirect;
    this.#signal = p.signal;
  }

  get method(): string {
    return this.#method;
  }
  get url(): string {
    return this.#url;
  }
  get headers(): Headers {
    return this.#headers;
  }
  get redirect(): string {
    return this.#redirect;
  }
  /** Created on first touch: most requests never look at their signal, and AbortSignal is a chunk. */
  get signal(): any {
    return (this.#signal ??= new (need('abort').AbortController)().signal);
  }

  clone(): Request {
    const body = cloneBody(this);
    const headers = headersFromList(headerEntries(this.#headers), false);
    return new Request(TRUSTED, { method: this.#method, url: this.#url, headers, body, redirect: this.#redirect, signal: this.#signal });
  }

  static {
    incomingRequest = (method, url, headers, body) =>
      new Request(TRUSTED, {
        method,
        url,
        headers: headersFromList(headers, true),
        body: body && (body.byteLength || !/^(GET|HEAD)$/.test(method)) ? new Uint8Array(body) : null,
        redirect: 'follow',
        signal: undefined,
      });
    outgoingParts = (req) => {
      const src = takeBody(req);
      return {
        method: req.#method,
        url: req.#url,
        headers: headerEntries(req.#headers).map((p) => [p[0], p[1]]),
        body: src === null ? null : toBytes(src),
        redirect: req.#redirect,
      };
    };
    explicitSignal = (req) => req.#signal;
  }
}

named(Request, 'Request');
