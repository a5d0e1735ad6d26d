import type { Invocation } from '../../invocation.ts';
import { cryptoError } from './errors.ts';
import { CRYPTO_LIMITS } from './limits.ts';

/**
 * How WebCrypto work is run and paid for. Node's WebCrypto is asynchronous: its jobs run on libuv's
 * thread pool (4 threads for the whole process, shared with DNS lookups and file I/O), so they are
 * gated: at most `jobsPerRuntime` run at once on one runtime (one runtime per worker thread), the
 * rest wait first come first served, and one invocation may have at most `jobsPerInvocation` queued
 * or running. A job's host time is charged to the invocation's CPU budget when it settles: its wall
 * time from start to settlement, minus the time this thread spent running guest code meanwhile
 * (which each guest entry is charged for already, and which would otherwise make one tenant pay for
 * another's CPU). A job of an invocation that has finished, or spent its CPU budget, is not started;
 * one that takes its invocation over the budget ends it (FunctionInstance), as the interrupt would.
 */

/** Milliseconds this thread has spent inside guest entries, summed over every instance (see FunctionInstance.enter). */
export const guestClock = { busyMs: 0 };

class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  acquire(): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((grant) => this.waiting.push(grant));
  }

  release(): void {
    const next = this.waiting.shift();
    // the slot passes straight to the oldest waiter
    if (next) next();
    else this.active--;
  }
}

const gate = new Gate(CRYPTO_LIMITS.jobsPerRuntime);
const pending = new WeakMap<Invocation, number>();

/** Runs `work` as one job of `inv`; `charged` hears how much host time was added to its CPU use. */
export async function cryptoJob<T>(inv: Invocation, work: () => Promise<T>, charged: (ms: number) => void): Promise<T> {
  const queued = pending.get(inv) ?? 0;
  if (queued >= CRYPTO_LIMITS.jobsPerInvocation) {
    throw cryptoError('QuotaExceededError', `too many crypto.subtle operations in flight (${CRYPTO_LIMITS.jobsPerInvocation} per invocation): await some first`);
  }
  pending.set(inv, queued + 1);
  try {
    await gate.acquire();
    try {
      if (inv.finished) throw cryptoError('AbortError', 'the invocation has finished');
      if (inv.cpuUsedMs >= inv.cpuLimitMs) throw cryptoError('OperationError', 'the invocation has spent its CPU budget');
      const started = performance.now();
      const busy = guestClock.busyMs;
      try {
        return await work();
      } finally {
        const ms = Math.max(0, performance.now() - started - (guestClock.busyMs - busy));
        inv.cpuUsedMs += ms;
        charged(ms);
      }
    } finally {
      gate.release();
    }
  } finally {
    const left = (pending.get(inv) ?? 1) - 1;
    if (left > 0) pending.set(inv, left);
    else pending.delete(inv);
  }
}
