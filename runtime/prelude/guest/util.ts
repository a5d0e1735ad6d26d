/** Small helpers shared by several APIs (each bundle tree-shakes what it uses). */

export const g = globalThis as any;

/** Installs globals the way Web IDL does: writable, configurable, not enumerable. */
export function defineGlobal(name: string, value: unknown): void {
  if (typeof value === 'function' && value.name !== name) Object.defineProperty(value, 'name', { value: name, configurable: true });
  Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
}

/**
 * Gives a class its Web name: minification renames classes, and `constructor.name`, console output
 * and Object.prototype.toString should still say "Headers".
 */
export function named<T extends Function>(cls: T, name: string, tag = true): T {
  if (cls.name !== name) Object.defineProperty(cls, 'name', { value: name, configurable: true });
  if (tag) Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: name, configurable: true });
  return cls;
}

/** A private copy of the bytes of an ArrayBuffer or view (the Web's "get a copy of the buffer source"). */
export function copyBytes(src: ArrayBuffer | ArrayBufferView): Uint8Array {
  return src instanceof ArrayBuffer
    ? new Uint8Array(src.slice(0))
    : new Uint8Array(src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength));
}

/** A view on the bytes of an ArrayBuffer or view, without copying; TypeError for anything else. */
export function viewBytes(src: unknown, what = 'argument'): Uint8Array {
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  if (ArrayBuffer.isView(src)) return new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  throw new TypeError(`${what} must be an ArrayBuffer or ArrayBufferView`);
}

export function isBufferSource(x: unknown): x is ArrayBuffer | ArrayBufferView {
  return x instanceof ArrayBuffer || ArrayBuffer.isView(x);
}

/** The exact ArrayBuffer of a Uint8Array, copying only when the view does not cover its buffer. */
export function exactBuffer(u8: Uint8Array): ArrayBuffer {
  return u8.byteOffset === 0 && u8.byteLength === u8.buffer.byteLength
    ? (u8.buffer as ArrayBuffer)
    : (u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer);
}
