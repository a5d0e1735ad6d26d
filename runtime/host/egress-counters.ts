/**
 * What happened to each guest fetch, counted for the gateway's metrics. The cells live in a
 * SharedArrayBuffer so that the gateway thread can read what its worker threads count: the gateway
 * creates the counters and hands `buffer` to each worker's ops (structured clone shares it).
 * Counters only grow, so a worker that dies leaves its counts valid.
 */
export const FETCH_OUTCOMES = [
  /** The upstream answered (any status). */
  'ok',
  /** Network error or timeout. */
  'failed',
  /** Refused by the egress policy (host not allowlisted, internal address, scheme). */
  'policy',
  /** A malformed request: method, header name or value, URL (userinfo, port 0 …), redirect mode. */
  'invalid_request',
  /** Request body, headers or URL over their caps. */
  'request_too_large',
  /** Response body over min(10 MiB, the function's memory). */
  'response_too_large',
  /** The invocation already had its maximum of fetches in flight. */
  'too_many_fetches',
  /** No free slot in the runtime's concurrent-fetch cap within the wait allowed. */
  'busy',
] as const;

export type FetchOutcome = (typeof FETCH_OUTCOMES)[number];
export type FetchRefusalReason = Exclude<FetchOutcome, 'ok' | 'failed'>;

/** A fetch the host refused: a TypeError in the guest (its name stays "TypeError"), counted by reason. */
export class FetchRefused extends TypeError {
  constructor(
    readonly reason: FetchRefusalReason,
    message: string,
  ) {
    super(message);
  }
}

export class EgressCounters {
  readonly buffer: SharedArrayBuffer;
  private readonly cells: BigInt64Array;

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(FETCH_OUTCOMES.length * BigInt64Array.BYTES_PER_ELEMENT);
    this.cells = new BigInt64Array(this.buffer);
  }

  count(outcome: FetchOutcome): void {
    Atomics.add(this.cells, FETCH_OUTCOMES.indexOf(outcome), 1n);
  }

  snapshot(): Record<FetchOutcome, number> {
    const out = {} as Record<FetchOutcome, number>;
    FETCH_OUTCOMES.forEach((o, i) => (out[o] = Number(Atomics.load(this.cells, i))));
    return out;
  }
}
