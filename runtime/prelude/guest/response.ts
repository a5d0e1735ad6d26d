import { Body, TEXT_PLAIN, addBrand, consume, currentList, extractBody, headersOf, type BodySource, type State } from './body.ts';
import { loaded, need } from './lazy.ts';
import { typedArrayKind } from './safe.ts';
import { fillHeaders, hasHeader, type HeaderList } from './headers.ts';
import { hardenRegExp, regexTest } from './safe.ts';
import { exactBuffer, named } from './util.ts';

/** Lets the runtime and the static factories build a Response from its state array. */
const TRUSTED = {};
const REASON_PHRASE = hardenRegExp(/^[\t\x20-\x7e\x80-\xff]*$/);

import { REDIRECTED, RESPONSE_URL as URL_, STATUS, STATUS_TEXT, TYPE, nullBodyStatus } from './slots.ts';

/**
 * The Fetch spec's "initialize a response", with the Content-Type a body implies unless one was given.
 * Headers stay a plain list: the Headers object is made only if the handler reads `.headers`.
 */
function initResponse(body: unknown, init: any, contentType: string | null): State {
  let status = 200;
  let statusText = '';
  const list: HeaderList = [];
  if (init != null) {
    const st = init.status;
    if (st !== undefined) {
      status = Number(st);
      if (!(status >= 200 && status <= 599) || status % 1) {
        throw new RangeError('The status provided (' + String(st) + ') is outside the range [200, 599].');
      }
    }
    const text = init.statusText;
    if (text !== undefined) {
      statusText = String(text);
      if (!regexTest(REASON_PHRASE, statusText)) throw new TypeError('Invalid statusText: ' + statusText);
    }
    fillHeaders(list, init.headers);
  }
  let src: BodySource = null;
  if (body != null) {
    if (nullBodyStatus(status)) throw new TypeError('Response with null body status (' + status + ') cannot have body');
    let type: string | null;
    if (typeof body === 'string') {
      src = body;
      type = TEXT_PLAIN;
    } else {
      const extracted = extractBody(body);
      src = extracted[0];
      type = extracted[1];
    }
    const ct = contentType ?? type;
    if (ct && !hasHeader(list, 'content-type')) callWith(ArrayPrototypePush, list, 'content-type', ct);
  }
  return [src, false, null, null, list, false, status, statusText, 'default', '', false];
}

/**
 * What leaves the guest for a response: `[status, body, waitUntil, name, value, …]`, the body as a
 * string (the host encodes it), an ArrayBuffer, the id of a stream the host reads (a host stream
 * passed on untouched, or a ReadableStream the host pulls through the API's `pull`), or null. Marks
 * the body used.
 */
export let responseOut: (s: State, waitUntil: boolean) => unknown[];
/** The state of a Response (brand-checked), else undefined. */
export let responseState: (x: unknown) => State | undefined;
export const responseType = (s: State): string => s[TYPE];
/** A Response of a state array built by a chunk (fetch.ts), trusted as it is. */
export const trustedResponse = (s: State): Response => new Response(TRUSTED, s);

export class Response extends Body {
  #s: State;

  constructor(body?: unknown, init?: any) {
    super();
    this.#s = body === TRUSTED ? init : initResponse(body, init, null);
  }

  static json(data: unknown, init?: any): Response {
    const text = JSONStringify(data);
    if (text === undefined) throw new TypeError('Response.json: value is not JSON serializable');
    return new Response(TRUSTED, initResponse(text, init, 'application/json'));
  }

  /** Response.redirect, Response.error and clone are the `response` chunk's (response-extras.ts). */
  static redirect(url: unknown, status: unknown = 302): Response {
    return need('response').redirect(url, status);
  }

  static error(): Response {
    return need('response').error();
  }

  get status(): number {
    return this.#s[STATUS];
  }
  get ok(): boolean {
    const status = this.#s[STATUS];
    return status >= 200 && status <= 299;
  }
  get statusText(): string {
    return this.#s[STATUS_TEXT];
  }
  get headers(): any {
    return headersOf(this.#s);
  }
  get type(): string {
    return this.#s[TYPE];
  }
  get url(): string {
    return this.#s[URL_];
  }
  get redirected(): boolean {
    return this.#s[REDIRECTED];
  }

  clone(): Response {
    const s = this.#s;
    return need('response').clone(s);
  }

  static {
    addBrand((x) => (#s in x ? x.#s : undefined));
    responseState = (x) => (typeof x === 'object' && x !== null && #s in x ? x.#s : undefined);
    responseOut = (s, waitUntil) => {
      const src = consume(s);
      const body =
        src === null || typeof src === 'string' || typeof src === 'number'
          ? src
          : typedArrayKind(src) === 'Uint8Array'
            ? exactBuffer(src as Uint8Array)
            : loaded.stream.bodyId(src);
      const list = currentList(s);
      // one header (the usual content-type) is the common case: one array literal
      if (list.length === 2) return [s[STATUS], body, waitUntil, list[0], list[1]];
      const out: unknown[] = [s[STATUS], body, waitUntil];
      for (let i = 0; i < list.length; i++) out[i + 3] = list[i];
      return out;
    };
  }
}

named(Response, 'Response');
