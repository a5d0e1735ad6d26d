/**
 * GuestVm over quickjs-wasi's raw C API: handles are `JSValue*` boxes in linear memory (numbers),
 * not the package's JSValueHandle objects, so the hot path allocates nothing on the host. The
 * runtime must be current (see instance.ts `run`) for every call.
 */
import { JSValueHandle, type QuickJS } from 'quickjs-wasi';
import { GuestThrow, type GuestErrorInfo, type GuestVm, type PromiseStateCode, type ValueKind } from '../guest-vm.ts';

export type WasiExports = ReturnType<QuickJS['_getExports']>;

/** JS_PROP_CONFIGURABLE | JS_PROP_WRITABLE | JS_PROP_ENUMERABLE */
const PROP_CWE = 7;
/** JS_PROP_CONFIGURABLE | JS_PROP_WRITABLE */
const PROP_CW = 3;
const JS_EVAL_TYPE_MODULE = 1;

const encoder = new TextEncoder();

const LENGTH_KEY = 8;
const STRING_ROOM = 16;
const SCRATCH_BYTES = 256;
/** A leading U+FEFF is a character of the guest's string, not a byte order mark to drop. */
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** quickjs writes a lone surrogate as its 3-byte WTF-8 form: ED A0..BF xx. */
function hasSurrogate(bytes: Uint8Array): boolean {
  for (let i = bytes.indexOf(0xed); i >= 0 && i + 1 < bytes.length; i = bytes.indexOf(0xed, i + 1)) {
    if (bytes[i + 1]! >= 0xa0) return true;
  }
  return false;
}

let nextCallback = 1;

export class WasiVm implements GuestVm<number> {
  readonly undefined: number;
  readonly null: number;
  private readonly e: WasiExports;
  /**
   * Scratch in linear memory, allocated once: an out-parameter at 0, the C string "length" at
   * LENGTH_KEY (read for every array and string the host checks before copying it), and room for a
   * short string on its way into the guest from STRING_ROOM on (no allocation per string).
   */
  private readonly scratch: number;
  private readonly lengthKey: number;
  /** Results handed back from host callbacks: the engine dups them on return; freed at the next callback or when the outermost entry ends. */
  private returned: number[] = [];
  /** Host-callback names registered by this VM, so close() can drop the ones still registered. */
  private readonly callbacks = new Set<string>();
  private depth = 0;

  constructor(
    private readonly qjs: QuickJS,
    /** Per-sandbox prefix of host-callback names (the package dispatches host calls by name). */
    private readonly prefix: string,
    /** The scratch of the VM whose memory image this instance now holds (snapshot.ts), instead of a new one. */
    adoptedScratch?: number,
  ) {
    this.e = qjs._getExports();
    this.undefined = qjs.undefined.ptr;
    this.null = qjs.null.ptr;
    this.scratch = adoptedScratch ?? this.e.wasm_malloc(SCRATCH_BYTES);
    if (this.scratch === 0) throw new Error('wasm_malloc failed');
    this.lengthKey = this.scratch + LENGTH_KEY;
    if (adoptedScratch === undefined) encoder.encodeInto('length\0', new Uint8Array(this.e.memory.buffer, this.lengthKey, 7));
  }

  /**
   * What a copy of this VM's memory needs to carry on as it (snapshot.ts): the scratch, and the one host
   * callback the prelude holds. Undefined while any other callback is registered (a reaction to a
   * pending guest promise) or an entry is open.
   */
  captureState(): { prefix: string; scratch: number; hostKey: string } | undefined {
    if (this.depth !== 0 || this.returned.length > 0 || this.callbacks.size !== 1) return undefined;
    const [hostKey] = this.callbacks;
    return { prefix: this.prefix, scratch: this.scratch, hostKey: hostKey! };
  }

  /** Binds the host callback a copied memory image calls by `key` (its guest function already exists there). */
  rebind(key: string, fn: (args: number[]) => number): void {
    this.bind(key, fn);
  }

  /** Drops this VM's host callbacks without touching linear memory (about to be replaced by an image). */
  forget(): void {
    for (const name of this.callbacks) this.qjs.unregisterHostCallback(name);
    this.callbacks.clear();
  }

