import { FaasError } from '../../contract/errors.ts';
import { PriorityQueue, type HeapItem } from './priority-queue.ts';

export interface SchedulerOptions {
  /** In-flight invocations across all functions. */
  maxConcurrent?: number;
  /** Waiting requests at most; beyond it requests are shed at once. */
  maxQueue?: number;
  /** How long a request may wait for a slot before it is turned away. */
  queueTimeoutMs?: number;
  /** A waiting request gains one priority level per this many ms waited. */
  agingMs?: number;
  /**
   * The fraction (0..1] of `maxConcurrent` one function may hold at once, whatever its own
   * `maxConcurrency` (rounded up, at least one slot), so one function cannot starve the others. With
   * the default a quarter, one function never holds every slot unless `maxConcurrent` is 1. 1 turns
   * the cap off.
   */
  maxSharePerFunction?: number;
}

export const SCHEDULER_DEFAULTS: Required<SchedulerOptions> = {
  maxConcurrent: 256,
  maxQueue: 1024,
  queueTimeoutMs: 1000,
  agingMs: 100,
  maxSharePerFunction: 0.25,
};

export interface Ticket {
  name: string;
  priority: number;
  maxConcurrency: number;
}

export interface Slot {
  /** Time spent queued, in ms (0 when a slot was free). */
  waitedMs: number;
  /** Idempotent. */
  release(): void;
  /**
   * The invocation answered but its background work (ctx.waitUntil) goes on: the slot stays taken,
   * counted in `background` too, until `work` settles or `notAfter` (performance.now() timeline)
   * passes, whichever comes first. `release()` still frees it at once.
   */
  releaseAfter(work: Promise<unknown>, notAfter?: number): void;
}

interface Waiter extends HeapItem {
  name: string;
  /**
   * Effective priority is `priority + waitedMs / agingMs`. For two waiters compared at the same
   * instant the `now` term cancels, so ordering by `priority * agingMs - enqueuedAt` is the same
   * order and never changes while they wait: the heap stays valid without re-keying.
   */
  key: number;
  seq: number;
  enqueuedAt: number;
  timer: NodeJS.Timeout | undefined;
  resolve(slot: Slot): void;
  reject(err: FaasError): void;
}

interface FunctionLane {
  inflight: number;
  limit: number;
  /** This function's waiters, queued or parked. */
  waiting: number;
  /** Waiters that reached the head of the queue while their own function was at its limit (made on first use). */
  parked: PriorityQueue<Waiter> | undefined;
}

const before = (a: Waiter, b: Waiter) => a.key > b.key || (a.key === b.key && a.seq < b.seq);

/**
 * Admission control in front of the runtime: a global in-flight bound, a per-function bound (its
 * maxConcurrency, and at most its fair share of the global bound), and a priority queue with aging
 * for what does not fit. A waiter whose function is at its own limit is parked on that function, so
 * it never blocks other functions' waiters behind it. A slot stays taken while the invocation's
 * background work runs (`releaseAfter`): work the scheduler cannot see is work it cannot bound.
 */
export class Scheduler {
  readonly options: Required<SchedulerOptions>;
  private readonly queue = new PriorityQueue<Waiter>(before);
  private readonly lanes = new Map<string, FunctionLane>();
  private inflightTotal = 0;
  private backgroundTotal = 0;
  private waitingTotal = 0;
  private seq = 0;

  /** Slots one function may hold at once (`maxSharePerFunction` of `maxConcurrent`). */
  readonly sharePerFunction: number;

