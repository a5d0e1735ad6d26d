/**
 * GuestVm over quickjs-emscripten's QuickJSContext (stock Bellard QuickJS). Handles are the
 * library's Lifetimes. Where the library's conveniences would run guest code (`resolvePromise` calls
 * the guest's `Promise.resolve(...).then`), the raw FFI is used instead.
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten-core';
import { GuestThrow, type GuestErrorInfo, type GuestVm, type PromiseStateCode, type ValueKind } from '../guest-vm.ts';

/** The FFI and memory helpers the public API does not expose. */
interface ContextInternals {
  ffi: {
    QTS_PromiseState(ctx: unknown, h: unknown): number;
    QTS_PromiseResult(ctx: unknown, h: unknown): unknown;
  };
  ctx: { value: unknown };
  memory: { heapValueHandle(ptr: unknown): QuickJSHandle };
}

export class EmscriptenVm implements GuestVm<QuickJSHandle> {
  readonly undefined: QuickJSHandle;
  readonly null: QuickJSHandle;
  private readonly raw: ContextInternals;
  /** Set once the prelude is booted: its `byteLength` tells an ArrayBuffer from other objects without a pending exception. */
  byteLengthFn: QuickJSHandle | undefined;
  /** The prelude's JSON.stringify of a string: read when the plain copy shows U+FFFD (a lone surrogate, mangled by the copy). */
  quoteFn: QuickJSHandle | undefined;
  /** The prelude's JSON.parse: builds a string with a NUL in it, which the plain copy would cut. */
  parseJsonFn: QuickJSHandle | undefined;

  constructor(
    private readonly ctx: QuickJSContext,
    private readonly rt: QuickJSRuntime,
  ) {
    this.undefined = ctx.undefined;
    this.null = ctx.null;
    this.raw = ctx as unknown as ContextInternals;
  }

  free(h: QuickJSHandle): void {
    if (h.alive && h !== this.undefined && h !== this.null && h !== this.ctx.true && h !== this.ctx.false) h.dispose();
  }

  dup(h: QuickJSHandle): QuickJSHandle {
    return h.dup();
  }

  newString(s: string): QuickJSHandle {
    // the library's copy goes through a C string too: a NUL would end it, so such a string travels as
    // JSON text (which escapes it) and is parsed by the prelude's captured JSON.parse
    if (!s.includes('\0') || !this.parseJsonFn) return this.ctx.newString(s);
    const text = this.ctx.newString(JSON.stringify(s));
    try {
      const r = this.ctx.callFunction(this.parseJsonFn, this.undefined, text);
      if ('error' in r && r.error) {
        const info = this.errorInfo(r.error);
        r.error.dispose();
        throw new GuestThrow(info);
      }
      return (r as { value: QuickJSHandle }).value;
    } finally {
      text.dispose();
    }
  }

  newNumber(n: number): QuickJSHandle {
    return this.ctx.newNumber(n);
  }

  newBool(b: boolean): QuickJSHandle {
    return b ? this.ctx.true : this.ctx.false;
  }

  newBytes(bytes: Uint8Array): QuickJSHandle {
    // a copy of exactly these bytes (a Node Buffer's slice() is a view of its pool, not a copy)
    return this.ctx.newArrayBuffer(new Uint8Array(bytes).buffer);
  }

  newObject(): QuickJSHandle {
    return this.ctx.newObject();
  }

  newArray(): QuickJSHandle {
    return this.ctx.newArray();
  }

  define(obj: QuickJSHandle, key: string | number, value: QuickJSHandle): void {
    this.ctx.defineProp(obj, key, { value, configurable: true, enumerable: true });
  }

  newError(name: string, message: string): QuickJSHandle {
    return this.ctx.newError({ name, message });
  }

  newFunction(name: string, fn: (args: QuickJSHandle[]) => QuickJSHandle): QuickJSHandle {
    return this.ctx.newFunction(name, (...args) => fn(args));
  }

  newReactionPair(onFulfilled: (value: QuickJSHandle) => void, onRejected: (reason: QuickJSHandle) => void): [QuickJSHandle, QuickJSHandle] {
    let done = false;
    const once = (fn: (h: QuickJSHandle) => void) => (args: QuickJSHandle[]) => {
      if (!done) {
        done = true;
        fn(args[0] ?? this.undefined);
      }
      return this.undefined;
    };
    return [this.newFunction('', once(onFulfilled)), this.newFunction('', once(onRejected))];
  }

  kind(h: QuickJSHandle): ValueKind {
    const t = this.ctx.typeof(h);
    switch (t) {
      case 'undefined':
      case 'string':
      case 'number':
      case 'boolean':
      case 'function':
        return t;
      case 'object':
        if (this.ctx.eq(h, this.null)) return 'null';
        return this.bytesLength(h) >= 0 ? 'bytes' : 'other';
      default:
        return 'other';
    }
  }

  readNumber(h: QuickJSHandle): number {
    return this.ctx.getNumber(h);
  }

  readBool(h: QuickJSHandle): boolean {
    return h === this.ctx.true || this.ctx.dump(h) === true;
  }

  stringLength(h: QuickJSHandle): number {
    const len = this.ctx.getProp(h, 'length');
    try {
      return this.ctx.getNumber(len);
    } finally {
      len.dispose();
    }
  }

