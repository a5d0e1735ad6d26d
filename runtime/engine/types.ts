/**
 * The engine interface: the only thing the runtime knows about a JavaScript engine.
 *
 * A Sandbox is one guest heap (a QuickJS runtime + context) with the prelude loaded. The runtime
 * drives it through typed entry points (dispatch a request, fire a timer, settle waitUntil work …);
 * the guest reaches the host only through host operations whose arguments the engine reads under
 * the limits the operation declares (ArgSpec), never by walking guest objects. Everything
 * protocol-level (requests, timers, limits classification) lives above this interface, so engines
 * and isolation modes differ only below it.
 */
import type { DispatchRequest, DispatchResponse } from './dispatch-codec.ts';

export type { DispatchRequest, DispatchResponse } from './dispatch-codec.ts';

/** A value the guest hands to a host operation, after it was read and checked. */
export type HostArg = undefined | null | boolean | number | string | Uint8Array;

/** Declared per host operation (contract/host-ops.ts): the engine reads arguments under these. */
export type { ArgSpec } from '../../contract/host-ops.ts';
import type { ArgSpec } from '../../contract/host-ops.ts';

/** What a host operation returns to the guest: plain data (host-made, so trusted), or a Promise of it. */
export type HostValue =
  | undefined
  | null
  | boolean
  | number
  | string
  | ArrayBuffer
  | Uint8Array
  | readonly HostValue[]
  | { readonly [key: string]: HostValue };

/** The guest prelude compiled to QuickJS bytecode (runtime/prelude/build.ts makes it): the core and the lazy chunks. */
export interface Prelude {
  core: Uint8Array;
  chunks: Map<string, Uint8Array>;
  sizes: Record<string, { js: number; bytecode: number }>;
}

/** The same prelude as minified source, for an engine that cannot load bytecode. */
export interface PreludeSources {
  core: string;
  chunks: Map<string, string>;
}

/** Code in one of the two forms an artifact carries; engines take the form they can run. */
export interface GuestCode {
  filename: string;
  bytecode?: Uint8Array;
  source?: string;
}

export interface SandboxHooks {
  /**
   * The argument specs of host operation `op`, or undefined for an unknown one (a TypeError in the
   * guest). Consulted before any argument is read.
   */
  argSpecs(op: string): readonly ArgSpec[] | undefined;
  /** Called by the guest for every host operation, with arguments read and checked against argSpecs(op). */
  hostCall(op: string, args: HostArg[]): unknown;
  /** Polled by the interrupt handler while guest code runs; true stops the guest (uncatchable). */
  shouldInterrupt: () => boolean;
  /**
   * Runs a continuation that re-enters the guest (an async host op settling). The owner wraps it with
   * its accounting and fault handling; `origin` is the Promise that hostCall returned.
   */
  resume: (task: () => void, origin: Promise<unknown>) => void;
}

export interface SandboxLimits {
  memoryLimitBytes: number;
  /** Guest stack budget; QuickJS throws RangeError before the WASM stack is exhausted. */
  maxStackBytes: number;
}

/** How a guest failure is classified; the runtime maps these to contract error codes. */
export type GuestFaultKind = 'exception' | 'interrupted' | 'out_of_memory' | 'stack_overflow' | 'engine_trap';

export class GuestFault extends Error {
  readonly kind: GuestFaultKind;
  readonly guestName: string;
  readonly guestStack: string | undefined;

  constructor(kind: GuestFaultKind, guestName: string, message: string, guestStack?: string) {
    super(message);
    this.name = 'GuestFault';
    this.kind = kind;
    this.guestName = guestName;
    this.guestStack = guestStack;
  }

  /** Faults after which the sandbox's heap or stack can no longer be trusted. */
  get poisonsSandbox(): boolean {
    return this.kind !== 'exception';
  }
}

/** A result now, or a Promise of it when the guest answered with a promise. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * One guest heap with the prelude loaded. Every method that runs guest code must be called inside
 * the owner's accounted entry (a current invocation with a CPU budget), and the owner runs
 * `runJobs()` right after each, in the same entry: promises the guest hands back are settled there.
 */
export interface Sandbox {
  /** Rebinds the hooks: a pooled blank sandbox gets its owner's hooks when it is taken. */
  setHooks(hooks: SandboxHooks): void;
  setMemoryLimit(bytes: number): void;
  /** Evaluates the user module and attaches its default export as the handlers. */
  loadModule(code: GuestCode): Promise<void>;
  /** One request (see dispatch-codec.ts). */
  dispatch(req: DispatchRequest): MaybePromise<DispatchResponse>;
  /** One cron firing; `env` is the env spec's JSON, or undefined when unchanged since the last call. */
  scheduled(cron: string, scheduledTime: number, env: string | undefined, id: string): MaybePromise<void>;
  /**
   * The next piece of the guest's response body stream `id` (see dispatch-codec.ts), or null at its
   * end; rejects (a GuestFault) when the stream errored or a chunk is not bytes.
   */
  pullStream(id: number): MaybePromise<Uint8Array | null>;
  /** The host gives up on stream `id` (the client left, the request ended): the guest cancels it. */
  cancelStream(id: number, reason: string): void;
  /** Resolves once the waitUntil work of request `id` has settled. */
  settle(id: string): MaybePromise<void>;
  fireTimer(id: number): void;
  /** Forgets the callbacks of timers the host discarded unfired. */
  dropTimers(ids: number[]): void;
  /** Timers the guest still holds. */
  pendingTimers(): number;
  /** Runs pending guest jobs (microtasks) until none are left; settles promises the entries above returned. */
  runJobs(): void;
  /** Bytes the guest heap has allocated. */
  heapBytes(): number;
  dispose(): void;
  readonly disposed: boolean;
  /**
   * A copy of this sandbox as it is now (its module loaded, no request run yet), for `restore` into a
   * blank of the same factory; undefined when its engine or isolation cannot copy one, or the guest
   * holds something only the host side knows (a pending host operation, a watched promise).
   */
  capture?(): SandboxImage | undefined;
  /**
   * Turns this blank sandbox into a copy of `image`, with fresh per-instance randomness. False when it
   * cannot (then it is still the blank it was); throws when the copy failed half-way (then dispose it).
   */
  restore?(image: SandboxImage): boolean;
}

/** A sandbox's state copied by `Sandbox.capture`: opaque outside its engine. */
export interface SandboxImage {
  /** Host memory the image holds. */
  readonly bytes: number;
}

export interface SandboxFactory {
  readonly engine: EngineName;
  readonly isolation: Isolation;
  /** A blank sandbox with the prelude core evaluated. */
  create(limits: SandboxLimits, hooks: SandboxHooks): Promise<Sandbox>;
  /** Whether this engine runs bytecode (else the artifact's source). */
  readonly runsBytecode: boolean;
}

/** Engines are named after the libraries they run on. */
export type EngineName = 'quickjs-wasi' | 'quickjs-emscripten';
export type Isolation = 'shared' | 'instance';

/** The names earlier versions used on the command line and in options; still accepted. */
export const ENGINE_ALIASES: Record<string, EngineName> = {
  'quickjs-wasi': 'quickjs-wasi',
  bytecode: 'quickjs-wasi',
  'quickjs-emscripten': 'quickjs-emscripten',
  emscripten: 'quickjs-emscripten',
};

export function engineName(name: string): EngineName | undefined {
  return Object.hasOwn(ENGINE_ALIASES, name) ? ENGINE_ALIASES[name] : undefined;
}
