/** The plain-data request and response that cross into and out of the guest. */
export interface GuestRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: ArrayBuffer | null;
}

export interface GuestResponse {
  status: number;
  headers: [string, string][];
  body: ArrayBuffer | null;
}

export type InvocationKind = 'fetch' | 'scheduled' | 'load';

/** What one invocation consumed, for usage metering (gateway/usage/meter.ts). */
export interface InvocationUsage {
  /** Guest CPU time charged to it. */
  cpuMs: number;
  /** Bytes of fetch request and response bodies. */
  egressBytes: number;
  /** Calls to binding operations (KV get, put, list, delete). */
  bindingOps: number;
}

/**
 * One run of guest code on behalf of a request (or a cron firing, or a module load). Guest CPU time
 * is charged to the invocation that caused each entry into the guest: the dispatch itself, and later
 * the timers it armed and the host operations it awaited.
 */
export class Invocation {
  cpuUsedMs = 0;
  egressBytes = 0;
  bindingOps = 0;
  readonly startedAt = performance.now();
  /** Set once the response has been handed back; the invocation may live on for ctx.waitUntil. */
  responded = false;
  finished = false;
  /** Bytes of console output this invocation has logged (see LogLimits). */
  logBytes = 0;
  /** Records dropped since the cap was hit; reported once, with the "truncated" record. */
  logDropped = 0;
  /** Fails the caller's pending promise (used by faults that happen outside the awaited chain). */
  fail: (err: unknown) => void = () => {};

  constructor(
    readonly id: string,
    readonly kind: InvocationKind,
    readonly cpuLimitMs: number,
    /** Absolute wall-clock deadline on the performance.now() timeline. */
    readonly deadline: number,
  ) {}

  usage(): InvocationUsage {
    return { cpuMs: this.cpuUsedMs, egressBytes: this.egressBytes, bindingOps: this.bindingOps };
  }

  get remainingMs(): number {
    return Math.max(0, this.deadline - performance.now());
  }
}
