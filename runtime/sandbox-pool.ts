import type { Sandbox, SandboxFactory, SandboxHooks, SandboxLimits } from './engine/types.ts';

/** Hooks of a sandbox nobody owns yet: the prelude runs no host operations at load. */
const UNOWNED: SandboxHooks = {
  argSpecs: () => undefined,
  hostCall: (op) => {
    throw new Error(`host operation "${op}" called by a sandbox with no owner`);
  },
  shouldInterrupt: () => false,
  resume: () => {},
};

/**
 * Blank sandboxes (engine instance + prelude already evaluated) kept ready so that a cold start is only
 * "take one, load the function's bytecode, invoke". Refills happen off the request path, one sandbox
 * per event-loop turn, so a burst of cold starts does not starve requests in flight.
 */
export class SandboxPool {
  private readonly ready: Sandbox[] = [];
  private refilling = false;
  private closed = false;
  created = 0;
  misses = 0;

  constructor(
    private readonly factory: SandboxFactory,
    private readonly target: number,
    private readonly limits: SandboxLimits,
  ) {}

  get size(): number {
    return this.ready.length;
  }

  /** Fills the pool now (at start-up, before the process reports ready). */
  async fill(): Promise<void> {
    while (!this.closed && this.ready.length < this.target) this.ready.push(await this.createBlank());
  }

  async take(): Promise<Sandbox> {
    const sandbox = this.ready.pop();
    this.scheduleRefill();
    if (sandbox) return sandbox;
    this.misses++;
    return this.createBlank();
  }

  close(): void {
    this.closed = true;
    for (const s of this.ready.splice(0)) s.dispose();
  }

  private createBlank(): Promise<Sandbox> {
    this.created++;
    return this.factory.create(this.limits, UNOWNED);
  }

  private scheduleRefill(): void {
    if (this.refilling || this.closed || this.target === 0) return;
    this.refilling = true;
    setImmediate(() => void this.refill());
  }

  private async refill(): Promise<void> {
    try {
      while (!this.closed && this.ready.length < this.target) {
        const s = await this.createBlank();
        if (this.closed) s.dispose();
        else this.ready.push(s);
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      this.refilling = false;
    }
  }
}