  constructor(options: SchedulerOptions = {}) {
    this.options = { ...SCHEDULER_DEFAULTS, ...stripUndefined(options) };
    for (const [k, v] of Object.entries(this.options)) {
      // maxQueue 0 is meaningful: never queue, shed whatever does not fit at once.
      const min = k === 'maxQueue' ? 0 : Number.MIN_VALUE;
      if (!Number.isFinite(v) || v < min) throw new FaasError('bad_request', `scheduler option ${k} must be a ${min === 0 ? 'non-negative' : 'positive'} number (got ${v})`);
    }
    const { maxConcurrent, maxSharePerFunction } = this.options;
    if (maxSharePerFunction > 1) throw new FaasError('bad_request', `scheduler option maxSharePerFunction must be a fraction in (0, 1] (got ${maxSharePerFunction})`);
    this.sharePerFunction = Math.max(1, Math.ceil(maxConcurrent * maxSharePerFunction));
  }

  /** Invocations holding a slot, background ones included. */
  get inflight(): number {
    return this.inflightTotal;
  }

  /** Invocations that answered and hold their slot for ctx.waitUntil work. */
  get background(): number {
    return this.backgroundTotal;
  }

  /** Requests waiting for a slot. */
  get depth(): number {
    return this.waitingTotal;
  }

  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.options.queueTimeoutMs / 1000));
  }

  /**
   * A slot at once when one is free, without a promise: the uncontended path of `acquire`. Undefined
   * when the request would have to wait (or be shed): then call `acquire`.
   */
  tryAcquire(ticket: Ticket): Slot | undefined {
    const lane = this.lane(ticket.name);
    this.setLimit(lane, ticket.maxConcurrency);
    // After every dispatch no waiter can run, so taking a free slot here never overtakes one.
    if (this.inflightTotal < this.options.maxConcurrent && lane.inflight < lane.limit) return this.grant(ticket.name, lane, 0);
    this.dropLaneIfIdle(ticket.name, lane);
    return undefined;
  }

  /**
   * Resolves with a slot, or rejects with `overloaded` (queue full / queue wait exceeded) or
   * `timeout` (the invocation's own deadline passed while it waited).
   */
  acquire(ticket: Ticket, deadline?: number): Promise<Slot> {
    const free = this.tryAcquire(ticket);
    if (free) return Promise.resolve(free);
    const lane = this.lane(ticket.name);
    if (this.waitingTotal >= this.options.maxQueue) {
      this.dropLaneIfIdle(ticket.name, lane);
      return Promise.reject(this.overloaded(`queue is full (${this.options.maxQueue} waiting)`));
    }
    return new Promise<Slot>((resolve, reject) => {
      const now = performance.now();
      const waiter: Waiter = {
        heapIndex: -1,
        name: ticket.name,
        key: ticket.priority * this.options.agingMs - now,
        seq: this.seq++,
        enqueuedAt: now,
        timer: undefined,
        resolve,
        reject,
      };
      const queueLimit = now + this.options.queueTimeoutMs;
      const deadlineFirst = deadline !== undefined && deadline < queueLimit;
      waiter.timer = setTimeout(
        () =>
          this.expire(
            waiter,
            deadlineFirst
              ? new FaasError('timeout', `function "${ticket.name}" timed out while queued for a slot`)
              : this.overloaded(`no slot became free within ${this.options.queueTimeoutMs} ms`),
          ),
        Math.max(0, (deadlineFirst ? deadline : queueLimit) - now),
      );
      this.waitingTotal++;
      lane.waiting++;
      this.queue.push(waiter);
    });
  }

  /** Turns away everyone still waiting (used when shutting down). */
  rejectWaiting(err: FaasError): void {
    const waiters = this.queue.drain();
    for (const lane of this.lanes.values()) if (lane.parked) waiters.push(...lane.parked.drain());
    for (const w of waiters) {
      clearTimeout(w.timer);
      this.waitingTotal--;
      this.lane(w.name).waiting--;
      w.reject(err);
    }
    for (const [name, lane] of this.lanes) this.dropLaneIfIdle(name, lane);
  }

  private lane(name: string): FunctionLane {
    let lane = this.lanes.get(name);
    if (!lane) this.lanes.set(name, (lane = { inflight: 0, limit: 1, waiting: 0, parked: undefined }));
    return lane;
  }

  private setLimit(lane: FunctionLane, maxConcurrency: number): void {
    // The per-function share of the global slots is one more limit of the lane: a waiter over it is
    // parked like one over maxConcurrency, so it never blocks other functions' waiters either.
    const limit = Math.min(maxConcurrency, this.sharePerFunction);
    const raised = limit > lane.limit;
    lane.limit = limit;
    if (raised && lane.parked && lane.parked.size > 0) {
      this.unpark(lane);
      this.dispatch();
    }
  }

  private grant(name: string, lane: FunctionLane, waitedMs: number): Slot {
    this.inflightTotal++;
    lane.inflight++;
    return new GrantedSlot(this, name, lane, waitedMs);
  }

  /** @internal A slot's release (GrantedSlot). */
  _released(name: string, lane: FunctionLane, inBackground: boolean): void {
    if (inBackground) this.backgroundTotal--;
    this.release(name, lane);
  }

  /** @internal A slot went on into background work (GrantedSlot). */
  _intoBackground(): void {
    this.backgroundTotal++;
  }

  private release(name: string, lane: FunctionLane): void {
    this.inflightTotal--;
    lane.inflight--;
    this.unpark(lane);
    this.dispatch();
    this.dropLaneIfIdle(name, lane);
  }

  /** Parked waiters go back into the main queue, keeping their keys, as far as the lane has room. */
  private unpark(lane: FunctionLane): void {
    const parked = lane.parked;
    if (!parked) return;
    for (let room = lane.limit - lane.inflight; room > 0 && parked.size > 0; room--) {
      this.queue.push(parked.pop()!);
    }
  }

  private dispatch(): void {
    while (this.inflightTotal < this.options.maxConcurrent) {
      const top = this.queue.pop();
      if (!top) return;
      const lane = this.lane(top.name);
      if (lane.inflight >= lane.limit) {
        (lane.parked ??= new PriorityQueue(before)).push(top);
        continue;
      }
      clearTimeout(top.timer);
      this.waitingTotal--;
      lane.waiting--;
      top.resolve(this.grant(top.name, lane, performance.now() - top.enqueuedAt));
    }
  }

  private expire(waiter: Waiter, err: FaasError): void {
    const lane = this.lane(waiter.name);
    if (!this.queue.remove(waiter) && !lane.parked?.remove(waiter)) return;
    this.waitingTotal--;
    lane.waiting--;
    waiter.reject(err);
    this.dropLaneIfIdle(waiter.name, lane);
  }

  private dropLaneIfIdle(name: string, lane: FunctionLane): void {
    if (lane.inflight === 0 && lane.waiting === 0) this.lanes.delete(name);
  }

  private overloaded(message: string): FaasError {
    return new FaasError('overloaded', message, { retryAfterSeconds: this.retryAfterSeconds });
  }
}

/** One taken slot: an object with methods rather than closures, so granting one allocates once. */
class GrantedSlot implements Slot {
  private released = false;
  private inBackground = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly name: string,
    private readonly lane: FunctionLane,
    readonly waitedMs: number,
  ) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    clearTimeout(this.timer);
    this.scheduler._released(this.name, this.lane, this.inBackground);
  }

  releaseAfter(work: Promise<unknown>, notAfter?: number): void {
    if (this.released || this.inBackground) return;
    this.inBackground = true;
    this.scheduler._intoBackground();
    const done = () => this.release();
    work.then(done, done);
    if (notAfter === undefined) return;
    // The runtime bounds background work by the invocation's deadline; this backstop keeps a slot
    // from leaking if it ever did not. Most invocations have none and `work` has already settled:
    // the release runs first, so the timer is only armed for real background work.
    queueMicrotask(() => {
      if (this.released) return;
      this.timer = setTimeout(done, Math.max(0, notAfter - performance.now()));
      this.timer.unref();
    });
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
