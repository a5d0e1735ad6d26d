import { Cron } from 'croner';
import { randomUUID } from 'node:crypto';
import { isFaasError } from '../../contract/errors.ts';
import type { GatewayContext, GatewayPart } from '../types.ts';

/** Cron firings queue behind requests: lowest priority, aging still keeps them from starving. */
export const CRON_PRIORITY = -10;

interface Schedule {
  version: number;
  jobs: Cron[];
}

/**
 * Fires `scheduled(controller, env, ctx)` for every deployed function's `crons`, through the same
 * scheduler and limits as requests. Kept in step with the runtime by `sync()` after every deploy or
 * delete; a firing that finds its function gone or redeployed is dropped.
 */
export class CronTriggers implements GatewayPart {
  private readonly schedules = new Map<string, Schedule>();
  private stopped = false;

  constructor(private readonly deps: GatewayContext) {}

  sync(changed?: readonly string[]): void {
    if (this.stopped) return;
    const { runtime } = this.deps;
    const wanted = changed === undefined ? runtime.withList('crons') : changed.map((n) => runtime.lookup(n)).filter((f) => f !== undefined);
    const touched = new Set(changed ?? this.schedules.keys());
    const live = new Map(wanted.map((fn) => [fn.name, fn]));
    for (const name of touched) {
      const s = this.schedules.get(name);
      const fn = live.get(name);
      if (s && (!fn || fn.version !== s.version)) {
        for (const job of s.jobs) job.stop();
        this.schedules.delete(name);
      }
    }
    for (const fn of live.values()) {
      if (this.schedules.has(fn.name) || cronsOf(fn.config).length === 0) continue;
      const jobs = cronsOf(fn.config).map(
        (expr) => new Cron(expr, { protect: true, timezone: 'UTC' }, () => this.onTimer(fn.name, fn.version, expr)),
      );
      this.schedules.set(fn.name, { version: fn.version, jobs });
    }
  }

  /**
   * A timer went off. In a cluster every gateway's timers go off; the firing runs where its claim
   * (the scheduled second, recorded in the database) succeeds, so it runs once. A claim that cannot be
   * made (the database is away) skips the firing: at most once, never twice.
   */
  private async onTimer(name: string, version: number, cron: string): Promise<void> {
    // Cron's granularity is a second; a timer fires just after its second starts.
    const scheduledTime = Math.floor(Date.now() / 1000) * 1000;
    const claim = this.deps.claimFiring;
    if (claim) {
      let mine: boolean;
      try {
        mine = await claim(name, cron, scheduledTime);
      } catch (err) {
        this.deps.logger.warn({ function: name, cron, err: (err as Error).message }, 'scheduled run skipped: its firing could not be claimed');
        this.deps.recordScheduled(name, 'unavailable', 0);
        return;
      }
      if (!mine) return;
    }
    await this.fire(name, version, cron, scheduledTime);
  }

  /** Runs one firing now (also what the timer calls). Resolves when it has finished; never rejects. */
  async fire(name: string, version: number, cron: string, scheduledTime = Date.now()): Promise<void> {
    const { runtime, logger } = this.deps;
    const fn = runtime.lookup(name);
    if (!fn || fn.version !== version) return;
    const requestId = `cron-${randomUUID()}`;
    const deadline = performance.now() + fn.config.timeoutMs;
    const started = performance.now();
    let outcome = 'ok';
    try {
      const slot = await this.deps.acquire({ name, priority: CRON_PRIORITY, maxConcurrency: fn.config.maxConcurrency }, deadline);
      try {
        await runtime.resolve(name);
        await runtime.scheduled(name, { cron, scheduledTime }, { requestId, deadline });
      } finally {
        slot.release();
      }
    } catch (err) {
      outcome = isFaasError(err) ? err.code : 'internal_error';
      logger.warn({ function: name, version, cron, requestId, error: outcome, err: (err as Error).message }, 'scheduled run failed');
    }
    this.deps.recordScheduled(name, outcome, (performance.now() - started) / 1000);
    if (outcome === 'ok') logger.info({ function: name, version, cron, requestId, ms: Math.round(performance.now() - started) }, 'scheduled run');
  }

  /** Next firing times, for the admin API and tests. */
  next(name: string): { cron: string; next: string | null }[] {
    return (this.schedules.get(name)?.jobs ?? []).map((j) => ({ cron: j.getPattern() ?? '', next: j.nextRun()?.toISOString() ?? null }));
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.schedules.values()) for (const job of s.jobs) job.stop();
    this.schedules.clear();
  }
}

const cronsOf = (config: object): string[] => ((config as { crons?: string[] }).crons ?? []);

/** The gateway part of the cron binding (see index.ts `gateway`). */
export function attachGateway(ctx: GatewayContext): CronTriggers {
  return new CronTriggers(ctx);
}
