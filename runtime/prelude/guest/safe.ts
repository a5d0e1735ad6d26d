/**
 * Helpers built on the primordials (primordials.d.ts) for what the prelude does often: brand checks
 * that no user-installed `Symbol.hasInstance` or getter can answer, regular expressions a patched
 * RegExp.prototype cannot reach, and property descriptors no inherited `get`/`set` can change.
 */

/** `x instanceof C` without asking `C[Symbol.hasInstance]`, which user code may have added to C. */
export function isInstance(x: unknown, C: Function): boolean {
  return callWith(FunctionPrototypeSymbolHasInstance, C, x);
}

export function isArrayBuffer(x: unknown): x is ArrayBuffer {
  if (typeof x !== 'object' || x === null) return false;
  try {
    callWith(ArrayBufferPrototypeGetByteLength, x as ArrayBuffer);
    return true;
  } catch {
    return false;
  }
}

/** The brand of a typed array ("Uint8Array" …), or undefined for anything else. */
export function typedArrayKind(x: unknown): string | undefined {
  return callWith(TypedArrayPrototypeGetSymbolToStringTag, x);
}

export function isUint8Array(x: unknown): x is Uint8Array {
  return typedArrayKind(x) === 'Uint8Array';
}

/** A data property descriptor without a prototype: no inherited `get`/`set`/`value` can sneak in. */
export function dataDescriptor(value: unknown, writable = true, enumerable = false, configurable = true): PropertyDescriptor {
  return { __proto__: null, value, writable, enumerable, configurable } as PropertyDescriptor;
}

/**
 * Makes a regular expression immune to a patched RegExp.prototype: `RegExp.prototype[Symbol.replace]`
 * reads `exec` and `flags` through property lookups, so the regex gets the originals as its own
 * properties. Use it on every regex the prelude passes to `regexReplace`. (Splitting by a regex goes
 * through a species constructor: the prelude never does it. String methods given a string pattern
 * look up `String.prototype[Symbol.split/replace]`: the prelude never calls split/replace/match.)
 */
export function hardenRegExp<R extends RegExp>(re: R): R {
  ObjectDefineProperty(re, 'exec', dataDescriptor(RegExpPrototypeExec, false));
  ObjectDefineProperty(re, 'flags', dataDescriptor(callWith(RegExpPrototypeGetFlags, re), false));
  return re;
}

export function regexTest(re: RegExp, s: string): boolean {
  re.lastIndex = 0;
  return callWith(RegExpPrototypeExec, re, s) !== null;
}

export function regexReplace(re: RegExp, s: string, replacement: string | ((...a: any[]) => string)): string {
  return callWith(RegExpPrototypeSymbolReplace, re, s, replacement);
}

/** An own property descriptor without a prototype, so reading `get`/`set`/`value` never reaches Object.prototype. */
export function ownDescriptor(o: object, key: PropertyKey): PropertyDescriptor | undefined {
  const d = ObjectGetOwnPropertyDescriptor(o, key);
  if (d) ObjectSetPrototypeOf(d, null);
  return d;
}

/**
 * A copy of an internal array from `start` on. Array.prototype.slice/map/filter/concat would build
 * their result with the species constructor, found through `array.constructor`: a property user code
 * can replace on Array.prototype.
 */
export function copyArray<T>(a: readonly T[], start?: number): T[] {
  const out: T[] = [];
  const from = start ?? 0;
  for (let i = from; i < a.length; i++) out[i - from] = a[i]!;
  return out;
}

/**
 * The values of an iterable that came from user code (Web IDL's sequence conversion), or undefined
 * if it has no Symbol.iterator. A true array that keeps the original iterator is read by index,
 * which is what that iterator does; anything else goes through its own iterator, which is user code
 * on user data. The prelude's own arrays are never iterated this way: it loops over them by index.
 */
export function listFrom(x: any): unknown[] | undefined {
  const method = x[Symbol.iterator];
  if (method == null) return undefined;
  if (method === ArrayPrototypeSymbolIterator && ArrayIsArray(x)) return copyArray(x as unknown[]);
  if (typeof method !== 'function') throw new TypeError('object is not iterable');
  const it: any = callWith(method, x);
  if ((typeof it !== 'object' && typeof it !== 'function') || it === null) throw new TypeError('Result of the Symbol.iterator method is not an object');
  const next = it.next;
  const out: unknown[] = [];
  for (;;) {
    const r: any = callWith(next, it);
    if ((typeof r !== 'object' && typeof r !== 'function') || r === null) throw new TypeError('iterator result is not an object');
    if (r.done) return out;
    out[out.length] = r.value;
  }
}

/** `error.stack`: an own property as it is, else the engine's stack getter (QuickJS-NG keeps one on Error.prototype). */
export function errorStack(e: object): unknown {
  // primordials-lint: allow an own property: the error's own data (or its own accessor), not Error.prototype's
  if (callWith(ObjectPrototypeHasOwnProperty, e, 'stack')) return (e as Error).stack;
  const get = ErrorPrototypeGetStack;
  return get ? callWith(get, e) : undefined;
}
