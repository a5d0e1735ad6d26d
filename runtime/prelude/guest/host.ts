/**
 * The one door to the host. Every bundle (the core and each chunk) gets its own copy of this module;
 * the entry binds it before anything else runs, so API modules can simply import `call`.
 */

export type HostFn = (op: string, ...args: unknown[]) => any;

/** What the core shares with chunks: chunks are separate scripts and cannot import core modules. */
export interface Internals {
  need(chunk: string): any;
  /** Exports of chunks loaded so far (lets the core recognise e.g. URLSearchParams without loading it). */
  loaded: Record<string, any>;
  DOMException: any;
  Request: any;
  Response: any;
  Headers: any;
  requestHeaderList(req: any): string[];
  requestParts(req: any): RequestParts;
  fetchedResponse(res: FetchedResponse): any;
  requestSignal(req: any): any;
  takeBody(body: any, reader?: boolean): unknown;
  hasBody(body: any): boolean;
  extractBody(init: unknown): [unknown, string | null];
  absoluteUrl(input: unknown): string;
  toBytes(src: unknown): Uint8Array;
  console: object;
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
}

export interface RequestParts {
  method: string;
  url: string;
  headers: [string, string][];
  body: Uint8Array | null;
  redirect: string;
}

export interface FetchedResponse {
  status: number;
  statusText: string;
  url: string;
  redirected: boolean;
  headers: [string, string][];
  body: ArrayBuffer | null;
}

let hostFn: HostFn;
/** Set in chunks only: the core's own modules import what they need directly. */
export let internals: Internals;

export function bindHost(fn: HostFn, shared?: Internals): void {
  hostFn = fn;
  if (shared) internals = shared;
}

/** Calls a host op; host errors arrive as plain Errors carrying a name, so give them their real class back. */
export function call(op: string, ...args: unknown[]): any {
  try {
    const out = hostFn(op, ...args);
    return out instanceof Promise ? out.catch(rethrow) : out;
  } catch (e) {
    rethrow(e);
  }
}

const NATIVE: Record<string, ErrorConstructor> = { __proto__: null, TypeError, RangeError, SyntaxError } as any;

function rethrow(e: any): never {
  if (e instanceof Error && e.constructor === Error && e.name !== 'Error') {
    const Native = NATIVE[e.name];
    throw Native ? new Native(e.message) : new (internals?.DOMException ?? (globalThis as any).DOMException)(e.message, e.name);
  }
  throw e;
}
