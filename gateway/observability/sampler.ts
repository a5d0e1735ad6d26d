/**
 * The last hour of the gateway's own metrics, in memory, at a few seconds' resolution, for the
 * console's charts: per function, requests, errors by code, latency p50/p99, guest CPU time and guest
 * memory; for the gateway, requests, errors, shed requests, queue depth, in-flight invocations and
 * resident instances.
 *
 * Nothing is added to the request path: every few seconds the sampler reads what is counted anyway
 * (the Prometheus counters and histogram of metrics.ts, the usage meter's flushes for CPU time, the
 * runtime's and the scheduler's gauges) and stores the differences in fixed-size rings. Memory is
 * bounded: a ring per active function (`maxFunctions` at most; a function idle for the whole window
 * gives its ring back) and a small baseline per function the counters know.
 */
import type { Counter, Histogram } from 'prom-client';
import { FUNCTION_NAME } from '../../contract/config.ts';
import type { FunctionHost } from '../../runtime/index.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { UsageRow } from '../usage/meter.ts';
import type { GatewayMetrics } from './metrics.ts';
import { every } from '../../contract/timers.ts';

export interface SamplerOptions {
  /** Default 5 s. */
  intervalMs?: number;
  /** Samples kept (the window is points × intervalMs). Default 720: one hour at 5 s. */
  points?: number;
  /** Functions with a ring at once; more active functions than this are not charted. Default 512. */
  maxFunctions?: number;
}

export interface SamplerSources {
  metrics: GatewayMetrics;
  runtime: FunctionHost;
  scheduler: Scheduler;
}

/** One function's window, oldest first; `null` where there was nothing to measure (a percentile of no requests). */
export interface FunctionWindow {
  intervalMs: number;
  /** Sample times, ms since the epoch. */
  t: number[];
  requests: number[];
  errors: number[];
  /** Errors per error code. */
  errorsByCode: Record<string, number[]>;
  p50Ms: (number | null)[];
  p99Ms: (number | null)[];
  cpuMs: number[];
  memoryBytes: number[];
}

export interface FunctionSummary {
  invocations: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Requests per minute over the window, oldest first. */
  perMinute: number[];
}

export interface GatewayWindow {
  intervalMs: number;
  t: number[];
  requests: number[];
  errors: number[];
  shed: number[];
  queueDepth: number[];
  inflight: number[];
  instances: number[];
  /** Since the gateway started. */
  shedTotal: number;
  /** Functions active in the window that have no ring (over maxFunctions). */
  untracked: number;
}

/** Error codes one function's ring keeps separately; the rest are summed under "other". */
const MAX_CODES = 16;

interface Baseline {
  outcomes: Map<string, number>;
  buckets: Float64Array | undefined;
  cpuMs: number;
}

class Ring {
  readonly requests: Float32Array;
  readonly errors: Float32Array;
  readonly p50: Float32Array;
  readonly p99: Float32Array;
  readonly cpu: Float32Array;
  readonly memory: Float64Array;
  readonly codes = new Map<string, Float32Array>();
  /** Histogram bucket counts per minute of the window (for the window's percentiles). */
  minutes: Float64Array;
  lastActive: number;

  constructor(
    readonly points: number,
    readonly minuteSlots: number,
    buckets: number,
    tick: number,
  ) {
    this.requests = new Float32Array(points);
    this.errors = new Float32Array(points);
    this.p50 = new Float32Array(points).fill(NaN);
    this.p99 = new Float32Array(points).fill(NaN);
    this.cpu = new Float32Array(points);
    this.memory = new Float64Array(points);
    this.minutes = new Float64Array(minuteSlots * buckets);
    this.lastActive = tick;
  }

  code(code: string): Float32Array {
    let ring = this.codes.get(code);
    if (!ring) {
      const key = this.codes.size >= MAX_CODES && code !== 'other' ? 'other' : code;
      ring = this.codes.get(key);
      if (!ring) this.codes.set(key, (ring = new Float32Array(this.points)));
    }
    return ring;
  }
}

