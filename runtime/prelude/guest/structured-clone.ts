import { internals } from './host.ts';
import { dataDescriptor, errorStack, isArrayBuffer, isInstance, listFrom, typedArrayKind } from './safe.ts';

/**
 * The HTML structured clone algorithm for the types a function can hold: primitives, plain objects,
 * arrays, Date, RegExp, Map, Set, ArrayBuffer, views, Error and boxed primitives, with cycles and
 * shared references preserved. Anything else that is not an ordinary object is a DataCloneError.
 * Built-in objects are read through their internal slots (the captured getters), never through
 * properties or methods user code could replace.
 */

const ERRORS: Record<string, ErrorConstructor> = { __proto__: null, Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError } as any;
const TYPED_ARRAYS: Record<string, new (b: ArrayBuffer, offset: number, length: number) => ArrayBufferView> = {
  __proto__: null,
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array,
  Float16Array: Float16ArrayConstructor,
} as any;

function uncloneable(v: unknown): never {
  let what: string;
  try {
    what = typeof v === 'symbol' ? callWith(SymbolPrototypeToString, v) : typeof v === 'function' ? (String(v.name || 'function') + '()') : String(v);
  } catch {
    what = 'value';
  }
  throw new internals.DOMException(what + ' could not be cloned.', 'DataCloneError');
}

/** Defined, not assigned: no setter (on Object.prototype, or `__proto__`) sees or changes what is copied. */
const put = (o: object, k: PropertyKey, v: unknown) => ObjectDefineProperty(o, k, dataDescriptor(v, true, true, true));

function dataCloneError(message: string): never {
  throw new internals.DOMException(message, 'DataCloneError');
}

/**
 * The transfer list (HTML's StructuredSerializeWithTransfer): ArrayBuffers only, each once, none
 * detached. The copy refers to a new buffer with each one's bytes, and once it is complete the
 * originals are detached (so a copy that fails leaves them as they were, and views on them are read
 * while they are still attached). Returns the buffers to detach.
 */
function transferList(options: unknown, memo: Map<object, unknown>): ArrayBuffer[] {
  if (options === undefined || options === null) return [];
  if (typeof options !== 'object' && typeof options !== 'function') throw new TypeError("Failed to execute 'structuredClone': The provided value is not of type 'StructuredSerializeOptions'");
  const t = (options as { transfer?: unknown }).transfer;
  if (t === undefined) return [];
  const list = typeof t === 'object' && t !== null ? listFrom(t) : undefined;
  if (!list) throw new TypeError("Failed to execute 'structuredClone': The provided value cannot be converted to a sequence");
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    if ((typeof x !== 'object' || x === null) && typeof x !== 'function') throw new TypeError("Failed to execute 'structuredClone': Value at index " + i + ' is not an object');
    if (!isArrayBuffer(x)) dataCloneError('Value at index ' + i + ' does not have a transferable type.');
    if (callWith(MapPrototypeHas, memo, x)) dataCloneError('ArrayBuffer at index ' + i + ' is a duplicate of an earlier ArrayBuffer. Duplicate transfers are not allowed.');
    if (callWith(ArrayBufferPrototypeGetDetached, x)) dataCloneError('ArrayBuffer at index ' + i + ' is already detached.');
    callWith(MapPrototypeSet, memo, x, callWith(TypedArrayPrototypeGetBuffer, new Uint8Array(new Uint8Array(x))));
  }
  return list as ArrayBuffer[];
}

