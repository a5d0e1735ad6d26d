/**
 * A compact util.inspect: one line, depth 2, Node's notation for the built-in types. Web classes
 * (which keep their state in private fields) are shown through their getters.
 */

const CUSTOM = Symbol.for('nodejs.util.inspect.custom');
const IDENT = /^[A-Za-z_$][\w$]*$/;
const MAX_ITEMS = 100;
/** Getters that would change the object (create a stream, load a chunk) just by being read. */
const SKIPPED_GETTERS = ['body', 'signal'];

export function inspect(value: unknown, depth = 2): string {
  return fmt(value, depth, [], false);
}

/** One util.format placeholder (%s %d %i %f %j %o %O %c) applied to its argument. */
export function placeholder(c: string, a: unknown): string {
  switch (c) {
    case 's':
      return typeof a === 'string' ? a : inspect(a, 1);
    case 'd':
    case 'i':
    case 'f':
      if (typeof a === 'bigint') return `${a}n`;
      if (typeof a === 'symbol' || (typeof a === 'object' && a !== null)) return 'NaN';
      return fmt(c === 'd' ? Number(a) : c === 'i' ? parseInt(String(a)) : parseFloat(String(a)), 0, [], false);
    case 'j':
      try {
        return String(JSON.stringify(a));
      } catch {
        return '[Circular]';
      }
    case 'c':
      return '';
  }
  return inspect(a);
}

