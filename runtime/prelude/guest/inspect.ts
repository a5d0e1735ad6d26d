/**
 * A compact util.inspect: one line, depth 2, Node's notation for the built-in types. Web classes
 * (which keep their state in private fields) are shown through their getters.
 */
import { errorStack, hardenRegExp, isArrayBuffer, isInstance, listFrom, ownDescriptor, regexReplace, regexTest, typedArrayKind } from './safe.ts';

const CUSTOM = SymbolFor('nodejs.util.inspect.custom');
const IDENT = hardenRegExp(/^[A-Za-z_$][\w$]*$/);
const INDEX = hardenRegExp(/^\d+$/);
const ESCAPE = hardenRegExp(/[\\\n\r\t\b\f\v]/g);
const SINGLE_QUOTE = hardenRegExp(/'/g);
const MAX_ITEMS = 100;
/** Getters that would change the object (create a stream, load a chunk) just by being read. */
const SKIPPED_GETTERS = ['body', 'signal'];

export function inspect(value: unknown, depth?: number): string {
  return fmt(value, depth ?? 2, [], false);
}

/** One util.format placeholder (%s %d %i %f %j %o %O %c) applied to its argument. */
export function placeholder(c: string, a: unknown): string {
  switch (c) {
    case 's':
      return typeof a === 'string' ? a : inspect(a, 1);
    case 'd':
    case 'i':
    case 'f':
      if (typeof a === 'bigint') return '' + a + 'n';
      if (typeof a === 'symbol' || (typeof a === 'object' && a !== null)) return 'NaN';
      return fmt(c === 'd' ? Number(a) : c === 'i' ? parseInt(String(a)) : parseFloat(String(a)), 0, [], false);
    case 'j':
      try {
        return String(JSONStringify(a));
      } catch {
        return '[Circular]';
      }
    case 'c':
      return '';
  }
  return inspect(a);
}

const escapeChar = (c: string) => callWith(StringPrototypeSlice, JSONStringify(c), 1, -1);

function quote(s: string): string {
  const q = callWith(StringPrototypeIncludes, s, "'") && !callWith(StringPrototypeIncludes, s, '"') ? '"' : "'";
  const escaped = regexReplace(ESCAPE, s, escapeChar);
  return q + (q === "'" ? regexReplace(SINGLE_QUOTE, escaped, "\\'") : escaped) + q;
}

function key(k: string | symbol): string {
  return typeof k === 'symbol' ? ('[' + callWith(SymbolPrototypeToString, k) + ']') : regexTest(IDENT, k) ? k : quote(k);
}

function ctorName(o: object): string | null {
  const proto = ObjectGetPrototypeOf(o);
  if (proto === null) return null;
  const c = proto.constructor;
  return typeof c === 'function' && c.name ? c.name : 'Object';
}

function list(open: string, items: string[], close: string, prefix?: string): string {
  return items.length ? ((prefix ?? '') + open + ' ' + callWith(ArrayPrototypeJoin, items, ', ') + ' ' + close) : ((prefix ?? '') + open + close);
}

function fmt(v: unknown, depth: number, seen: object[], nested: boolean): string {
  switch (typeof v) {
    case 'string':
      return nested ? quote(v) : v;
    case 'number':
      return ObjectIs(v, -0) ? '-0' : String(v);
    case 'bigint':
      return '' + v + 'n';
    case 'symbol':
      return callWith(SymbolPrototypeToString, v);
    case 'function': {
      const src = callWith(FunctionPrototypeToString, v);
      const name = v.name ? (': ' + v.name) : ' (anonymous)';
      return callWith(StringPrototypeStartsWith, src, 'class') ? ('[class ' + (v.name || '(anonymous)') + ']') : ('[Function' + name + ']');
    }
    case 'object':
      if (v === null) return 'null';
      return object(v, depth, seen, nested);
  }
  return String(v);
}

/** The primitive inside a Number, String or Boolean object, or undefined for anything else. */
function boxed(o: object): unknown {
  if (isInstance(o, Number)) return callWith(NumberPrototypeValueOf, o as unknown as number);
  if (isInstance(o, String)) return callWith(StringPrototypeValueOf, o as unknown as string);
  if (isInstance(o, Boolean)) return callWith(BooleanPrototypeValueOf, o as unknown as boolean);
  return undefined;
}

function object(o: object, depth: number, seen: object[], nested: boolean): string {
  if (callWith(ArrayPrototypeIncludes, seen, o)) return '[Circular *1]';
  const custom = (o as any)[CUSTOM];
  if (typeof custom === 'function') {
    const r = callWith(custom, o, depth, {}, inspect);
    return typeof r === 'string' ? r : fmt(r, depth, seen, nested);
  }
  if (isInstance(o, Error)) return error(o as Error, depth, seen, nested);
  if (isInstance(o, Date)) {
    const t = callWith(DatePrototypeGetTime, o as Date);
    return isNaN(t) ? 'Invalid Date' : callWith(DatePrototypeToISOString, o as Date);
  }
  if (isInstance(o, RegExp)) return '/' + callWith(RegExpPrototypeGetSource, o as RegExp) + '/' + callWith(RegExpPrototypeGetFlags, o as RegExp);
  if (isInstance(o, Promise)) return 'Promise { <unknown> }';
  if (isInstance(o, WeakMap) || isInstance(o, WeakSet)) return String(ctorName(o)) + ' { <items unknown> }';
  const primitive = boxed(o);
  if (primitive !== undefined) return '[' + String(ctorName(o)) + ': ' + fmt(primitive, 0, [], true) + ']';
  const name = ctorName(o);
  const isArray = ArrayIsArray(o);
  if (depth < 0) return isArray ? '[Array]' : ('[' + (name ?? 'Object: null prototype') + ']');
  seen[seen.length] = o;
  try {
    const sub = (x: unknown) => fmt(x, depth - 1, seen, true);
    if (isArray) {
      const a = o as unknown[];
      return list('[', arrayItems(a, a.length, sub, true), ']', name === 'Array' ? '' : (String(name) + '(' + a.length + ') '));
    }
    if (typedArrayKind(o) !== undefined) {
      const n = callWith(TypedArrayPrototypeGetLength, o as Uint8Array);
      return list('[', arrayItems(o as Uint8Array, n, sub, false), ']', String(name) + '(' + n + ') ');
    }
    if (isArrayBuffer(o)) {
      const size = callWith(ArrayBufferPrototypeGetByteLength, o);
      const shown = MathMin(size, 50);
      const bytes = new Uint8Array(o, 0, shown);
      let hex = '';
      for (let i = 0; i < shown; i++) hex += ((i ? ' ' : '') + callWith(StringPrototypePadStart, callWith(NumberPrototypeToString, bytes[i]!, 16), 2, '0'));
      return 'ArrayBuffer { [Uint8Contents]: <' + hex + (size > 50 ? ' ...' : '') + '>, byteLength: ' + size + ' }';
    }
    if (isInstance(o, Map)) {
      const items: string[] = [];
      callWith(MapPrototypeForEach, o as Map<unknown, unknown>, (x: unknown, k: unknown) => void (items[items.length] = sub(k) + ' => ' + sub(x)));
      return list('{', items, '}', String(name) + '(' + callWith(MapPrototypeGetSize, o as Map<unknown, unknown>) + ') ');
    }
    if (isInstance(o, Set)) {
      const items: string[] = [];
      callWith(SetPrototypeForEach, o as Set<unknown>, (x: unknown) => void (items[items.length] = sub(x)));
      return list('{', items, '}', String(name) + '(' + callWith(SetPrototypeGetSize, o as Set<unknown>) + ') ');
    }
    const items = props(o, sub);
    const tag = (o as any)[Symbol.toStringTag];
    if (items.length === 0 && typeof tag === 'string') webProps(o, sub, items);
    const prefix = name === null ? '[Object: null prototype] ' : name === 'Object' ? '' : (name + ' ');
    return list('{', items, '}', prefix);
  } finally {
    seen.length--;
  }
}

/** The first MAX_ITEMS elements of `a` (of length `n`), holes counted, then (for arrays) its other own keys. */
function arrayItems(a: ArrayLike<unknown>, n: number, sub: (x: unknown) => string, extraKeys: boolean): string[] {
  const out: string[] = [];
  let holes = 0;
  const shown = MathMin(n, MAX_ITEMS);
  for (let i = 0; i <= shown; i++) {
    if (i < shown && !(i in a)) {
      holes++;
      continue;
    }
    if (holes) out[out.length] = '<' + holes + ' empty item' + (holes > 1 ? 's' : '') + '>';
    holes = 0;
    if (i < shown) out[out.length] = sub(a[i]);
  }
  if (n > MAX_ITEMS) out[out.length] = '... ' + (n - MAX_ITEMS) + ' more item' + (n - MAX_ITEMS > 1 ? 's' : '');
  if (extraKeys) {
    const keys = ObjectKeys(a);
    for (let i = 0; i < keys.length; i++) if (!regexTest(INDEX, keys[i]!)) out[out.length] = key(keys[i]!) + ': ' + sub((a as any)[keys[i]!]);
  }
  return out;
}

function props(o: object, sub: (x: unknown) => string): string[] {
  const out: string[] = [];
  const keys = ReflectOwnKeys(o);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const d = ownDescriptor(o, k)!;
    if (!d.enumerable) continue;
    if (d.get || d.set) out[out.length] = key(k) + ': [' + (d.get ? (d.set ? 'Getter/Setter' : 'Getter') : 'Setter') + ']';
    else out[out.length] = key(k) + ': ' + sub(d.value);
  }
  return out;
}

