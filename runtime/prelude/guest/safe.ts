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
