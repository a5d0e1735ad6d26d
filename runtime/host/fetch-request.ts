import { validateHeaderName, validateHeaderValue } from 'node:http';
import { types } from 'node:util';
import { FetchRefused } from './egress-counters.ts';

/**
 * The guest's fetch arguments checked on the host. The guest prelude validates them too, but the
 * guest is hostile (it can patch what the prelude calls), so whatever arrives here is checked again:
 * a malformed value is a TypeError in the guest, never a host exception or an unbounded copy.
 */

export interface OutgoingRequest {
  method: string;
  url: URL;
  headers: [string, string][];
  body: Uint8Array | null;
  redirect: 'follow' | 'manual' | 'error';
}

export interface RequestCaps {
  maxRequestBytes: number;
  maxRequestHeaders: number;
  maxRequestHeaderBytes: number;
  maxUrlLength: number;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FORBIDDEN_METHODS = /^(CONNECT|TRACE|TRACK)$/i;
const REDIRECT_MODES = new Set(['follow', 'manual', 'error']);
const MAX_METHOD_LENGTH = 64;

const invalid = (message: string) => new FetchRefused('invalid_request', `fetch failed: ${message}`);
const tooLarge = (message: string) => new FetchRefused('request_too_large', `fetch failed: ${message}`);
/** Guest strings quoted in messages are cut short: a message must not become the amplifier. */
const quote = (s: string) => JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);

export function checkedRequest(init: unknown, caps: RequestCaps): OutgoingRequest {
  try {
    return checked(init, caps);
  } catch (err) {
    // Whatever a malformed value throws on the way (a getter, a proxy) is the guest's TypeError too.
    if (err instanceof FetchRefused) throw err;
    throw invalid('malformed request');
  }
}

function checked(init: unknown, caps: RequestCaps): OutgoingRequest {
  if (typeof init !== 'object' || init === null) throw invalid('the request is not an object');
  const { method, url, headers, body, redirect } = init as Record<string, unknown>;

  if (typeof method !== 'string' || method.length > MAX_METHOD_LENGTH || !TOKEN.test(method)) {
    throw invalid(`invalid method ${typeof method === 'string' ? quote(method) : typeof method}`);
  }
  if (FORBIDDEN_METHODS.test(method)) throw invalid(`method ${quote(method)} is not allowed`);

  if (typeof url !== 'string') throw invalid('the URL is not a string');
  if (url.length > caps.maxUrlLength) throw tooLarge(`URL of ${url.length} characters exceeds ${caps.maxUrlLength}`);
  const target = parseTarget(url);

  const mode = redirect === undefined ? 'follow' : redirect;
  if (typeof mode !== 'string' || !REDIRECT_MODES.has(mode)) throw invalid('invalid redirect mode');

  return {
    method: method.toUpperCase(),
    url: target,
    headers: checkedHeaders(headers, caps),
    body: checkedBody(body, method.toUpperCase(), caps.maxRequestBytes),
    redirect: mode as OutgoingRequest['redirect'],
  };
}

/** Parses a request or redirect target; credentials in the URL and port 0 are refused, as in the Fetch standard. */
export function parseTarget(input: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(input, base);
  } catch {
    throw invalid(`invalid URL ${quote(input)}`);
  }
  if (url.username || url.password) throw invalid(`URL ${quote(`${url.protocol}//${url.host}${url.pathname}`)} includes credentials`);
  if (url.port === '0') throw invalid(`port 0 in ${quote(url.host)} is not a valid port`);
  return url;
}

function checkedHeaders(headers: unknown, caps: RequestCaps): [string, string][] {
  if (headers === undefined || headers === null) return [];
  if (!Array.isArray(headers)) throw invalid('headers must be a list of [name, value] pairs');
  if (headers.length > caps.maxRequestHeaders) throw tooLarge(`${headers.length} request headers exceed ${caps.maxRequestHeaders}`);
  const out: [string, string][] = [];
  let bytes = 0;
  for (const pair of headers) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw invalid('headers must be a list of [name, value] string pairs');
    }
    const [name, value] = pair as [string, string];
    bytes += name.length + value.length + 4;
    if (bytes > caps.maxRequestHeaderBytes) throw tooLarge(`request headers exceed ${caps.maxRequestHeaderBytes} bytes`);
    try {
      validateHeaderName(name);
    } catch {
      throw invalid(`invalid header name ${quote(name)}`);
    }
    try {
      validateHeaderValue(name, value);
    } catch {
      throw invalid(`invalid value for header ${quote(name)}`);
    }
    out.push([name, value]);
  }
  return out;
}

function checkedBody(body: unknown, method: string, maxBytes: number): Uint8Array | null {
  if (body === null || body === undefined) return null;
  let bytes: Uint8Array;
  if (types.isAnyArrayBuffer(body)) bytes = new Uint8Array(body);
  else if (ArrayBuffer.isView(body)) bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  else throw invalid('the request body must be bytes');
  if (bytes.byteLength > maxBytes) {
    throw tooLarge(`request body of ${bytes.byteLength} bytes exceeds the cap of ${maxBytes} bytes`);
  }
  if (bytes.byteLength === 0) return method === 'GET' || method === 'HEAD' ? null : bytes;
  if (method === 'GET' || method === 'HEAD') throw invalid(`a ${method} request cannot have a body`);
  return bytes;
}
