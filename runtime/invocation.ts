import { InvocationStreams, type ByteSource } from './body-stream.ts';

/**
 * The request and response that cross into and out of the guest: plain data, and a body either whole
 * (`body`) or streamed (`stream`, a ByteSource: read as the guest reads it, or pulled as the client
 * takes it), never both.
 */
export interface GuestRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: ArrayBuffer | null;
  stream?: ByteSource;
}

export interface GuestResponse {
  status: number;
  headers: [string, string][];
  body: ArrayBuffer | null;
  stream?: ByteSource;
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
  /** Its response body is still being streamed: continuations are the response's work, not background work. */
  streaming = false;
  finished = false;
  /** Bytes of console output this invocation has logged (see LogLimits). */
  logBytes = 0;
  /** Records dropped since the cap was hit; reported once, with the "truncated" record. */
  logDropped = 0;
  private failers: Set<(err: unknown) => void> | undefined;
  private streamTable: InvocationStreams | undefined;

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

  /**
   * Fails whatever waits on this invocation: the caller's pending promise, a streamed response body
   * (used by faults that happen outside the awaited chain, and by the wall-time limit).
   */
  fail(err: unknown): void {
    if (!this.failers) return;
    for (const f of [...this.failers]) f(err);
  }

  /** Registers `f` to be called by fail(); returns what unregisters it. */
  onFail(f: (err: unknown) => void): () => void {
    (this.failers ??= new Set()).add(f);
    return () => this.failers?.delete(f);
  }

  /** The body streams and compression handles this invocation owns (made on first use). */
  get streams(): InvocationStreams {
    return (this.streamTable ??= new InvocationStreams());
  }

  /** Releases them; returns the guest streams still exposed (see InvocationStreams.close). */
  closeStreams(reason: string): number[] {
    return this.streamTable ? this.streamTable.close(reason) : [];
  }
}

/**
 * The `background` of an invocation with no ctx.waitUntil work and no streamed body: one shared,
 * settled promise, so a caller can tell by identity that the usage at response time is final and
 * skip waiting for it.
 */
export const NO_BACKGROUND: Promise<undefined> = Promise.resolve(undefined);