export class MetricsSampler {
  readonly intervalMs: number;
  readonly points: number;
  private readonly maxFunctions: number;
  private readonly ticksPerMinute: number;
  private readonly minuteSlots: number;
  private readonly rings = new Map<string, Ring>();
  private readonly baselines = new Map<string, Baseline>();
  private readonly cpuTotals = new Map<string, number>();
  private readonly times: Float64Array;
  private readonly gw;
  private bounds: number[] = [];
  private tick = -1;
  private shedTotal = 0;
  private untracked = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly sources: SamplerSources,
    options: SamplerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 5000;
    this.points = options.points ?? 720;
    this.maxFunctions = options.maxFunctions ?? 512;
    this.ticksPerMinute = Math.max(1, Math.round(60_000 / this.intervalMs));
    this.minuteSlots = Math.max(1, Math.ceil(this.points / this.ticksPerMinute));
    this.times = new Float64Array(this.points);
    const ring = () => new Float32Array(this.points);
    this.gw = { requests: ring(), errors: ring(), shed: ring(), queueDepth: ring(), inflight: ring(), instances: ring() };
  }

  start(): void {
    this.timer ??= every(this.intervalMs, async () => {
      if (this.busy) return;
      this.busy = true;
      try {
        await this.sample();
      } finally {
        this.busy = false;
      }
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Guest CPU time per function, from the usage meter's flushes (what it counted since the last one). */
  addUsage(rows: readonly UsageRow[]): void {
    for (const r of rows) if (r.cpuMs > 0) this.cpuTotals.set(r.function, (this.cpuTotals.get(r.function) ?? 0) + r.cpuMs);
  }

  /** Takes one sample now (the timer calls it; tests call it directly). */
  async sample(now = Date.now()): Promise<void> {
    const registry = this.sources.metrics.registry;
    const invocations = registry.getSingleMetric('faas_invocations_total') as Counter<string> | undefined;
    const duration = registry.getSingleMetric('faas_invocation_duration_seconds') as Histogram<string> | undefined;
    const outcomes = new Map<string, Map<string, number>>();
    for (const v of (await invocations?.get())?.values ?? []) {
      const fn = String(v.labels.function);
      let m = outcomes.get(fn);
      if (!m) outcomes.set(fn, (m = new Map()));
      m.set(String(v.labels.outcome), v.value);
    }
    const buckets = this.readBuckets((await duration?.get())?.values ?? []);
    await this.sources.runtime.refreshStats?.();
    const resident = new Map<string, { instances: number; heap: number }>();
    let instances = 0;
    for (const s of this.sources.runtime.stats()) {
      const r = resident.get(s.name) ?? { instances: 0, heap: 0 };
      r.instances += s.instances;
      r.heap += s.heapBytes;
      resident.set(s.name, r);
      instances += s.instances;
    }

    this.tick++;
    const slot = this.tick % this.points;
    const minute = Math.floor(this.tick / this.ticksPerMinute) % this.minuteSlots;
    const newMinute = this.tick % this.ticksPerMinute === 0;
    this.times[slot] = now;
    let requests = 0;
    let errors = 0;
    let shed = 0;
    let untracked = 0;
    const names = new Set([...outcomes.keys(), ...resident.keys(), ...this.rings.keys()]);
    for (const fn of names) {
      if (!FUNCTION_NAME.test(fn)) continue;
      const base = this.baselines.get(fn) ?? { outcomes: new Map(), buckets: undefined, cpuMs: 0 };
      this.baselines.set(fn, base);
      // what happened since the last sample
      let fnRequests = 0;
      let fnErrors = 0;
      const byCode: [string, number][] = [];
      for (const [outcome, total] of outcomes.get(fn) ?? []) {
        const d = total - (base.outcomes.get(outcome) ?? 0);
        base.outcomes.set(outcome, total);
        if (d <= 0) continue;
        fnRequests += d;
        if (outcome !== 'ok') {
          fnErrors += d;
          byCode.push([outcome, d]);
          if (outcome === 'overloaded') shed += d;
        }
      }
      const cum = buckets.get(fn);
      const delta = cum ? cum.map((v, i) => v - (base.buckets?.[i] ?? 0)) : undefined;
      if (cum) base.buckets = cum;
      const cpuTotal = this.cpuTotals.get(fn) ?? 0;
      const cpu = cpuTotal - base.cpuMs;
      base.cpuMs = cpuTotal;
      const res = resident.get(fn);
      requests += fnRequests;
      errors += fnErrors;

      let ring = this.rings.get(fn);
      const active = fnRequests > 0 || cpu > 0 || (res?.instances ?? 0) > 0;
      if (!ring) {
        if (!active) continue;
        if (this.rings.size >= this.maxFunctions) {
          untracked++;
          continue;
        }
        this.rings.set(fn, (ring = new Ring(this.points, this.minuteSlots, this.bounds.length, this.tick)));
      }
      if (active) ring.lastActive = this.tick;
      else if (this.tick - ring.lastActive >= this.points) {
        this.rings.delete(fn);
        continue;
      }
      ring.requests[slot] = fnRequests;
      ring.errors[slot] = fnErrors;
      for (const codes of ring.codes.values()) codes[slot] = 0;
      for (const [code, n] of byCode) ring.code(code)[slot] += n;
      ring.cpu[slot] = cpu;
      ring.memory[slot] = res?.heap ?? 0;
      ring.p50[slot] = delta ? quantile(this.bounds, delta, 0.5) : NaN;
      ring.p99[slot] = delta ? quantile(this.bounds, delta, 0.99) : NaN;
      const nb = this.bounds.length;
      if (ring.minutes.length !== this.minuteSlots * nb) ring.minutes = new Float64Array(this.minuteSlots * nb);
      if (newMinute) ring.minutes.fill(0, minute * nb, (minute + 1) * nb);
      if (delta) for (let i = 0; i < nb; i++) ring.minutes[minute * nb + i]! += delta[i]!;
    }
    this.shedTotal += shed;
    this.untracked = untracked;
    this.gw.requests[slot] = requests;
    this.gw.errors[slot] = errors;
    this.gw.shed[slot] = shed;
    this.gw.queueDepth[slot] = this.sources.scheduler.depth;
    this.gw.inflight[slot] = this.sources.scheduler.inflight;
    this.gw.instances[slot] = instances;
  }

  /** Names with a ring now. */
  tracked(): string[] {
    return [...this.rings.keys()];
  }

  functionWindow(fn: string): FunctionWindow {
    const ring = this.rings.get(fn);
    const order = this.order();
    const pick = (a: ArrayLike<number> | undefined) => order.map((i) => (a ? a[i]! : 0));
    const pickNullable = (a: ArrayLike<number> | undefined) => order.map((i) => (a && !Number.isNaN(a[i]!) ? round(a[i]!) : null));
    return {
      intervalMs: this.intervalMs,
      t: order.map((i) => this.times[i]!),
      requests: pick(ring?.requests),
      errors: pick(ring?.errors),
      errorsByCode: Object.fromEntries([...(ring?.codes ?? [])].map(([code, a]) => [code, pick(a)])),
      p50Ms: pickNullable(ring?.p50),
      p99Ms: pickNullable(ring?.p99),
      cpuMs: pick(ring?.cpu).map(round),
      memoryBytes: pick(ring?.memory),
    };
  }

  summary(fn: string): FunctionSummary {
    const ring = this.rings.get(fn);
    const order = this.order();
    const perMinute: number[] = [];
    let invocations = 0;
    let errors = 0;
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      const n = ring ? ring.requests[i]! : 0;
      invocations += n;
      errors += ring ? ring.errors[i]! : 0;
      const m = Math.floor(k / this.ticksPerMinute);
      perMinute[m] = (perMinute[m] ?? 0) + n;
    }
    let p50: number | null = null;
    let p99: number | null = null;
    const nb = this.bounds.length;
    if (ring && nb > 0) {
      const total = new Float64Array(nb);
      for (let m = 0; m < this.minuteSlots; m++) for (let i = 0; i < nb; i++) total[i]! += ring.minutes[m * nb + i] ?? 0;
      const a = quantile(this.bounds, total, 0.5);
      const b = quantile(this.bounds, total, 0.99);
      p50 = Number.isNaN(a) ? null : round(a);
      p99 = Number.isNaN(b) ? null : round(b);
    }
    return { invocations, errors, p50Ms: p50, p99Ms: p99, perMinute };
  }

  gatewayWindow(): GatewayWindow {
    const order = this.order();
    const pick = (a: Float32Array) => order.map((i) => a[i]!);
    return {
      intervalMs: this.intervalMs,
      t: order.map((i) => this.times[i]!),
      requests: pick(this.gw.requests),
      errors: pick(this.gw.errors),
      shed: pick(this.gw.shed),
      queueDepth: pick(this.gw.queueDepth),
      inflight: pick(this.gw.inflight),
      instances: pick(this.gw.instances),
      shedTotal: this.shedTotal,
      untracked: this.untracked,
    };
  }

  /** Ring indexes of the samples taken, oldest first. */
  private order(): number[] {
    const n = Math.min(this.tick + 1, this.points);
    const first = this.tick + 1 - n;
    return Array.from({ length: n }, (_, k) => (first + k) % this.points);
  }

  /** Cumulative bucket counts per function, in the order of `this.bounds` (upper bounds in seconds, +Inf last). */
  private readBuckets(values: readonly { value: number; labels: Record<string, string | number | undefined>; metricName?: string }[]): Map<string, Float64Array> {
    const perFn = new Map<string, Map<number, number>>();
    const bounds = new Set<number>();
    for (const v of values) {
      if (!v.metricName?.endsWith('_bucket')) continue;
      const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
      bounds.add(le);
      const fn = String(v.labels.function);
      let m = perFn.get(fn);
      if (!m) perFn.set(fn, (m = new Map()));
      m.set(le, v.value);
    }
    if (bounds.size > 0 && bounds.size !== this.bounds.length) this.bounds = [...bounds].sort((a, b) => a - b);
    const out = new Map<string, Float64Array>();
    for (const [fn, m] of perFn) out.set(fn, Float64Array.from(this.bounds, (b) => m.get(b) ?? 0));
    return out;
  }
}

/**
 * The q-quantile in ms of a histogram's cumulative bucket counts (upper bounds in seconds), by linear
 * interpolation inside the bucket it falls in, as Prometheus's histogram_quantile does; NaN for none.
 */
export function quantile(bounds: readonly number[], cumulative: ArrayLike<number>, q: number): number {
  const n = bounds.length;
  const total = n > 0 ? cumulative[n - 1]! : 0;
  if (!(total > 0)) return NaN;
  const target = q * total;
  for (let i = 0; i < n; i++) {
    const cum = cumulative[i]!;
    if (cum < target) continue;
    const upper = bounds[i]!;
    const lower = i === 0 ? 0 : bounds[i - 1]!;
    if (!Number.isFinite(upper)) return lower * 1000;
    const before = i === 0 ? 0 : cumulative[i - 1]!;
    const within = cum - before;
    return (lower + (upper - lower) * (within > 0 ? (target - before) / within : 1)) * 1000;
  }
  return bounds[n - 2] !== undefined ? bounds[n - 2]! * 1000 : NaN;
}

const round = (n: number) => Math.round(n * 100) / 100;
