import { Body, cloneBody, extractBody, takeBody, toBytes, type BodySource } from './body.ts';
import { Headers, freezeHeaders, headerEntries, headersFromList } from './headers.ts';
import type { FetchedResponse } from './host.ts';
import { absoluteUrl } from './request.ts';
import { named } from './util.ts';

const TRUSTED = {};
const NULL_BODY_STATUS = [101, 103, 204, 205, 304];
const REDIRECT_STATUS = [301, 302, 303, 307, 308];
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

interface Parts {
  status: number;
  statusText: string;
  headers: Headers;
  body: BodySource;
  type: string;
  url: string;
  redirected: boolean;
}

/** The Fetch spec's "initialize a response", with the Content-Type a body implies unless one was given. */
function responseParts(body: unknown, init: any, contentType?: string): Parts {
  init ??= {};
  const status = init.status === undefined ? 200 : Number(init.status);
  if (!(status >= 200 && status <= 599) || status % 1) {
    throw new RangeError(`The status provided (${init.status}) is outside the range [200, 599].`);
  }
  const statusText = init.statusText === undefined ? '' : String(init.statusText);
  if (!REASON_PHRASE.test(statusText)) throw new TypeError(`Invalid statusText: ${statusText}`);
  const headers = new Headers(init.headers);
  let src: BodySource = null;
  if (body != null) {
    if (NULL_BODY_STATUS.includes(status)) throw new TypeError(`Response with null body status (${status}) cannot have body`);
    const [s, type] = extractBody(body);
    src = s;
    const ct = contentType ?? type;
    if (ct && !headers.has('content-type')) headers.append('content-type', ct);
  }
  return { status, statusText, headers, body: src, type: 'default', url: '', redirected: false };
}

export let responseOut: (res: Response) => { status: number; headers: [string, string][]; body: Uint8Array | null };
export let fetchedResponse: (res: FetchedResponse) => Response;

export class Response extends Body {
  #status: number;
  #statusText: string;
  #headers: Headers;
  #type: string;
  #url: string;
  #redirected: boolean;

  constructor(body?: unknown, init?: any) {
    const p: Parts = body === TRUSTED ? init : responseParts(body, init);
    super(p.body);
    this.#status = p.status;
    this.#statusText = p.statusText;
    this.#headers = p.headers;
    this.#type = p.type;
    this.#url = p.url;
    this.#redirected = p.redirected;
  }

  static json(data: unknown, init?: any): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Response.json: value is not JSON serializable');
    return new Response(TRUSTED, responseParts(text, init, 'application/json'));
  }

  static redirect(url: unknown, status = 302): Response {
    const location = absoluteUrl(url);
    status = Number(status);
    if (!REDIRECT_STATUS.includes(status)) throw new RangeError(`Invalid status code ${status}`);
    const headers = headersFromList([['location', location]], true);
    return new Response(TRUSTED, { status, statusText: '', headers, body: null, type: 'default', url: '', redirected: false });
  }

  static error(): Response {
    const headers = headersFromList([], true);
    return new Response(TRUSTED, { status: 0, statusText: '', headers, body: null, type: 'error', url: '', redirected: false });
  }

  get status(): number {
    return this.#status;
  }
  get ok(): boolean {
    return this.#status >= 200 && this.#status <= 299;
  }
  get statusText(): string {
    return this.#statusText;
  }
  get headers(): Headers {
    return this.#headers;
  }
  get type(): string {
    return this.#type;
  }
  get url(): string {
    return this.#url;
  }
  get redirected(): boolean {
    return this.#redirected;
  }

  clone(): Response {
    const body = cloneBody(this);
    const headers = headersFromList(headerEntries(this.#headers), false);
    if (this.#type !== 'default') freezeHeaders(headers);
    return new Response(TRUSTED, {
      status: this.#status,
      statusText: this.#statusText,
      headers,
      body,
      type: this.#type,
      url: this.#url,
      redirected: this.#redirected,
    });
  }

  static {
    responseOut = (res) => {
      const src = takeBody(res);
      return { status: res.#status, headers: headerEntries(res.#headers), body: src === null ? null : toBytes(src) };
    };
    fetchedResponse = (r) =>
      new Response(TRUSTED, {
        status: r.status,
        statusText: r.statusText,
        headers: headersFromList(r.headers, true),
        body: r.body && !NULL_BODY_STATUS.includes(r.status) ? new Uint8Array(r.body) : null,
        type: 'basic',
        url: r.url,
        redirected: r.redirected,
      });
  }
}

named(Response, 'Response');
