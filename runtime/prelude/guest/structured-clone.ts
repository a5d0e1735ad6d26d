import { internals } from './host.ts';

/**
 * The HTML structured clone algorithm for the types a function can hold: primitives, plain objects,
 * arrays, Date, RegExp, Map, Set, ArrayBuffer, views, Error and boxed primitives, with cycles and
 * shared references preserved. Anything else that is not an ordinary object is a DataCloneError.
 */

const ERROR_NAMES = ['Error', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError'];

function uncloneable(v: unknown): never {
  let what: string;
  try {
    what = typeof v === 'symbol' ? v.toString() : typeof v === 'function' ? `${v.name || 'function'}()` : String(v);
  } catch {
    what = 'value';
  }
  throw new internals.DOMException(`${what} could not be cloned.`, 'DataCloneError');
}

export function structuredClone(value: unknown, _options?: unknown): unknown {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'structuredClone': 1 argument required");
  const memo = new Map<object, unknown>();

  function clone(v: unknown): any {
    if (typeof v === 'function' || typeof v === 'symbol') uncloneable(v);
    if (typeof v !== 'object' || v === null) return v;
    if (memo.has(v)) return memo.get(v);
    const keep = <T>(copy: T): T => (memo.set(v, copy), copy);

    if (Array.isArray(v)) {
      const out = keep(new Array(v.length));
      for (const k of Object.keys(v)) out[k as any] = clone((v as any)[k]);
      return out;
    }
    if (v instanceof Date) return keep(new Date(v.getTime()));
    if (v instanceof RegExp) return keep(new RegExp(v.source, v.flags));
    if (v instanceof ArrayBuffer) return keep(v.slice(0));
    if (ArrayBuffer.isView(v)) {
      const buffer = clone(v.buffer);
      const Ctor = v.constructor as any;
      return keep(v instanceof DataView ? new DataView(buffer, v.byteOffset, v.byteLength) : new Ctor(buffer, v.byteOffset, (v as any).length));
    }
    if (v instanceof Map) {
      const out = keep(new Map());
      for (const [k, x] of v) out.set(clone(k), clone(x));
      return out;
    }
    if (v instanceof Set) {
      const out = keep(new Set());
      for (const x of v) out.add(clone(x));
      return out;
    }
    if (v instanceof Error) {
      const name = ERROR_NAMES.includes(v.name) ? v.name : 'Error';
      const Ctor = (globalThis as any)[name] as ErrorConstructor;
      const out = keep(new Ctor(v.message));
      if (typeof v.stack === 'string') Object.defineProperty(out, 'stack', { value: v.stack, writable: true, configurable: true });
      if ('cause' in v) Object.defineProperty(out, 'cause', { value: clone(v.cause), writable: true, configurable: true });
      return out;
    }
    if (v instanceof Boolean || v instanceof Number || v instanceof String) return keep(Object(v.valueOf()));
    if (typeof BigInt === 'function' && Object.prototype.toString.call(v) === '[object BigInt]') return keep(Object((v as any).valueOf()));
    if (!isOrdinary(v)) uncloneable(v);
    const out: Record<string, unknown> = keep({});
    for (const k of Object.keys(v)) out[k] = clone((v as any)[k]);
    return out;
  }

  return clone(value);
}

/** Objects with internal state structuredClone cannot see (Promise, WeakMap, Web classes …) are not ordinary. */
function isOrdinary(v: object): boolean {
  if (v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet || v instanceof WeakRef) return false;
  const tag = Object.prototype.toString.call(v);
  return tag === '[object Object]' || tag === '[object Arguments]';
}