/** Headers, URLSearchParams …: their pairs; other Web objects: the values of their getters. Appends to `out`. */
function webProps(o: object, sub: (x: unknown) => string, out: string[]): void {
  const entries = (o as any).entries;
  if (typeof entries === 'function' && typeof (o as any)[Symbol.iterator] === 'function') {
    const pairs = listFrom(callWith(entries, o)) ?? [];
    for (let i = 0; i < pairs.length; i++) {
      const p = pairs[i] as [string, unknown];
      out[out.length] = key(p[0]) + ': ' + sub(p[1]);
    }
    return;
  }
  for (let p = ObjectGetPrototypeOf(o); p && p !== Object.prototype; p = ObjectGetPrototypeOf(p)) {
    const names = ObjectGetOwnPropertyNames(p);
    for (let i = 0; i < names.length; i++) {
      const k = names[i]!;
      const d = ownDescriptor(p, k)!;
      if (!d.get || callWith(ArrayPrototypeIncludes, SKIPPED_GETTERS, k)) continue;
      try {
        out[out.length] = key(k) + ': ' + sub(callWith(d.get, o));
      } catch {
        // a getter that throws has nothing to show
      }
    }
  }
}

function error(e: Error, depth: number, seen: object[], nested: boolean): string {
  const head = String(e.name) + ': ' + String(e.message);
  const s = errorStack(e);
  const stack = typeof s === 'string' ? callWith(StringPrototypeTrimEnd, s) : '';
  const text = nested ? ('[' + head + ']') : callWith(StringPrototypeStartsWith, stack, head) ? stack : stack ? (head + '\n' + stack) : head;
  const inner = (x: unknown) => {
    const within: object[] = [];
    for (let i = 0; i < seen.length; i++) within[i] = seen[i]!;
    within[within.length] = e;
    return fmt(x, depth - 1, within, true);
  };
  const all = props(e, inner);
  const extra: string[] = [];
  for (let i = 0; i < all.length; i++) if (!callWith(StringPrototypeStartsWith, all[i]!, 'stack:')) extra[extra.length] = all[i]!;
  if ('cause' in e && !callWith(ArrayPrototypeIncludes, ObjectKeys(e), 'cause')) extra[extra.length] = '[cause]: ' + inner(e.cause);
  return extra.length ? (text + ' { ' + callWith(ArrayPrototypeJoin, extra, ', ') + ' }') : text;
}
