/**
 * What the shared sandbox skeleton (guest-sandbox.ts) needs from an engine: the value and call
 * primitives of one QuickJS runtime + context, over the engine's own handle type `H`. Each engine
 * folder implements it once; everything above (host calls, the promise bridge, typed entry points,
 * fault classification) is written once against it.
 *
 * Rules every implementation keeps:
 *  - reading (`kind`, `stringLength`, `readString`, `readBytes`, `length`, `index`) never runs guest
 *    code: no getters, no proxies, no prototype walks (`index` is only used below `length` on dense
 *    arrays the prelude built, whose elements are own data properties);
 *  - building (`newObject` + `define`) defines properties, so no setter planted on a prototype runs;
 *  - `call`, `eval*` and `executePendingJob` throw `GuestThrow` with the exception already read out
 *    (name/message/stack) and its handle released.
 */

/** Kinds a host operation argument can have; anything else is 'other' and refused. */
export type ValueKind = 'undefined' | 'null' | 'boolean' | 'number' | 'string' | 'bytes' | 'function' | 'other';

export interface GuestErrorInfo {
  name: string;
  message: string;
  stack?: string;
}

/** An exception that left guest code, already read out of the engine (its handle is freed). */
export class GuestThrow extends Error {
  constructor(readonly info: GuestErrorInfo) {
    super(info.message);
  }
}

export const PROMISE_PENDING = 0;
export const PROMISE_FULFILLED = 1;
export const PROMISE_REJECTED = 2;
export type PromiseStateCode = typeof PROMISE_PENDING | typeof PROMISE_FULFILLED | typeof PROMISE_REJECTED;

export interface GuestVm<H> {
  readonly undefined: H;
  readonly null: H;
  free(h: H): void;
  dup(h: H): H;

  newString(s: string): H;
  newNumber(n: number): H;
  newBool(b: boolean): H;
  /** A new ArrayBuffer holding a copy of `bytes`. */
  newBytes(bytes: Uint8Array): H;
  newObject(): H;
  newArray(): H;
  /** Defines an own enumerable data property (no setter runs); does not consume `value`. */
  define(obj: H, key: string | number, value: H): void;
  newError(name: string, message: string): H;
  /** A guest function that calls `fn` with its argument handles (borrowed for the call). `fn`'s Error becomes a guest exception. */
  newFunction(name: string, fn: (args: H[]) => H): H;
  /**
   * Two guest functions of which at most one will ever be called, once (a promise's reactions):
   * whatever the engine keeps on the host for them is released after the first call.
   */
  newReactionPair(onFulfilled: (value: H) => void, onRejected: (reason: H) => void): [H, H];

  kind(h: H): ValueKind;
  readNumber(h: H): number;
  readBool(h: H): boolean;
  /** Length in UTF-16 code units, without copying the text out. */
  stringLength(h: H): number;
  readString(h: H): string;
  /** Byte length of an ArrayBuffer, without copying. */
  bytesLength(h: H): number;
  /** A host-owned copy of an ArrayBuffer's bytes. */
  readBytes(h: H): Uint8Array;
  /** `length` of an array the prelude built. */
  length(arr: H): number;
  /** Element `i` (< length) of such an array; a new handle. */
  index(arr: H, i: number): H;
  /** An own data property of an object the prelude built (the API object); a new handle. */
  property(obj: H, key: string): H;

  evalBytecode(bytes: Uint8Array): H;
  evalSource(source: string, filename: string, module: boolean): H;
  call(fn: H, self: H, args: readonly H[]): H;

  isPromise(h: H): boolean;
  promiseState(p: H): PromiseStateCode;
  /** The settled value or reason; a new handle. */
  promiseResult(p: H): H;
  /** Subscribes without running guest code (no `then` lookup); absent where the engine cannot. */
  promiseThen?(p: H, onFulfilled: H, onRejected: H): void;
  /** A pending promise and its resolving functions. */
  newPromise(): { promise: H; resolve: H; reject: H };

  hasPendingJob(): boolean;
  /** Runs one job; throws GuestThrow when it threw. */
  executePendingJob(): void;
  /** Name, message and stack of a thrown value (reading them may run guest getters: call inside an accounted entry). */
  errorInfo(h: H): GuestErrorInfo;
}
