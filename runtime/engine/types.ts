/**
 * The engine interface: the only thing the runtime knows about a JavaScript engine.
 *
 * A Sandbox is one guest heap (a QuickJS runtime + context) with the prelude loaded. Values cross the
 * boundary as plain data (HostValue); the guest's internal API (the prelude's completion value) is
 * called by name. Everything protocol-level (requests, timers, limits classification) lives above this
 * interface, so engines and isolation modes differ only here.
 */

export type HostValue =
  | undefined
  | null
  | boolean
  | number
  | string
  | ArrayBuffer
  | Uint8Array
  | HostValue[]
  | { [key: string]: HostValue };

/** A host operation called by the guest as `__faas_host(op, ...args)`; a Promise result becomes a guest Promise. */
export type HostCall = (op: string, args: unknown[]) => unknown;

/** Code in one of the two forms an artifact carries; engines take the form they can run. */
export interface GuestCode {
  filename: string;
  bytecode?: Uint8Array;
  source?: string;
}

export interface SandboxHooks {
  /** Called by the guest for every host operation. */
  hostCall: HostCall;
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

export interface Sandbox {
  /** Rebinds the hooks: a pooled blank sandbox gets its owner's hooks when it is taken. */
  setHooks(hooks: SandboxHooks): void;
  setMemoryLimit(bytes: number): void;
  /** Evaluates a prelude chunk (script); returns nothing. Used by the lazy globals. */
  evalScript(code: GuestCode): void;
  /** Evaluates the user module and hands its namespace to the internal API's `attach`. */
  loadModule(code: GuestCode): Promise<void>;
  /**
   * Calls a function of the prelude's internal API. A guest Promise result becomes a host Promise
   * that settles when the guest's does (the caller keeps pumping through timers and host ops).
   */
  callApi(name: string, args: unknown[]): unknown;
  /** Runs pending guest jobs (microtasks) until none are left. */
  runJobs(): void;
  /** Bytes the guest heap has allocated. */
  heapBytes(): number;
  dispose(): void;
  readonly disposed: boolean;
}

export interface SandboxFactory {
  readonly engine: EngineName;
  readonly isolation: Isolation;
  /** A blank sandbox with the prelude core evaluated. */
  create(limits: SandboxLimits, hooks: SandboxHooks): Promise<Sandbox>;
  /** Whether this engine runs bytecode (else the artifact's source). */
  readonly runsBytecode: boolean;
}

export type EngineName = 'bytecode' | 'emscripten';
export type Isolation = 'shared' | 'instance';