export function structuredClone(value: unknown, options?: unknown): unknown {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'structuredClone': 1 argument required");
  const memo = new Map<object, unknown>();
  const transfer = transferList(options, memo);

  function clone(v: unknown): any {
    if (typeof v === 'function' || typeof v === 'symbol') uncloneable(v);
    if (typeof v !== 'object' || v === null) return v;
    if (callWith(MapPrototypeHas, memo, v)) return callWith(MapPrototypeGet, memo, v);
    const keep = <T>(copy: T): T => (callWith(MapPrototypeSet, memo, v, copy), copy);

    if (ArrayIsArray(v)) {
      const out = keep(new Array((v as unknown[]).length));
      const keys = ObjectKeys(v);
      for (let i = 0; i < keys.length; i++) put(out, keys[i]!, clone((v as any)[keys[i]!]));
      return out;
    }
    if (isInstance(v, Date)) return keep(new Date(callWith(DatePrototypeGetTime, v as Date)));
    if (isInstance(v, RegExp)) return keep(new RegExp(callWith(RegExpPrototypeGetSource, v as RegExp), callWith(RegExpPrototypeGetFlags, v as RegExp)));
    if (isArrayBuffer(v)) {
      if (callWith(ArrayBufferPrototypeGetDetached, v)) dataCloneError('An ArrayBuffer is detached and could not be cloned.');
      return keep(callWith(TypedArrayPrototypeGetBuffer, new Uint8Array(new Uint8Array(v))));
    }
    if (ArrayBufferIsView(v)) {
      const kind = typedArrayKind(v);
      if (kind === undefined) {
        const dv = v as DataView;
        const buffer = clone(callWith(DataViewPrototypeGetBuffer, dv));
        return keep(new DataView(buffer, callWith(DataViewPrototypeGetByteOffset, dv), callWith(DataViewPrototypeGetByteLength, dv)));
      }
      const Ctor = TYPED_ARRAYS[kind];
      if (!Ctor) uncloneable(v);
      const buffer = clone(callWith(TypedArrayPrototypeGetBuffer, v));
      return keep(new Ctor(buffer, callWith(TypedArrayPrototypeGetByteOffset, v), callWith(TypedArrayPrototypeGetLength, v as Uint8Array)));
    }
    if (isInstance(v, Map)) {
      const out = keep(new Map());
      callWith(MapPrototypeForEach, v as Map<unknown, unknown>, (x: unknown, k: unknown) => void callWith(MapPrototypeSet, out, clone(k), clone(x)));
      return out;
    }
    if (isInstance(v, Set)) {
      const out = keep(new Set());
      callWith(SetPrototypeForEach, v as Set<unknown>, (x: unknown) => void callWith(SetPrototypeAdd, out, clone(x)));
      return out;
    }
    if (isInstance(v, Error)) {
      const e = v as Error;
      const name = e.name;
      const Ctor = (typeof name === 'string' && ERRORS[name]) || Error;
      const out = keep(new Ctor(e.message));
      const stack = errorStack(e);
      if (typeof stack === 'string') ObjectDefineProperty(out, 'stack', dataDescriptor(stack));
      if ('cause' in e) ObjectDefineProperty(out, 'cause', dataDescriptor(clone(e.cause)));
      return out;
    }
    if (isInstance(v, Boolean)) return keep(Object(callWith(BooleanPrototypeValueOf, v as unknown as boolean)));
    if (isInstance(v, Number)) return keep(Object(callWith(NumberPrototypeValueOf, v as unknown as number)));
    if (isInstance(v, String)) return keep(Object(callWith(StringPrototypeValueOf, v as unknown as string)));
    if (typeof BigInt === 'function' && isInstance(v, BigInt)) return keep(Object(callWith(BigIntPrototypeValueOf, v as unknown as bigint)));
    if (!isOrdinary(v)) uncloneable(v);
    const out: Record<string, unknown> = keep({});
    const keys = ObjectKeys(v);
    for (let i = 0; i < keys.length; i++) put(out, keys[i]!, clone((v as any)[keys[i]!]));
    return out;
  }

  const out = clone(value);
  for (let i = 0; i < transfer.length; i++) callWith(ArrayBufferPrototypeTransfer, transfer[i]!, 0);
  return out;
}

/** Objects with internal state structuredClone cannot see (Promise, WeakMap, Web classes …) are not ordinary. */
function isOrdinary(v: object): boolean {
  if (isInstance(v, Promise) || isInstance(v, WeakMap) || isInstance(v, WeakSet) || isInstance(v, WeakRef)) return false;
  const tag = callWith(ObjectPrototypeToString, v);
  return tag === '[object Object]' || tag === '[object Arguments]';
}
