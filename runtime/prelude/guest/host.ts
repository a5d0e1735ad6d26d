/**
 * The one door to the host. Every bundle (the core and each chunk) gets its own copy of this module;
 * the core binds the host function it was booted with, a chunk the one its installer is handed, so
 * API modules can simply import `call`. The host function is never stored anywhere user code can
 * reach, and only ever called directly (never through a `call`/`apply` user code could replace).
 */
import { isInstance } from './safe.ts';
import { exactBuffer } from './util.ts';

export type HostFn = (op: string, ...args: unknown[]) => any;

/** What the core shares with chunks: chunks are separate scripts and cannot import core modules. */
export interface Internals {
  host: HostFn;
  need(chunk: string): any;
  /** Exports of chunks loaded so far (lets the core recognise e.g. URLSearchParams without loading it). */
  loaded: Record<string, any>;
  DOMException: any;
  Request: any;
  Response: any;
  Headers: any;
  /** A Request's state array (slots.ts), read by its private field; undefined for anything else. */
  requestState(x: unknown): any[] | undefined;
  /** A state's current header list (sorted, combined; do not modify), without making a Headers object. */
  headerList(state: any[]): string[];
  /** A Response of a state array laid out as response.ts does. */
  trustedResponse(state: any[]): any;
  takeBody(body: any): unknown;
  /** The source a clone of this state's body gets (a stream body is teed: the state keeps one branch). */
  cloneSource(state: any[]): unknown;
  bodyUsed(body: any): boolean;
  bodyStream(body: any): any;
  hasBody(body: any): boolean;
  extractBody(init: unknown): [unknown, string | null];
  absoluteUrl(input: unknown): string;
  toBytes(src: unknown): Uint8Array;
  readHost(id: number): Promise<Uint8Array>;
  console: object;
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
}

export interface FetchedResponse {
  status: number;
  statusText: string;
  url: string;
  redirected: boolean;
  headers: [string, string][];
  /** The body held whole, or null when it is streamed (`stream`) or absent. */
  body: ArrayBuffer | null;
  /** The host stream of a body the host did not hold whole. */
  stream?: number;
}

let hostFn: HostFn;
/** Set in chunks only: the core's own modules import what they need directly. */
export let internals: Internals;
/**
 * Exports of the chunks loaded so far (no prototype: a name must never resolve to Object.prototype):
 * the core's own record, which a chunk gets through `bindHost`.
 */
export let loaded: Record<string, any> = ObjectCreate(null);

export function bindHost(fn: HostFn, shared?: Internals): void {
  hostFn = fn;
  if (shared) {
    internals = shared;
    loaded = shared.loaded;
  }
}

/**
 * Calls a host op (declared in runtime/host/op-table.ts); host errors arrive as plain Errors carrying
 * a name, so give them their real class back. Bytes cross as ArrayBuffers: a view is passed as the
 * exact buffer of its bytes (copied only when it covers part of its buffer).
 */
export function call(op: string, ...args: unknown[]): any {
  const n = args.length;
  for (let i = 0; i < n; i++) {
    const a = args[i];
    if (typeof a === 'object' && a !== null && ArrayBufferIsView(a)) args[i] = exactBuffer(a as Uint8Array);
  }
  try {
    // called directly with the arguments: no array the host function's arguments pass through is
    // built by writes an index accessor on Array.prototype could intercept (ops take at most four)
    const h = hostFn;
    if (n > 4) throw new TypeError('host op ' + op + ': too many arguments');
    const out = n === 0 ? h(op) : n === 1 ? h(op, args[0]) : n === 2 ? h(op, args[0], args[1]) : n === 3 ? h(op, args[0], args[1], args[2]) : h(op, args[0], args[1], args[2], args[3]);
    return isInstance(out, Promise) ? callWith(PromisePrototypeThen, out, undefined, rethrow) : out;
  } catch (e) {
    rethrow(e);
  }
}

const NATIVE: Record<string, ErrorConstructor> = { __proto__: null, TypeError, RangeError, SyntaxError } as any;

function rethrow(e: any): never {
  if (isInstance(e, Error) && e.name !== 'Error' && typeof e.name === 'string') {
    const Native = NATIVE[e.name];
    throw Native ? new Native(e.message) : new (internals?.DOMException ?? domException())(e.message, e.name);
  }
  throw e;
}

/** The core's DOMException (set by core.ts once it knows which one the engine offers). */
let domException: () => any = () => Error;
export function setDomException(get: () => any): void {
  domException = get;
}
