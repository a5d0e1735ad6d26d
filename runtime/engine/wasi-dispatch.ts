import { JSValueHandle, type QuickJS } from 'quickjs-wasi';
import type { DispatchRequest, DispatchResponse } from './dispatch-codec.ts';
import { encodeBody } from './dispatch-codec.ts';
import { GuestFault } from './types.ts';

/**
 * The compact dispatch call (dispatch-codec.ts) on quickjs-wasi, shared by both isolation modes:
 * arguments made as individual guest values, the answer read straight out of the guest heap. A body
 * string's UTF-8 bytes are copied out as they are: no decode, no re-encode, no host call.
 */

type Exports = ReturnType<QuickJS['_getExports']>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Where dispatchArgs writes the next string: a buffer of guest memory and a view on it. */
interface Cursor {
  buf: number;
  room: number;
  at: number;
  mem: Uint8Array;
}

/** (A plain function, not a closure: the tsx loader wraps every named closure in a naming helper.) */
function guestString(vm: QuickJS, e: Exports, c: Cursor, s: string): JSValueHandle {
  if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) return vm.newString(s);
  // a new string may have grown (and so detached) the memory under the view
  if (c.mem.byteLength === 0) c.mem = new Uint8Array(e.memory.buffer, c.buf, c.room);
  const { written } = encoder.encodeInto(s, c.mem.subarray(c.at));
  const ptr = e.qjs_new_string(c.buf + c.at, written);
  c.at += written;
  return new JSValueHandle(vm, ptr);
}

/**
 * The guest arguments of `dispatch` (the caller disposes them; singletons ignore that). The strings
 * are encoded straight into one buffer of guest memory; one with a lone surrogate (which UTF-8 cannot
 * carry and the package writes as WTF-8) takes the package's path.
 */
export function dispatchArgs(vm: QuickJS, req: DispatchRequest): JSValueHandle[] {
  const e = vm._getExports();
  const { method, url, headers, env, id } = req;
  const room = 3 * (method.length + url.length + (headers?.length ?? 0) + (env?.length ?? 0) + id.length);
  const buf = e.wasm_malloc(room);
  if (buf === 0) throw new Error('wasm_malloc failed');
  const c: Cursor = { buf, room, at: 0, mem: new Uint8Array(e.memory.buffer, buf, room) };
  try {
    return [
      guestString(vm, e, c, method),
      guestString(vm, e, c, url),
      headers === null ? vm.null : guestString(vm, e, c, headers),
      req.body === null ? vm.null : vm.newArrayBuffer(req.body),
      env === undefined ? vm.undefined : guestString(vm, e, c, env),
      guestString(vm, e, c, id),
    ];
  } finally {
    e.wasm_free(buf);
  }
}

/** quickjs writes a lone surrogate as its 3-byte WTF-8 form: ED A0..BF xx. */
function hasSurrogate(bytes: Uint8Array): boolean {
  for (let i = bytes.indexOf(0xed); i >= 0 && i + 1 < bytes.length; i = bytes.indexOf(0xed, i + 1)) {
    if (bytes[i + 1]! >= 0xa0) return true;
  }
  return false;
}

function u32(e: Exports, ptr: number): number {
  return new Uint32Array(e.memory.buffer, ptr, 1)[0]!;
}

/** A guest string: as text, or (asBytes) as the UTF-8 bytes of its well-formed version. */
function readString(vm: QuickJS, e: Exports, ptr: number, scratch: number, asBytes: true): ArrayBuffer;
function readString(vm: QuickJS, e: Exports, ptr: number, scratch: number, asBytes: false): string;
function readString(vm: QuickJS, e: Exports, ptr: number, scratch: number, asBytes: boolean): string | ArrayBuffer {
  const cstr = e.qjs_get_string_len(ptr, scratch);
  if (cstr === 0) {
    // the UTF-8 copy did not fit under the guest's memory limit: the engine threw out-of-memory
    vm.getException().dispose();
    throw new GuestFault('out_of_memory', 'InternalError', 'out of memory');
  }
  try {
    const bytes = new Uint8Array(e.memory.buffer, cstr, u32(e, scratch));
    if (hasSurrogate(bytes)) {
      // rare: let the package's WTF-8 decoder restore the lone surrogates
      const text = new JSValueHandle(vm, e.qjs_dup_value(ptr)).consume((h) => h.toString());
      return asBytes ? encodeBody(text) : text;
    }
    return asBytes ? (bytes.slice().buffer as ArrayBuffer) : decoder.decode(bytes);
  } finally {
    e.qjs_free_cstring(cstr);
  }
}

/** `[status, body, waitUntil, name0, value0, …]` from the guest, into the host's DispatchResponse. */
export function readDispatchResult(vm: QuickJS, arr: number): DispatchResponse {
  const e = vm._getExports();
  const scratch = e.wasm_malloc(4);
  if (scratch === 0) throw new Error('wasm_malloc failed');
  try {
    let p = e.qjs_get_prop_uint32(arr, 0);
    const status = e.qjs_is_number(p) ? e.qjs_get_float64(p) : NaN;
    e.qjs_free_value(p);
    if (Number.isNaN(status)) throw new TypeError('dispatch: malformed response from the guest');
    let body: ArrayBuffer | null = null;
    p = e.qjs_get_prop_uint32(arr, 1);
    try {
      if (e.qjs_is_string(p)) body = readString(vm, e, p, scratch, true);
      else if (e.qjs_is_array_buffer(p)) {
        const data = e.qjs_get_array_buffer(p, scratch);
        body = data === 0 ? new ArrayBuffer(0) : (new Uint8Array(e.memory.buffer, data, u32(e, scratch)).slice().buffer as ArrayBuffer);
      }
    } finally {
      e.qjs_free_value(p);
    }
    p = e.qjs_get_prop_uint32(arr, 2);
    const waitUntil = e.qjs_is_bool(p) !== 0 && e.qjs_get_bool(p) !== 0;
    e.qjs_free_value(p);
    const headers: [string, string][] = [];
    for (let i = 3; ; i += 2) {
      const name = e.qjs_get_prop_uint32(arr, i);
      if (!e.qjs_is_string(name)) {
        e.qjs_free_value(name);
        break;
      }
      const value = e.qjs_get_prop_uint32(arr, i + 1);
      try {
        headers.push([readString(vm, e, name, scratch, false), e.qjs_is_string(value) ? readString(vm, e, value, scratch, false) : '']);
      } finally {
        e.qjs_free_value(name);
        e.qjs_free_value(value);
      }
    }
    return { status, headers, body, waitUntil };
  } finally {
    e.wasm_free(scratch);
  }
}
