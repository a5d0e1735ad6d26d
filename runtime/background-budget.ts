/**
 * How much CPU one function's background work may take: `ctx.waitUntil` continuations and the timers
 * of a request that already answered. They hold the function's concurrency slots (the scheduler's
 * job), but slots bound how many run at once, not how much CPU they burn between two requests of a
 * neighbour. Per function and thread, a token bucket of guest CPU milliseconds: background work that
 * finds it empty is deferred until it has refilled, never dropped (its wall-time deadline still
 * applies). Requests themselves are never throttled here.
 */
export interface BackgroundBudgetOptions {
  /** Guest CPU ms per second one function's background work may use (per thread). */
  msPerSecond: number;
  /** What it may use in a burst. */
  burstMs: number;
}

export const DEFAULT_BACKGROUND_BUDGET: BackgroundBudgetOptions = { msPerSecond: 200, burstMs: 200 };

interface Bucket {
  tokens: number;
  at: number;
}

export class BackgroundCpuBudget {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly opts: BackgroundBudgetOptions) {}

  /** Milliseconds background work of `fn` must wait before it may run (0: now). */
  delayFor(fn: string): number {
    const b = this.refill(fn);
    return b.tokens > 0 ? 0 : Math.ceil(((1 - b.tokens) / this.opts.msPerSecond) * 1000);
  }

  /** Books guest CPU that background work of `fn` used (the bucket may go negative: the next wait is longer). */
  charge(fn: string, ms: number): void {
    const b = this.refill(fn);
    b.tokens -= ms;
    if (b.tokens >= this.opts.burstMs) this.buckets.delete(fn);
  }

  private refill(fn: string): Bucket {
    const now = performance.now();
    let b = this.buckets.get(fn);
    if (!b) this.buckets.set(fn, (b = { tokens: this.opts.burstMs, at: now }));
    b.tokens = Math.min(this.opts.burstMs, b.tokens + ((now - b.at) / 1000) * this.opts.msPerSecond);
    b.at = now;
    return b;
  }
}
