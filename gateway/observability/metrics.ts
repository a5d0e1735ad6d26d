import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { FETCH_OUTCOMES, type EgressCounters } from '../../runtime/index.ts';
import type { FunctionHost } from '../../runtime/index.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import { BoundHistogram, type HistogramSeries } from './bound-histogram.ts';
import type { UsageFigures, UsageMeter } from '../usage/meter.ts';
import { functionLabel } from '../mcp/ephemeral.ts';
import type { MetricJson } from '../processes/messages.ts';

/** Error codes that mean the guest hit one of its limits, and the `kind` label they count under. */
const LIMIT_KINDS: Record<string, string> = {
  cpu_limit_exceeded: 'cpu',
  memory_limit_exceeded: 'memory',
  stack_overflow: 'stack',
  timeout: 'timeout',
};

/**
 * The gateway's Prometheus metrics, on a registry of its own so several gateways can live in one
 * process (tests) without clashing. Instance and memory gauges are read from the runtime at scrape
 * (a worker pool is asked for fresh numbers first, so they are summed over every thread).
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly invocations;
  private readonly duration;
  private readonly coldStarts;
  private readonly queueWait;
  private readonly limitViolations;
  private readonly deploys;
  private readonly scheduledRuns;

  constructor(
    private readonly sources: {
      runtime: FunctionHost;
      scheduler: Scheduler;
      egress?: EgressCounters;
      usage?: UsageMeter;
      deployed?: () => number;
      /** One of the processes of `faas serve --processes`: its pid is a series of its own. */
      processGroup?: boolean;
      /** Functions-directory entries the background check has not reached yet. */
      dirPending?: () => number;
    },
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // The per-request series (ok invocations, their duration, cold starts) are counted per function in
    // plain numbers (see `invocation`) and handed to prom-client at scrape.
    const hot = this.hot;
    this.invocations = new Counter({
      name: 'faas_invocations_total',
      help: 'Function invocations by outcome (ok or the error code)',
      labelNames: ['function', 'outcome'] as const,
      registers,
      collect() {
        for (const [fn, h] of hot) {
          if (h.ok > h.okReported) this.inc({ function: fn, outcome: 'ok' }, h.ok - h.okReported);
          h.okReported = h.ok;
        }
      },
    });
    this.duration = new BoundHistogram(
      'faas_invocation_duration_seconds',
      'Time from getting a slot to the response (cold start plus execution)',
      'function',
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    );
    this.registry.registerMetric(this.duration.asMetric());
    this.coldStarts = new Counter({
      name: 'faas_cold_starts_total',
      help: 'Invocations that had to start a new instance',
      labelNames: ['function'] as const,
      registers,
      collect() {
        for (const [fn, h] of hot) {
          if (h.cold > h.coldReported) this.inc({ function: fn }, h.cold - h.coldReported);
          h.coldReported = h.cold;
        }
      },
    });
    new Gauge({
      name: 'faas_queue_depth',
      help: 'Requests waiting for a slot',
      registers,
      collect() {
        this.set(sources.scheduler.depth);
      },
    });
    new Gauge({
      name: 'faas_inflight_invocations',
      help: 'Invocations holding a slot (including those running ctx.waitUntil work after their response)',
      registers,
      collect() {
        this.set(sources.scheduler.inflight);
      },
    });
    new Gauge({
      name: 'faas_background_invocations',
      help: 'Invocations that answered and still hold their slot for ctx.waitUntil work',
      registers,
      collect() {
        this.set(sources.scheduler.background);
      },
    });
    this.queueWait = new Histogram({
      name: 'faas_queue_wait_seconds',
      help: 'Time requests waited for a slot (0 when one was free)',
      buckets: [0, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    const perFunction = (pick: (s: ReturnType<FunctionHost['stats']>[number]) => number) =>
      function (this: Gauge<'function'>) {
        this.reset();
        const totals = new Map<string, number>();
        // Old versions still finishing requests show up as their own entries; count them too.
        // MCP run_code's one-call functions count under one label, not one each.
        for (const s of sources.runtime.stats()) totals.set(functionLabel(s.name), (totals.get(functionLabel(s.name)) ?? 0) + pick(s));
        for (const [fn, v] of totals) this.set({ function: fn }, v);
      };
    // Density: what is deployed (the registry), what of it is in memory, and what the budgets evicted.
    const counts = () => sources.runtime.counts();
    new Gauge({
      name: 'faas_functions_deployed',
      help: 'Functions deployed (live in the registry), loaded or not',
      // every process of --processes reads the same registry: the same number, not one per process
      aggregator: 'max',
      registers,
      collect() {
        this.set(sources.deployed?.() ?? counts().deployed);
      },
    });
    new Gauge({
      name: 'faas_functions_dir_pending',
      help: 'Functions-directory entries the background sync after start has not checked yet (0 once it finished)',
      registers,
      collect() {
        this.set(sources.dirPending?.() ?? 0);
      },
    });
    new Gauge({
      name: 'faas_functions_loaded',
      help: 'Function versions whose artifact is in memory (read, verified and ready to start instances)',
      registers,
      collect() {
        this.set(counts().loaded);
      },
    });
    new Gauge({
      name: 'faas_artifact_cache_bytes',
      help: 'Bytecode bytes of the artifacts in memory (bounded by artifactCacheMb)',
      registers,
      collect() {
        this.set(counts().loadedBytes);
      },
    });
    new Gauge({
      name: 'faas_instances_resident',
      help: 'Resident instances, all functions together',
      registers,
      collect() {
        this.set(counts().resident);
      },
    });
    new Counter({
      name: 'faas_instance_evictions_total',
      help: 'Instances evicted by the memory budget or the idle TTL',
      registers,
      collect() {
        this.reset();
        this.inc(counts().instanceEvictions);
      },
    });
    new Counter({
      name: 'faas_artifact_evictions_total',
      help: 'Artifacts dropped from memory by the artifact cache budget, the memory budget or idleness',
      registers,
      collect() {
        this.reset();
        this.inc(counts().artifactEvictions);
      },
    });
    new Gauge({
      name: 'faas_snapshot_bytes',
      help: 'Bytes of the instance snapshots kept (isolation "instance", bounded by --snapshot-cache-mb)',
      registers,
      collect() {
        this.set(counts().snapshotBytes ?? 0);
      },
    });
    new Counter({
      name: 'faas_snapshot_restores_total',
      help: 'Instances started from a snapshot of their version instead of loading its module',
      registers,
      collect() {
        this.reset();
        this.inc(counts().restoredStarts ?? 0);
      },
    });
    new Gauge({
      name: 'faas_instances',
      help: 'Resident instances per function',
      labelNames: ['function'] as const,
      registers,
      collect: perFunction((s) => s.instances),
    });
    new Gauge({
      name: 'faas_guest_memory_bytes',
      help: 'Guest heap bytes of resident instances per function',
      labelNames: ['function'] as const,
      registers,
      collect: perFunction((s) => s.heapBytes),
    });
    // Per worker thread (absent when guests run on the gateway thread). The label is the thread's
    // slot, which a replacement thread keeps.
    const threads = () => sources.runtime.threads?.() ?? [];
    new Gauge({
      name: 'faas_worker_inflight',
      help: 'Invocations sent to a worker thread that have not answered yet',
      labelNames: ['worker'] as const,
      registers,
      collect() {
        this.reset();
        for (const t of threads()) this.set({ worker: String(t.worker) }, t.inflight);
      },
    });
    new Counter({
      name: 'faas_worker_invocations_total',
      help: 'Invocations sent to each worker thread',
      labelNames: ['worker'] as const,
      registers,
      collect() {
        this.reset();
        for (const t of threads()) this.inc({ worker: String(t.worker) }, t.invocations);
      },
    });
    new Gauge({
      name: 'faas_worker_warm_functions',
      help: 'Function versions with a resident instance on each worker thread (what affinity prefers)',
      labelNames: ['worker'] as const,
      registers,
      collect() {
        this.reset();
        for (const t of threads()) this.set({ worker: String(t.worker) }, t.warm);
      },
    });
    new Counter({
      name: 'faas_worker_restarts_total',
      help: 'Worker threads that died and were replaced',
      registers,
      collect() {
        this.reset();
        this.inc(sources.runtime.restarts ?? 0);
      },
    });
    new Counter({
      name: 'faas_egress_requests_total',
      help: 'Guest fetches by outcome: ok, failed (network error or timeout), or why the host refused them',
      labelNames: ['outcome'] as const,
      registers,
      collect() {
        this.reset();
        const counts = sources.egress?.snapshot();
        if (counts) for (const outcome of FETCH_OUTCOMES) this.inc({ outcome }, counts[outcome]);
      },
    });
    this.limitViolations = new Counter({
      name: 'faas_limit_violations_total',
      help: 'Invocations stopped by a limit (cpu, memory, stack, timeout)',
      labelNames: ['function', 'kind'] as const,
      registers,
    });
    this.deploys = new Counter({
      name: 'faas_deploys_total',
      help: 'Deploy attempts by outcome (ok or the error code)',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.scheduledRuns = new Counter({
      name: 'faas_scheduled_runs_total',
      help: 'Cron-triggered scheduled() runs by function and outcome (ok or the error code)',
      labelNames: ['function', 'outcome'] as const,
      registers,
    });
    this.rateLimitedTotal = new Counter({
      name: 'faas_rate_limited_total',
      help: 'Requests refused with 429 rate_limited, by function, tenant and the limit that refused them (function or tenant)',
      labelNames: ['function', 'tenant', 'scope'] as const,
      registers,
    });
    // What the usage meter counted since this process started, per tenant (the database keeps it per hour).
    const usage = (field: keyof UsageFigures, scale = 1) =>
      function (this: Counter<'tenant'>) {
        this.reset();
        for (const [tenant, f] of sources.usage?.sinceStart ?? []) this.inc({ tenant }, f[field] * scale);
      };
    const usageCounters: [string, string, keyof UsageFigures, number][] = [
      ['faas_tenant_invocations_total', 'Function invocations per tenant', 'invocations', 1],
      ['faas_tenant_errors_total', 'Function invocations per tenant that ended in an error', 'errors', 1],
      ['faas_tenant_cpu_seconds_total', 'Guest CPU time per tenant', 'cpuMs', 1 / 1000],
      ['faas_tenant_wall_seconds_total', 'Wall time of function requests per tenant', 'wallMs', 1 / 1000],
      ['faas_tenant_egress_bytes_total', 'Bytes of guest fetch bodies sent and received per tenant', 'egressBytes', 1],
      ['faas_tenant_kv_operations_total', 'KV operations per tenant', 'kvOps', 1],
    ];
    for (const [name, help, field, scale] of usageCounters) {
      new Counter({ name, help, labelNames: ['tenant'] as const, registers, collect: usage(field, scale) });
    }
    if (sources.processGroup) {
      new Gauge({ name: 'faas_process_info', help: 'One series per gateway process of faas serve --processes (labels: its slot and pid)', labelNames: ['pid'] as const, registers }).set(
        { pid: String(process.pid) },
        1,
      );
    }
    this.logsDropped = new Counter({
      name: 'faas_guest_log_records_dropped_total',
      help: 'Guest console records dropped by the per-invocation and per-function log caps',
      labelNames: ['function'] as const,
      registers,
    });
  }

  private readonly logsDropped: Counter<'function'>;
  private readonly rateLimitedTotal: Counter<'function' | 'tenant' | 'scope'>;

  rateLimited(fn: string, tenant: string, scope: string): void {
    this.rateLimitedTotal.inc({ function: fn, tenant, scope });
  }

  guestLogsDropped(fn: string, records: number): void {
    this.logsDropped.inc({ function: functionLabel(fn) }, records);
  }

  scheduled(fn: string, outcome: string, seconds: number): void {
    this.scheduledRuns.inc({ function: fn, outcome });
    this.hotOf(fn).duration.observe(seconds);
    const kind = LIMIT_KINDS[outcome];
    if (kind) this.limitViolations.inc({ function: fn, kind });
  }

  /** Per function, bound once: its ok and cold-start counts (reported to prom-client at scrape) and its duration series. */
  private readonly hot = new Map<string, { ok: number; okReported: number; cold: number; coldReported: number; duration: HistogramSeries }>();

  private hotOf(fn: string) {
    let h = this.hot.get(fn);
    if (!h) this.hot.set(fn, (h = { ok: 0, okReported: 0, cold: 0, coldReported: 0, duration: this.duration.series(fn) }));
    return h;
  }

  invocation(fn: string, outcome: string, result?: { seconds: number; cold: boolean }): void {
    if (outcome === 'ok' && result) {
      // The common case: no label objects, no hashing, no validation.
      const h = this.hotOf(fn);
      h.ok++;
      h.duration.observe(result.seconds);
      if (result.cold) h.cold++;
      return;
    }
    this.invocations.inc({ function: fn, outcome });
    if (result) {
      const h = this.hotOf(fn);
      h.duration.observe(result.seconds);
      if (result.cold) h.cold++;
    }
    const kind = LIMIT_KINDS[outcome];
    if (kind) this.limitViolations.inc({ function: fn, kind });
  }

  queued(seconds: number): void {
    this.queueWait.observe(seconds);
  }

  deploy(outcome: string): void {
    this.deploys.inc({ outcome });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** With --processes: the whole group's metrics (set by the gateway; see gateway/processes/member.ts). */
  scrape: (() => Promise<{ text: string; contentType: string }>) | undefined;

  /** The Prometheus text of /metrics, and its content type. */
  async exposition(): Promise<{ text: string; contentType: string }> {
    if (this.scrape) return this.scrape();
    return { text: await this.text(), contentType: this.contentType };
  }

  async text(): Promise<string> {
    await this.sources.runtime.refreshStats?.();
    return this.registry.metrics();
  }

  /** This process's metrics as prom-client's JSON (what another process merges into its /metrics). */
  async json(): Promise<MetricJson[]> {
    await this.sources.runtime.refreshStats?.();
    return (await this.registry.getMetricsAsJSON()) as unknown as MetricJson[];
  }
}
