/**
 * The WHATWG URL parser lives on the host (Node's, exact): a host call per parse. Most URLs a
 * function parses are its own request's, already in canonical form, and for those the parse is the
 * identity: this recognises exactly such URLs (http/https, a plain lower-case host or a canonical
 * IPv4 address, an optional non-default port, a path, query and fragment made only of characters the
 * parser leaves as they are, no dot segments) and splits them in the guest. Anything else returns
 * null and goes to the host. runtime/prelude/url.test.ts checks it against Node's parser.
 */

/** A parsed URL's components, in the order of FIELDS (an array: QuickJS builds one far faster than an object). */
import { hardenRegExp, regexTest } from './safe.ts';

export type Parts = string[];
export const FIELDS = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'] as const;
export const HREF = 0;
export const SEARCH = 9;

/** The host's `{ href, origin, … }` (or null) as Parts. */
export function partsFromHost(o: Record<string, string> | null): Parts | null {
  if (o === null) return null;
  const p: Parts = [];
  for (let i = 0; i < FIELDS.length; i++) p[i] = o[FIELDS[i]!]!;
  return p;
}

// scheme, host, port, path, query, fragment. Path: printable ASCII except the path percent-encode set
// (space " # < > ? ` { }), ^ (encoded by newer parsers), \ (a separator in special URLs) and ';
// query: printable ASCII except the special-query percent-encode set (space " # < > ') and \;
// fragment: printable ASCII except the fragment percent-encode set (space " < > `).
const CANONICAL = hardenRegExp(
  /^(https?):\/\/([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([1-9][0-9]{0,4}))?(\/[!$%&()*+,\-./0-9:;=@A-Z[\]_a-z|~]*)(\?[!$%&()*+,\-./0-9:;=?@A-Z[\]^_`a-z{|}~]*)?(#[!#$%&'()*+,\-./0-9:;=?@A-Z[\\\]^_a-z{|}~]*)?$/,
);
const DOT_SEGMENT = hardenRegExp(/\/\.|%2e/i);
/** A last label that makes the host an IPv4 address (WHATWG "ends in a number"). */
const NUMERIC = hardenRegExp(/(?:^|\.)(?:[0-9]+|0x[0-9a-f]*)$/);
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = hardenRegExp(new RegExp('^(?:' + OCTET + '\\.){3}' + OCTET + '$'));

export function fastUrlParts(input: string): Parts | null {
  const m = callWith(RegExpPrototypeExec, CANONICAL, input);
  if (m === null) return null;
  const scheme = m[1];
  const hostname = m[2];
  const port = m[3] ?? '';
  const pathname = m[4];
  if (regexTest(DOT_SEGMENT, pathname)) return null;
  if (port !== '' && (Number(port) > 65535 || port === (scheme === 'http' ? '80' : '443'))) return null;
  // an IPv4 address only in its canonical dotted-decimal form; no IDNA (punycode) labels
  if (regexTest(NUMERIC, hostname) ? !regexTest(IPV4, hostname) : callWith(StringPrototypeIndexOf, hostname, 'xn--') >= 0) return null;
  const query = m[5] ?? '';
  const fragment = m[6] ?? '';
  const protocol = scheme + ':';
  const host = port === '' ? hostname : (hostname + ':' + port);
  return [input, protocol + '//' + host, protocol, '', '', host, hostname, port, pathname, query.length > 1 ? query : '', fragment.length > 1 ? fragment : ''];
}
