import { hardenRegExp, regexReplace, regexTest } from './safe.ts';

/**
 * MIME types as the WHATWG MIME Sniffing spec parses and serializes them, and the Fetch spec's
 * "extract a MIME type" from a Content-Type header: what `blob()` reports as the type and where
 * `formData()` finds the multipart boundary (quoted or not). A parsed type is a flat list:
 * `[essence, name, value, name, value, …]`, names lower-cased, values as given.
 */
export type Mime = string[];

const TOKEN = hardenRegExp(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
const QUOTED_VALUE = hardenRegExp(/^[\t\x20-\x7e\x80-\xff]*$/);
const NEEDS_ESCAPE = hardenRegExp(/["\\]/g);

const code = (s: string, i: number) => callWith(StringPrototypeCharCodeAt, s, i);
const slice = (s: string, a: number, b?: number) => callWith(StringPrototypeSlice, s, a, b);
const lower = (s: string) => callWith(StringPrototypeToLowerCase, s);
/** HTTP whitespace: tab, LF, CR, space. */
const isWs = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

/**
 * An HTTP quoted string from the `"` at `p`: `[value, position after it]`. With `raw`, the value is
 * the text as written, quotes included. Pieces are joined once: a value full of backslashes must
 * not cost a string copy per escape.
 */
function quoted(s: string, p: number, raw: boolean): [string, number] {
  const n = s.length;
  const start = p;
  const parts: string[] = [];
  p++;
  for (;;) {
    let q = p;
    while (q < n) {
      const c = code(s, q);
      if (c === 34 || c === 92) break;
      q++;
    }
    parts[parts.length] = slice(s, p, q);
    p = q;
    if (p >= n) break;
    const c = code(s, p++);
    if (c !== 92) break;
    if (p >= n) {
      parts[parts.length] = '\\';
      break;
    }
    parts[parts.length] = callWith(StringPrototypeCharAt, s, p++);
  }
  return [raw ? slice(s, start, p) : callWith(ArrayPrototypeJoin, parts, ''), p];
}

/** "Parse a MIME type": null for failure. */
export function parseMime(input: string): Mime | null {
  let a = 0;
  let b = input.length;
  while (a < b && isWs(code(input, a))) a++;
  while (b > a && isWs(code(input, b - 1))) b--;
  const s = slice(input, a, b);
  const n = s.length;
  const slash = callWith(StringPrototypeIndexOf, s, '/');
  if (slash <= 0) return null;
  let p = callWith(StringPrototypeIndexOf, s, ';', slash);
  if (p < 0) p = n;
  let end = p;
  while (end > slash + 1 && isWs(code(s, end - 1))) end--;
  const type = slice(s, 0, slash);
  const subtype = slice(s, slash + 1, end);
  if (!regexTest(TOKEN, type) || !regexTest(TOKEN, subtype)) return null;
  const out: Mime = [lower(type + '/' + subtype)];
  // a set of the names taken, so many parameters cost no quadratic search
  const seen: Record<string, true> = ObjectCreate(null);
  while (p < n) {
    p++;
    while (p < n && isWs(code(s, p))) p++;
    let q = p;
    while (q < n && code(s, q) !== 59 && code(s, q) !== 61) q++;
    const name = lower(slice(s, p, q));
    p = q;
    if (p < n) {
      if (code(s, p) === 59) continue;
      p++;
    }
    if (p >= n) break;
    let value: string;
    if (code(s, p) === 34) {
      const r = quoted(s, p, false);
      value = r[0];
      p = callWith(StringPrototypeIndexOf, s, ';', r[1]);
      if (p < 0) p = n;
    } else {
      p = callWith(StringPrototypeIndexOf, s, ';', (q = p));
      if (p < 0) p = n;
      let e = p;
      while (e > q && isWs(code(s, e - 1))) e--;
      value = slice(s, q, e);
      if (value === '') continue;
    }
    if (name !== '' && regexTest(TOKEN, name) && regexTest(QUOTED_VALUE, value) && !seen[name]) {
      seen[name] = true;
      out[out.length] = name;
      out[out.length] = value;
    }
  }
  return out;
}

/** The value of parameter `name` (lower case), or undefined. */
export function mimeParam(m: Mime, name: string): string | undefined {
  for (let i = 1; i < m.length; i += 2) if (m[i] === name) return m[i + 1];
  return undefined;
}

export function serializeMime(m: Mime): string {
  let out = m[0]!;
  for (let i = 1; i < m.length; i += 2) {
    const v = m[i + 1]!;
    out += ';' + m[i] + '=' + (v !== '' && regexTest(TOKEN, v) ? v : '"' + regexReplace(NEEDS_ESCAPE, v, '\\$&') + '"');
  }
  return out;
}

/** Fetch's "getting, decoding, and splitting" of a combined header value: commas inside quotes do not split. */
function splitValues(s: string): string[] {
  const n = s.length;
  const values: string[] = [];
  let p = 0;
  let temp: string[] = [];
  for (;;) {
    let q = p;
    while (q < n && code(s, q) !== 34 && code(s, q) !== 44) q++;
    temp[temp.length] = slice(s, p, q);
    p = q;
    if (p < n && code(s, p) === 34) {
      const r = quoted(s, p, true);
      temp[temp.length] = r[0];
      p = r[1];
      if (p < n) continue;
    }
    values[values.length] = callWith(StringPrototypeTrim, callWith(ArrayPrototypeJoin, temp, ''));
    temp = [];
    if (p >= n) return values;
    p++;
  }
}

/** Fetch's "extract a MIME type" from a Content-Type header value (null: none, or none valid). */
export function extractMime(header: string | undefined): Mime | null {
  if (header === undefined) return null;
  const values = splitValues(header);
  let mime: Mime | null = null;
  let essence: string | null = null;
  let charset: string | undefined;
  for (let i = 0; i < values.length; i++) {
    const m = parseMime(values[i]!);
    if (m === null || m[0] === '*/*') continue;
    mime = m;
    if (m[0] !== essence) {
      essence = m[0]!;
      charset = mimeParam(m, 'charset');
    } else if (charset !== undefined && mimeParam(m, 'charset') === undefined) {
      m[m.length] = 'charset';
      m[m.length] = charset;
    }
  }
  return mime;
}

/** The Content-Type of a header list (`[name, value, …]`, names lower-cased), or undefined. */
export function contentTypeOf(list: string[]): string | undefined {
  for (let i = 0; i < list.length; i += 2) if (list[i] === 'content-type') return list[i + 1];
  return undefined;
}
