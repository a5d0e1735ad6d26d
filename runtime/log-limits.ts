/**
 * Caps on what a function may write to the host's logs: a guest printing in a loop must not fill the
 * disk or starve the log pipeline. Per invocation, a volume cap (then one "dropped" record when it
 * ends); per function, a byte rate (token bucket) shared by all its instances on this thread.
 */
export interface LogLimits {
  /** Bytes of console output one invocation may log. */
  perInvocationBytes: number;
  /** Sustained bytes per second one function may log. */
  perFunctionBytesPerSecond: number;
  /** Bytes a function may log in a burst above its rate. */
  perFunctionBurstBytes: number;
}

export const DEFAULT_LOG_LIMITS: LogLimits = {
  perInvocationBytes: 64 * 1024,
  perFunctionBytesPerSecond: 256 * 1024,
  perFunctionBurstBytes: 1024 * 1024,
};

interface Bucket {
  tokens: number;
  at: number;
}

/** Bounded: a bucket that refilled completely carries no state and is forgotten. */
export class LogRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private sweeps = 0;

  constructor(private readonly limits: LogLimits) {}

  /** Whether `fn` may log `bytes` more now (and takes them if so). */
  admit(fn: string, bytes: number): boolean {
    const now = performance.now();
    let b = this.buckets.get(fn);
    if (!b) this.buckets.set(fn, (b = { tokens: this.limits.perFunctionBurstBytes, at: now }));
    b.tokens = Math.min(this.limits.perFunctionBurstBytes, b.tokens + ((now - b.at) / 1000) * this.limits.perFunctionBytesPerSecond);
    b.at = now;
    if (++this.sweeps % 1024 === 0) this.sweep(now);
    if (b.tokens < bytes) return false;
    b.tokens -= bytes;
    return true;
  }

  private sweep(now: number): void {
    const full = this.limits.perFunctionBurstBytes;
    for (const [fn, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.limits.perFunctionBytesPerSecond >= full) this.buckets.delete(fn);
    }
  }
}
