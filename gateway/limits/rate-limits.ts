/**
 * Request rate limits: a token bucket per function (its config's `rateLimit`) and one per tenant (its
 * `requestsPerSecond` quota). Checked once per request before the body is read: two map lookups and
 * some arithmetic when limits are set, one lookup each when they are not.
 */
import { FaasError } from '../../contract/errors.ts';

export interface RateLimit {
  requestsPerSecond: number;
  burst?: number;
}

/** A token bucket refilled continuously at `rate` per second, holding at most `capacity`. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  readonly capacity: number;

  constructor(
    readonly rate: number,
    burst: number | undefined,
    now = performance.now(),
  ) {
    this.capacity = burst ?? Math.max(1, Math.ceil(rate));
    this.tokens = this.capacity;
    this.last = now;
  }

  /** Takes a token: 0 when there was one, else the seconds until there will be. */
  take(now = performance.now()): number {
    const refilled = this.tokens + ((now - this.last) / 1000) * this.rate;
    this.tokens = refilled > this.capacity ? this.capacity : refilled;
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return (1 - this.tokens) / this.rate;
  }
}

export type RateScope = 'function' | 'tenant';

export class RateLimits {
  private readonly functions = new Map<string, { limit: RateLimit; bucket: TokenBucket }>();
  private readonly tenants = new Map<string, { limit: RateLimit; bucket: TokenBucket }>();

  /** In a cluster of N gateways behind one balancer, each admits 1/N of every limit (README "Running a cluster"). */
  private share = 1;

  constructor(private readonly onLimited?: (fn: string, tenant: string, scope: RateScope) => void) {}

  /** Sets (or clears) a function's limit; an unchanged limit keeps its bucket's state. */
  setFunction(name: string, limit: RateLimit | undefined): void {
    set(this.functions, name, limit, this.share);
  }

  setTenant(name: string, limit: RateLimit | undefined): void {
    set(this.tenants, name, limit, this.share);
  }

  /** How many gateways share the limits (1 on its own); buckets are rebuilt when it changes. */
  setShare(gateways: number): void {
    const share = Math.max(1, Math.floor(gateways));
    if (share === this.share) return;
    this.share = share;
    for (const map of [this.functions, this.tenants]) {
      for (const [key, { limit }] of map) map.set(key, { limit, bucket: bucketFor(limit, share) });
    }
  }

  /** Keeps only the functions named (after deletes). */
  retainFunctions(names: ReadonlySet<string>): void {
    for (const name of this.functions.keys()) if (!names.has(name)) this.functions.delete(name);
  }

  /** Throws 429 `rate_limited` (with Retry-After) when the function or its tenant is over its rate. */
  admit(fn: string, tenant: string): void {
    const f = this.functions.get(fn);
    if (f) {
      const wait = f.bucket.take();
      if (wait > 0) this.refuse(fn, tenant, 'function', `function "${fn}" is over its rate limit of ${f.limit.requestsPerSecond} requests per second`, wait);
    }
    const t = this.tenants.get(tenant);
    if (t) {
      const wait = t.bucket.take();
      if (wait > 0) this.refuse(fn, tenant, 'tenant', `tenant "${tenant}" is over its quota of ${t.limit.requestsPerSecond} requests per second`, wait);
    }
  }

  private refuse(fn: string, tenant: string, scope: RateScope, message: string, waitSeconds: number): never {
    this.onLimited?.(fn, tenant, scope);
    throw new FaasError('rate_limited', message, { retryAfterSeconds: Math.max(1, Math.ceil(waitSeconds)) });
  }
}

function set(map: Map<string, { limit: RateLimit; bucket: TokenBucket }>, key: string, limit: RateLimit | undefined, share: number): void {
  if (!limit) {
    map.delete(key);
    return;
  }
  const cur = map.get(key);
  if (cur && cur.limit.requestsPerSecond === limit.requestsPerSecond && cur.limit.burst === limit.burst) return;
  map.set(key, { limit: { ...limit }, bucket: bucketFor(limit, share) });
}

function bucketFor(limit: RateLimit, share: number): TokenBucket {
  if (share === 1) return new TokenBucket(limit.requestsPerSecond, limit.burst);
  const burst = limit.burst ?? Math.max(1, Math.ceil(limit.requestsPerSecond));
  return new TokenBucket(limit.requestsPerSecond / share, Math.max(1, Math.ceil(burst / share)));
}
