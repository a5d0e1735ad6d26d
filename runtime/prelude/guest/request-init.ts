import { fillHeaders, hasHeader, type HeaderList } from './headers.ts';
import { internals } from './host.ts';
import type { Parts } from './request.ts';
import { fastUrlParts } from './url-fast.ts';

/**
 * `new Request(input, init)` from user code: parsing and validating its arguments. A chunk, because
 * the requests a function receives are built by the runtime from trusted parts.
 */

const NORMALIZED = /^(DELETE|GET|HEAD|OPTIONS|POST|PUT)$/i;
const FORBIDDEN = /^(CONNECT|TRACE|TRACK)$/i;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REDIRECT_MODES = ['follow', 'manual', 'error'];

function requestMethod(m: unknown): string {
  const s = String(m);
  if (!TOKEN.test(s)) throw new TypeError(`'${s}' is not a valid HTTP method.`);
  if (FORBIDDEN.test(s)) throw new TypeError(`'${s}' HTTP method is unsupported.`);
  return NORMALIZED.test(s) ? s.toUpperCase() : s;
}

/** The URL serialized by the WHATWG parser: the guest's canonical-form check, else the host. */
function absoluteUrl(input: unknown): string {
  const s = String(input);
  return fastUrlParts(s) ? s : internals.absoluteUrl(s);
}

export function requestParts(input: unknown, init: any): Parts {
  const base: any = input instanceof internals.Request ? input : null;
  init ??= {};
  const method = init.method !== undefined ? requestMethod(init.method) : base ? base.method : 'GET';
  const url = base ? base.url : absoluteUrl(input);
  const headers: HeaderList = [];
  if (init.headers !== undefined) fillHeaders(headers, init.headers);
  else if (base) headers.push(...internals.requestHeaderList(base));
  const redirect = init.redirect !== undefined ? String(init.redirect) : base ? base.redirect : 'follow';
  if (!REDIRECT_MODES.includes(redirect)) throw new TypeError(`Invalid redirect value: ${redirect}`);
  const signal = init.signal !== undefined ? init.signal : base ? internals.requestSignal(base) : undefined;
  const hasInitBody = init.body != null;
  if ((hasInitBody || (base && internals.hasBody(base))) && (method === 'GET' || method === 'HEAD')) {
    throw new TypeError('Request with GET/HEAD method cannot have body.');
  }
  let body: any = null;
  if (hasInitBody) {
    const [src, type] = internals.extractBody(init.body);
    body = src;
    if (type && !hasHeader(headers, 'content-type')) headers.push('content-type', type);
  } else if (base && internals.hasBody(base)) {
    if (base.bodyUsed) throw new TypeError('Cannot construct a Request with a Request whose body has already been used.');
    body = internals.takeBody(base);
  }
  return { method, url, headers, body, redirect, signal };
}
