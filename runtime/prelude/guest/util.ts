/** Small helpers shared by several APIs (each bundle tree-shakes what it uses). */
import { dataDescriptor, isArrayBuffer, typedArrayKind } from './safe.ts';

export const g = globalThis as any;

/** Installs globals the way Web IDL does: writable, configurable, not enumerable. */
export function defineGlobal(name: string, value: unknown): void {
  if (typeof value === 'function' && value.name !== name) ObjectDefineProperty(value, 'name', dataDescriptor(name, false));
  ObjectDefineProperty(g, name, dataDescriptor(value));
}

/**
 * Gives a class its Web name: minification renames classes, and `constructor.name`, console output
 * and Object.prototype.toString should still say "Headers".
 */
export function named<T extends Function>(cls: T, name: string, tag = true): T {
  if (cls.name !== name) ObjectDefineProperty(cls, 'name', dataDescriptor(name, false));
  if (tag) ObjectDefineProperty(cls.prototype, Symbol.toStringTag, dataDescriptor(name, false));
  return cls;
}

/** The buffer, offset and length of any ArrayBufferView (typed array or DataView), read by the original getters. */
function viewParts(v: ArrayBufferView): [ArrayBuffer, number, number] {
  if (typedArrayKind(v) !== undefined) {
    return [callWith(TypedArrayPrototypeGetBuffer, v), callWith(TypedArrayPrototypeGetByteOffset, v), callWith(TypedArrayPrototypeGetByteLength, v)];
  }
  const dv = v as DataView;
  return [callWith(DataViewPrototypeGetBuffer, dv), callWith(DataViewPrototypeGetByteOffset, dv), callWith(DataViewPrototypeGetByteLength, dv)];
}

/**
 * A copy of `length` bytes of `buffer` from `offset`, in a new buffer. Not ArrayBuffer.prototype.slice
 * (nor a typed array's slice): those create their result through the species constructor, found
 * through a `constructor` property user code can replace. Copying one Uint8Array into a new one
 * asks nothing of anybody.
 */
export function bytesCopy(buffer: ArrayBuffer, offset: number, length: number): Uint8Array {
  return new Uint8Array(new Uint8Array(buffer, offset, length));
}

/** A view on bytes [start, end) of a Uint8Array, without subarray's species lookup. */
export function subBytes(u8: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(callWith(TypedArrayPrototypeGetBuffer, u8), callWith(TypedArrayPrototypeGetByteOffset, u8) + start, end - start);
}

/** A private copy of the bytes of an ArrayBuffer or view (the Web's "get a copy of the buffer source"). */
export function copyBytes(src: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (isArrayBuffer(src)) return new Uint8Array(new Uint8Array(src));
  const parts = viewParts(src);
  return bytesCopy(parts[0], parts[1], parts[2]);
}

/** A view on the bytes of an ArrayBuffer or view, without copying; TypeError for anything else. */
export function viewBytes(src: unknown, what = 'argument'): Uint8Array {
  if (isArrayBuffer(src)) return new Uint8Array(src);
  if (ArrayBufferIsView(src)) {
    const parts = viewParts(src);
    return new Uint8Array(parts[0], parts[1], parts[2]);
  }
  throw new TypeError(what + ' must be an ArrayBuffer or ArrayBufferView');
}

export function isBufferSource(x: unknown): x is ArrayBuffer | ArrayBufferView {
  return isArrayBuffer(x) || ArrayBufferIsView(x);
}

/** The exact ArrayBuffer of a view, copying only when the view does not cover its buffer. */
export function exactBuffer(u8: ArrayBufferView): ArrayBuffer {
  const parts = viewParts(u8);
  const buffer = parts[0];
  return parts[1] === 0 && parts[2] === callWith(ArrayBufferPrototypeGetByteLength, buffer)
    ? buffer
    : callWith(TypedArrayPrototypeGetBuffer, bytesCopy(buffer, parts[1], parts[2]));
}
