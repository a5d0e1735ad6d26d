export type Phase = 'starting' | 'ready' | 'draining' | 'closed';

/**
 * The gateway's phase, and the work a drain waits for: requests being handled and ctx.waitUntil
 * work that outlives its response.
 */
export class Lifecycle {
  phase: Phase = 'starting';
  /** Why the gateway cannot take changes now (the cluster database is away), if so: /readyz answers 503. */
  problem: () => string | undefined = () => undefined;
  /** The functions directory's background sync after start, when there is a directory (shown by /readyz). */
  functionsDir: () => 'syncing' | 'synced' | undefined = () => undefined;
  private active = 0;
  private readonly background = new Set<Promise<unknown>>();
  private waiters: (() => void)[] = [];

  get busy(): number {
    return this.active + this.background.size;
  }

  enter(): () => void {
    this.active++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.active--;
      this.settle();
    };
  }

  trackBackground(work: Promise<unknown>): void {
    const done = () => {
      this.background.delete(work);
      this.settle();
    };
    this.background.add(work);
    work.then(done, done);
  }

  /** Resolves once nothing is in flight. */
  idle(): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private settle(): void {
    if (this.busy !== 0 || this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
