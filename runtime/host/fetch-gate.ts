import { FetchRefused } from './egress-counters.ts';

/**
 * The cap on outgoing fetches in flight at once in one runtime, so the host's buffering is bounded
 * (each fetch holds at most its response cap). A fetch over the cap waits, first come first served,
 * for at most `waitMs`; then it is refused, so a burst degrades into clear errors, not a pile-up.
 */
export class FetchGate {
  private active = 0;
  /** Insertion-ordered; a waiter that times out removes itself in O(1). */
  private readonly waiting = new Set<{ grant: () => void }>();

  constructor(readonly max: number) {}

  get inflight(): number {
    return this.active;
  }

  /** Resolves with the slot's release function (call it once). */
  acquire(waitMs: number): Promise<() => void> {
    if (this.active < this.max && this.waiting.size === 0) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    const refusal = () =>
      new FetchRefused('busy', `fetch refused: ${this.max} outgoing fetches are already in flight on this runtime; none finished within ${Math.round(waitMs)} ms`);
    if (waitMs <= 0) return Promise.reject(refusal());
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          clearTimeout(timer);
          resolve(this.releaser());
        },
      };
      const timer = setTimeout(() => {
        this.waiting.delete(waiter);
        reject(refusal());
      }, waitMs);
      this.waiting.add(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.values().next();
      if (next.done) {
        this.active--;
        return;
      }
      // The slot passes straight to the oldest waiter: `active` is unchanged.
      this.waiting.delete(next.value);
      next.value.grant();
    };
  }
}