  readString(h: QuickJSHandle): string {
    // The library's copy goes through a C string: it stops at a NUL and mangles lone surrogates.
    const s = this.ctx.getString(h);
    if ((!s.includes('\uFFFD') && s.length === this.stringLength(h)) || !this.quoteFn) return s;
    const r = this.ctx.callFunction(this.quoteFn, this.undefined, h);
    if ('error' in r && r.error) {
      r.error.dispose();
      return s;
    }
    return (r as { value: QuickJSHandle }).value.consume((q) => JSON.parse(this.ctx.getString(q)) as string);
  }

  /** -1 for anything that is not an ArrayBuffer (asked through the prelude's captured getter: no user code runs). */
  bytesLength(h: QuickJSHandle): number {
    if (!this.byteLengthFn) return -1;
    const r = this.ctx.callFunction(this.byteLengthFn, this.undefined, h);
    if ('error' in r && r.error) {
      r.error.dispose();
      return -1;
    }
    return (r as { value: QuickJSHandle }).value.consume((v) => this.ctx.getNumber(v));
  }

  readBytes(h: QuickJSHandle): Uint8Array {
    const view = this.ctx.getArrayBuffer(h);
    try {
      return view.value.slice();
    } finally {
      view.dispose();
    }
  }

  /**
   * Not `ctx.getLength`: it reads its answer through a typed-array view the library makes once per
   * context, which a neighbour growing the shared module's memory detaches (every later read is 0).
   */
  length(arr: QuickJSHandle): number {
    const len = this.ctx.getProp(arr, 'length');
    try {
      return this.ctx.typeof(len) === 'number' ? this.ctx.getNumber(len) : 0;
    } finally {
      len.dispose();
    }
  }

  index(arr: QuickJSHandle, i: number): QuickJSHandle {
    return this.ctx.getProp(arr, i);
  }

  property(obj: QuickJSHandle, key: string): QuickJSHandle {
    return this.ctx.getProp(obj, key);
  }

  evalBytecode(): QuickJSHandle {
    throw new Error('quickjs-emscripten cannot load QuickJS bytecode');
  }

  evalSource(source: string, filename: string, module: boolean): QuickJSHandle {
    return this.unwrap(this.ctx.evalCode(source, filename, module ? { type: 'module' } : undefined));
  }

  call(fn: QuickJSHandle, self: QuickJSHandle, args: readonly QuickJSHandle[]): QuickJSHandle {
    return this.unwrap(this.ctx.callFunction(fn, self, ...args));
  }

  isPromise(h: QuickJSHandle): boolean {
    return this.raw.ffi.QTS_PromiseState(this.raw.ctx.value, h.value) >= 0;
  }

  promiseState(p: QuickJSHandle): PromiseStateCode {
    // JSPromiseStateEnum: 0 pending, 1 fulfilled, 2 rejected
    return this.raw.ffi.QTS_PromiseState(this.raw.ctx.value, p.value) as PromiseStateCode;
  }

  promiseResult(p: QuickJSHandle): QuickJSHandle {
    return this.raw.memory.heapValueHandle(this.raw.ffi.QTS_PromiseResult(this.raw.ctx.value, p.value));
  }

  newPromise(): { promise: QuickJSHandle; resolve: QuickJSHandle; reject: QuickJSHandle } {
    const d = this.ctx.newPromise() as unknown as { handle: QuickJSHandle; resolveHandle: QuickJSHandle; rejectHandle: QuickJSHandle };
    return { promise: d.handle, resolve: d.resolveHandle, reject: d.rejectHandle };
  }

  hasPendingJob(): boolean {
    return this.rt.hasPendingJob();
  }

  executePendingJob(): void {
    const res = this.rt.executePendingJobs(1);
    if (res.error) {
      const info = this.errorInfo(res.error);
      res.error.dispose();
      throw new GuestThrow(info);
    }
  }

  errorInfo(h: QuickJSHandle): GuestErrorInfo {
    const ctx = this.ctx;
    const t = ctx.typeof(h);
    if (t !== 'object' || ctx.eq(h, this.null)) {
      const message = ctx.eq(h, this.null) ? 'null' : t === 'string' ? ctx.getString(h) : t === 'number' ? String(ctx.getNumber(h)) : t;
      return { name: 'Error', message };
    }
    const read = (key: string): string | undefined => {
      let p: QuickJSHandle;
      try {
        p = ctx.getProp(h, key);
      } catch {
        return undefined;
      }
      try {
        return ctx.typeof(p) === 'string' && this.stringLength(p) <= 64 * 1024 ? ctx.getString(p) : undefined;
      } finally {
        p.dispose();
      }
    };
    const name = read('name');
    const message = read('message');
    return { name: name ?? 'Error', message: message ?? '', stack: read('stack') };
  }

  private unwrap(result: { value: QuickJSHandle } | { error: QuickJSHandle }): QuickJSHandle {
    if ('error' in result && result.error) {
      const info = this.errorInfo(result.error);
      result.error.dispose();
      throw new GuestThrow(info);
    }
    return (result as { value: QuickJSHandle }).value;
  }
}