  /** Wraps one outermost entry so values returned to the engine are freed once it is done with them. */
  entered<T>(fn: () => T): T {
    this.depth++;
    try {
      return fn();
    } finally {
      if (--this.depth === 0 && this.returned.length > 0) this.releaseReturned();
    }
  }

  private releaseReturned(): void {
    const list = this.returned;
    this.returned = [];
    for (const p of list) this.free(p);
  }

  free(h: number): void {
    if (h !== this.undefined && h !== this.null && h !== 0) this.e.qjs_free_value(h);
  }

  dup(h: number): number {
    return this.e.qjs_dup_value(h);
  }

  /** Releases what the VM holds outside the guest heap (scratch memory, host callbacks). */
  close(): void {
    for (const name of this.callbacks) this.qjs.unregisterHostCallback(name);
    this.callbacks.clear();
    this.e.wasm_free(this.scratch);
  }

  // ---------------------------------------------------------------------------------------- building

  newString(s: string): number {
    // Well-formed text goes through TextEncoder straight into linear memory; a lone surrogate
    // (UTF-8 cannot carry it) takes the package's WTF-8 path.
    if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) return this.qjs.newString(s).ptr;
    const room = s.length * 3 + 1;
    if (room <= SCRATCH_BYTES - STRING_ROOM) {
      const buf = this.scratch + STRING_ROOM;
      const { written } = encoder.encodeInto(s, new Uint8Array(this.e.memory.buffer, buf, room));
      return this.checked(this.e.qjs_new_string(buf, written));
    }
    const buf = this.e.wasm_malloc(room);
    if (buf === 0) throw new GuestThrow({ name: 'InternalError', message: 'out of memory' });
    try {
      const { written } = encoder.encodeInto(s, new Uint8Array(this.e.memory.buffer, buf, room));
      return this.checked(this.e.qjs_new_string(buf, written));
    } finally {
      this.e.wasm_free(buf);
    }
  }

  newNumber(n: number): number {
    return this.e.qjs_new_number(n);
  }

  newBool(b: boolean): number {
    return b ? this.e.qjs_get_true() : this.e.qjs_get_false();
  }

  newBytes(bytes: Uint8Array): number {
    const e = this.e;
    const buf = e.wasm_malloc(Math.max(1, bytes.byteLength));
    if (buf === 0) throw new GuestThrow({ name: 'InternalError', message: 'out of memory' });
    try {
      new Uint8Array(e.memory.buffer, buf, bytes.byteLength).set(bytes);
      return this.checked(e.qjs_new_array_buffer(buf, bytes.byteLength));
    } finally {
      e.wasm_free(buf);
    }
  }

  newObject(): number {
    return this.e.qjs_new_object();
  }

  newArray(): number {
    return this.e.qjs_new_array();
  }

  define(obj: number, key: string | number, value: number): void {
    const k = typeof key === 'number' ? this.newNumber(key) : this.newString(key);
    try {
      if (this.e.qjs_define_prop_value(obj, k, value, PROP_CWE) < 0) this.throwPending();
    } finally {
      this.free(k);
    }
  }

  newError(name: string, message: string): number {
    const err = this.e.qjs_new_error();
    const set = (prop: string, text: string) => {
      const k = this.newString(prop);
      const v = this.newString(text);
      try {
        this.e.qjs_define_prop_value(err, k, v, PROP_CW);
      } finally {
        this.free(k);
        this.free(v);
      }
    };
    set('message', message);
    if (name !== 'Error') set('name', name);
    return err;
  }

  newFunction(name: string, fn: (args: number[]) => number): number {
    return this.register(fn).h;
  }

  newReactionPair(onFulfilled: (value: number) => void, onRejected: (reason: number) => void): [number, number] {
    let keys: string[] = [];
    let done = false;
    const once = (fn: (h: number) => void) => (args: number[]) => {
      if (!done) {
        done = true;
        for (const k of keys) this.unregister(k);
        fn(args[0] ?? this.undefined);
      }
      return this.undefined;
    };
    const a = this.register(once(onFulfilled));
    const b = this.register(once(onRejected));
    keys = [a.key, b.key];
    return [a.h, b.h];
  }

  /** A guest function whose calls reach `fn` (the package dispatches host calls by a name). */
  private register(fn: (args: number[]) => number): { h: number; key: string } {
    const key = `${this.prefix}:${nextCallback++}`;
    this.bind(key, fn);
    const { ptr: namePtr, len } = this.qjs._writeString(key);
    const h = this.e.qjs_new_host_function(namePtr, len, 0);
    this.e.wasm_free(namePtr);
    return { h, key };
  }

  private bind(key: string, fn: (args: number[]) => number): void {
    this.qjs.registerHostCallback(key, (...args: JSValueHandle[]) => {
      // What earlier callbacks returned was dup'ed when they returned: free it now rather than at the
      // end of the entry, which may make thousands of host calls (a stream pulled chunk by chunk).
      if (this.returned.length > 0) this.releaseReturned();
      const result = fn(args.map((a) => a.ptr));
      this.returned.push(result);
      // the package only reads `.ptr` (and dups it) from what a callback returns
      return { ptr: result } as unknown as JSValueHandle;
    });
    this.callbacks.add(key);
  }

  private unregister(key: string): void {
    this.callbacks.delete(key);
    this.qjs.unregisterHostCallback(key);
  }

  // ----------------------------------------------------------------------------------------- reading

  kind(h: number): ValueKind {
    const e = this.e;
    if (e.qjs_is_undefined(h)) return 'undefined';
    if (e.qjs_is_null(h)) return 'null';
    if (e.qjs_is_string(h)) return 'string';
    if (e.qjs_is_number(h)) return 'number';
    if (e.qjs_is_bool(h)) return 'boolean';
    if (e.qjs_is_array_buffer(h)) return 'bytes';
    if (e.qjs_is_function(h)) return 'function';
    return 'other';
  }

  readNumber(h: number): number {
    return this.e.qjs_get_float64(h);
  }

  readBool(h: number): boolean {
    return this.e.qjs_get_bool(h) !== 0;
  }

  stringLength(h: number): number {
    // JS_GetPropertyStr on a string primitive reads its exotic own `length`: no user code can run.
    const len = this.checked(this.e.qjs_get_prop_string(h, this.lengthKey));
    try {
      return this.readNumber(len);
    } finally {
      this.free(len);
    }
  }

  readString(h: number): string {
    const e = this.e;
    const cstr = e.qjs_get_string_len(h, this.scratch);
    if (cstr === 0) this.throwPending();
    try {
      const bytes = new Uint8Array(e.memory.buffer, cstr, this.u32(this.scratch));
      if (hasSurrogate(bytes)) return new JSValueHandle(this.qjs, e.qjs_dup_value(h)).consume((x) => x.toString());
      return decoder.decode(bytes);
    } finally {
      e.qjs_free_cstring(cstr);
    }
  }

  bytesLength(h: number): number {
    this.e.qjs_get_array_buffer(h, this.scratch);
    return this.u32(this.scratch);
  }

  readBytes(h: number): Uint8Array {
    const data = this.e.qjs_get_array_buffer(h, this.scratch);
    const len = this.u32(this.scratch);
    return data === 0 || len === 0 ? new Uint8Array(0) : new Uint8Array(this.e.memory.buffer, data, len).slice();
  }

  length(arr: number): number {
    const len = this.checked(this.e.qjs_get_prop_string(arr, this.lengthKey));
    try {
      return this.e.qjs_is_number(len) ? this.readNumber(len) : 0;
    } finally {
      this.free(len);
    }
  }

  index(arr: number, i: number): number {
    return this.checked(this.e.qjs_get_prop_uint32(arr, i));
  }

  property(obj: number, key: string): number {
    const { ptr } = this.qjs._writeString(key);
    try {
      return this.checked(this.e.qjs_get_prop_string(obj, ptr));
    } finally {
      this.e.wasm_free(ptr);
    }
  }

  // ------------------------------------------------------------------------------------------- code

  evalBytecode(bytes: Uint8Array): number {
    const e = this.e;
    const buf = e.wasm_malloc(bytes.byteLength);
    if (buf === 0) throw new GuestThrow({ name: 'InternalError', message: 'out of memory' });
    new Uint8Array(e.memory.buffer, buf, bytes.byteLength).set(bytes);
    const result = e.qjs_eval_bytecode(buf, bytes.byteLength);
    e.wasm_free(buf);
    return this.checked(result);
  }

  evalSource(source: string, filename: string, module: boolean): number {
    const e = this.e;
    const code = this.qjs._writeString(source);
    const name = this.qjs._writeString(filename);
    const result = e.qjs_eval(code.ptr, code.len, name.ptr, module ? JS_EVAL_TYPE_MODULE : 0);
    e.wasm_free(code.ptr);
    e.wasm_free(name.ptr);
    return this.checked(result);
  }

  call(fn: number, self: number, args: readonly number[]): number {
    const e = this.e;
    let argv = 0;
    if (args.length > 0) {
      argv = e.wasm_malloc(args.length * 4);
      if (argv === 0) throw new GuestThrow({ name: 'InternalError', message: 'out of memory' });
      new Uint32Array(e.memory.buffer, argv, args.length).set(args);
    }
    const result = e.qjs_call(fn, self, args.length, argv);
    if (argv) e.wasm_free(argv);
    return this.checked(result);
  }

  // -------------------------------------------------------------------------------------- promises

  isPromise(h: number): boolean {
    return this.e.qjs_is_promise(h) !== 0;
  }

  promiseState(p: number): PromiseStateCode {
    return this.e.qjs_promise_state(p) as PromiseStateCode;
  }

  promiseResult(p: number): number {
    return this.e.qjs_promise_result(p);
  }

  /** JS_PromiseThen: the engine's own reaction, no `then` lookup (checked: a patched then is not called). */
  promiseThen(p: number, onFulfilled: number, onRejected: number): void {
    this.free(this.checked(this.e.qjs_promise_then(p, onFulfilled, onRejected)));
  }

  newPromise(): { promise: number; resolve: number; reject: number } {
    const e = this.e;
    const promise = this.checked(e.qjs_new_promise(this.scratch, this.scratch + 4));
    const [resolve, reject] = new Uint32Array(e.memory.buffer, this.scratch, 2);
    return { promise, resolve: resolve!, reject: reject! };
  }

  hasPendingJob(): boolean {
    return this.e.qjs_is_job_pending() !== 0;
  }

  executePendingJob(): void {
    if (this.e.qjs_execute_pending_job() < 0) this.throwPending();
  }

  errorInfo(h: number): GuestErrorInfo {
    const e = this.e;
    if (!e.qjs_is_object(h)) {
      const kind = this.kind(h);
      const message = kind === 'null' ? 'null' : kind === 'undefined' ? 'undefined' : kind === 'string' ? this.readString(h) : kind === 'number' ? String(this.readNumber(h)) : kind === 'boolean' ? String(this.readBool(h)) : 'a non-error value';
      return { name: 'Error', message };
    }
    const read = (key: string): string | undefined => {
      const name = this.qjs._writeString(key);
      const p = e.qjs_get_prop_string(h, name.ptr);
      e.wasm_free(name.ptr);
      if (e.qjs_is_exception(p)) {
        e.qjs_free_value(e.qjs_get_exception());
        return undefined;
      }
      try {
        return e.qjs_is_string(p) && this.stringLength(p) <= 64 * 1024 ? this.readString(p) : undefined;
      } finally {
        this.free(p);
      }
    };
    return { name: read('name') ?? 'Error', message: read('message') ?? '', stack: read('stack') };
  }

  // --------------------------------------------------------------------------------------- helpers

  private u32(ptr: number): number {
    return new Uint32Array(this.e.memory.buffer, ptr, 1)[0]!;
  }

  /** A value, or the pending exception thrown as GuestThrow. */
  checked(ptr: number): number {
    if (this.e.qjs_is_exception(ptr)) {
      this.e.qjs_free_value(ptr);
      this.throwPending();
    }
    return ptr;
  }

  private throwPending(): never {
    const exc = this.e.qjs_get_exception();
    let info: GuestErrorInfo;
    try {
      info = this.errorInfo(exc);
    } finally {
      this.free(exc);
    }
    throw new GuestThrow(info);
  }
}