function quote(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const escaped = s.replace(/[\\\n\r\t\b\f\v]/g, (c) => JSON.stringify(c).slice(1, -1));
  return q + (q === "'" ? escaped.replace(/'/g, "\\'") : escaped) + q;
}

function key(k: string | symbol): string {
  return typeof k === 'symbol' ? `[${k.toString()}]` : IDENT.test(k) ? k : quote(k);
}

function ctorName(o: object): string | null {
  const proto = Object.getPrototypeOf(o);
  if (proto === null) return null;
  const c = proto.constructor;
  return typeof c === 'function' && c.name ? c.name : 'Object';
}

function list(open: string, items: string[], close: string, prefix = ''): string {
  return items.length ? `${prefix}${open} ${items.join(', ')} ${close}` : `${prefix}${open}${close}`;
}

function fmt(v: unknown, depth: number, seen: object[], nested: boolean): string {
  switch (typeof v) {
    case 'string':
      return nested ? quote(v) : v;
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return `${v}n`;
    case 'symbol':
      return v.toString();
    case 'function': {
      const src = Function.prototype.toString.call(v);
      const name = v.name ? `: ${v.name}` : ' (anonymous)';
      return src.startsWith('class') ? `[class ${v.name || '(anonymous)'}]` : `[Function${name}]`;
    }
    case 'object':
      if (v === null) return 'null';
      return object(v, depth, seen, nested);
  }
  return String(v);
}

function object(o: object, depth: number, seen: object[], nested: boolean): string {
  if (seen.includes(o)) return '[Circular *1]';
  const custom = (o as any)[CUSTOM];
  if (typeof custom === 'function') {
    const r = custom.call(o, depth, {}, inspect);
    return typeof r === 'string' ? r : fmt(r, depth, seen, nested);
  }
  if (o instanceof Error) return error(o, depth, seen, nested);
  if (o instanceof Date) return isNaN(o.getTime()) ? 'Invalid Date' : o.toISOString();
  if (o instanceof RegExp) return String(o);
  if (o instanceof Promise) return 'Promise { <unknown> }';
  if (o instanceof WeakMap || o instanceof WeakSet) return `${ctorName(o)} { <items unknown> }`;
  if (o instanceof Number || o instanceof String || o instanceof Boolean) {
    return `[${ctorName(o)}: ${fmt(o.valueOf(), 0, [], true)}]`;
  }
  const name = ctorName(o);
  if (depth < 0) return Array.isArray(o) ? '[Array]' : `[${name ?? 'Object: null prototype'}]`;
  seen.push(o);
  try {
    const sub = (x: unknown) => fmt(x, depth - 1, seen, true);
    if (Array.isArray(o)) return list('[', arrayItems(o, sub), ']', name === 'Array' ? '' : `${name}(${o.length}) `);
    if (ArrayBuffer.isView(o) && !(o instanceof DataView)) {
      const a = o as unknown as ArrayLike<unknown>;
      return list('[', arrayItems(Array.from(a), sub), ']', `${name}(${a.length}) `);
    }
    if (o instanceof ArrayBuffer) {
      const hex = Array.from(new Uint8Array(o, 0, Math.min(o.byteLength, 50)), (b) => b.toString(16).padStart(2, '0'));
      return `ArrayBuffer { [Uint8Contents]: <${hex.join(' ')}${o.byteLength > 50 ? ' ...' : ''}>, byteLength: ${o.byteLength} }`;
    }
    if (o instanceof Map) return list('{', [...o].map(([k, x]) => `${sub(k)} => ${sub(x)}`), '}', `${name}(${o.size}) `);
    if (o instanceof Set) return list('{', [...o].map(sub), '}', `${name}(${o.size}) `);
    const items = props(o, sub);
    const tag = (o as any)[Symbol.toStringTag];
    if (items.length === 0 && typeof tag === 'string') items.push(...webProps(o, tag, sub));
    const prefix = name === null ? '[Object: null prototype] ' : name === 'Object' ? '' : `${name} `;
    return list('{', items, '}', prefix);
  } finally {
    seen.pop();
  }
}

function arrayItems(a: unknown[], sub: (x: unknown) => string): string[] {
  const out: string[] = [];
  let holes = 0;
  const n = Math.min(a.length, MAX_ITEMS);
  for (let i = 0; i <= n; i++) {
    if (i < n && !(i in a)) {
      holes++;
      continue;
    }
    if (holes) out.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`);
    holes = 0;
    if (i < n) out.push(sub(a[i]));
  }
  if (a.length > MAX_ITEMS) out.push(`... ${a.length - MAX_ITEMS} more item${a.length - MAX_ITEMS > 1 ? 's' : ''}`);
  for (const k of Object.keys(a)) if (!/^\d+$/.test(k)) out.push(`${key(k)}: ${sub((a as any)[k])}`);
  return out;
}

function props(o: object, sub: (x: unknown) => string): string[] {
  const out: string[] = [];
  for (const k of Reflect.ownKeys(o)) {
    const d = Object.getOwnPropertyDescriptor(o, k)!;
    if (!d.enumerable) continue;
    if (d.get || d.set) out.push(`${key(k)}: [${d.get ? (d.set ? 'Getter/Setter' : 'Getter') : 'Setter'}]`);
    else out.push(`${key(k)}: ${sub(d.value)}`);
  }
  return out;
}

/** Headers, URLSearchParams …: their pairs; other Web objects: the values of their getters. */
function webProps(o: object, tag: string, sub: (x: unknown) => string): string[] {
  if (typeof (o as any).entries === 'function' && typeof (o as any)[Symbol.iterator] === 'function') {
    return Array.from((o as any).entries() as Iterable<[string, unknown]>, ([k, x]) => `${key(k)}: ${sub(x)}`);
  }
  const out: string[] = [];
  for (let p = Object.getPrototypeOf(o); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) {
      const d = Object.getOwnPropertyDescriptor(p, k)!;
      if (!d.get || SKIPPED_GETTERS.includes(k)) continue;
      try {
        out.push(`${key(k)}: ${sub(d.get.call(o))}`);
      } catch {
        // a getter that throws has nothing to show
      }
    }
  }
  return out;
}

function error(e: Error, depth: number, seen: object[], nested: boolean): string {
  const head = `${e.name}: ${e.message}`;
  const stack = typeof e.stack === 'string' ? e.stack.trimEnd() : '';
  let text = nested ? `[${head}]` : stack.startsWith(head) ? stack : stack ? `${head}\n${stack}` : head;
  const extra = props(e, (x) => fmt(x, depth - 1, [...seen, e], true)).filter((p) => !p.startsWith('stack:'));
  if ('cause' in e && !Object.keys(e).includes('cause')) extra.push(`[cause]: ${fmt(e.cause, depth - 1, [...seen, e], true)}`);
  return extra.length ? `${text} { ${extra.join(', ')} }` : text;
}
