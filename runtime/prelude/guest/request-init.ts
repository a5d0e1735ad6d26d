import { fillHeaders, hasHeader, setIterate, type HeaderList } from './headers.ts';
import { call, internals } from './host.ts';
import type { Parts } from './request.ts';
import { hardenRegExp, listFrom, regexTest } from './safe.ts';
import { fastUrlParts } from './url-fast.ts';
import { METHOD, REDIRECT, SIGNAL, URL_ } from './slots.ts';

/**
 * `new Request(input, init)` from user code: parsing and validating its arguments. A chunk, because
 * the requests a function receives are built by the runtime from trusted parts.
 */

setIterate(listFrom);

const NORMALIZED = hardenRegExp(/^(DELETE|GET|HEAD|OPTIONS|POST|PUT)$/i);
const FORBIDDEN = hardenRegExp(/^(CONNECT|TRACE|TRACK)$/i);
const TOKEN = hardenRegExp(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
const REDIRECT_MODES = ['follow', 'manual', 'error'];

function requestMethod(m: unknown): string {
  const s = String(m);
  if (!regexTest(TOKEN, s)) throw new TypeError('\'' + s + '\' is not a valid HTTP method.');
  if (regexTest(FORBIDDEN, s)) throw new TypeError('\'' + s + '\' HTTP method is unsupported.');
  return regexTest(NORMALIZED, s) ? callWith(StringPrototypeToUpperCase, s) : s;
}

/**
 * The URL serialized by the WHATWG parser: the guest's canonical-form check (which admits no
 * credentials), else the host. A URL with credentials is a TypeError (Fetch, Request constructor).
 */
function absoluteUrl(input: unknown): string {
  const s = String(input);
  if (fastUrlParts(s)) return s;
  const parsed = call('urlParse', s);
  if (!parsed) throw new TypeError('Invalid URL: ' + s);
  if (parsed.username !== '' || parsed.password !== '') throw new TypeError('Request cannot be constructed from a URL that includes credentials: ' + s);
  return parsed.href;
}

export function requestParts(input: unknown, init: any): Parts {
  // a Request is recognised by its private state, and read through it, not through its getters
  const base = internals.requestState(input);
  init ??= {};
  const method = init.method !== undefined ? requestMethod(init.method) : base ? base[METHOD] : 'GET';
  const url = base ? base[URL_] : absoluteUrl(input);
  const headers: HeaderList = [];
  if (init.headers !== undefined) fillHeaders(headers, init.headers);
  else if (base) {
    const list = internals.headerList(base);
    for (let i = 0; i < list.length; i++) headers[i] = list[i]!;
  }
  const redirect = init.redirect !== undefined ? String(init.redirect) : base ? base[REDIRECT] : 'follow';
  if (!callWith(ArrayPrototypeIncludes, REDIRECT_MODES, redirect)) throw new TypeError('Invalid redirect value: ' + redirect);
  const signal = init.signal !== undefined ? init.signal : base ? base[SIGNAL] : undefined;
  const hasInitBody = init.body != null;
  const baseBody = base !== undefined && internals.hasBody(input);
  if ((hasInitBody || baseBody) && (method === 'GET' || method === 'HEAD')) {
    throw new TypeError('Request with GET/HEAD method cannot have body.');
  }
  let body: any = null;
  if (hasInitBody) {
    const extracted = internals.extractBody(init.body);
    body = extracted[0];
    const type = extracted[1];
    if (type && !hasHeader(headers, 'content-type')) callWith(ArrayPrototypePush, headers, 'content-type', type);
  } else if (baseBody) {
    if (internals.bodyUsed(input)) throw new TypeError('Cannot construct a Request with a Request whose body has already been used.');
    body = internals.takeBody(input);
  }
  return { method, url, headers, body, redirect, signal };
}
