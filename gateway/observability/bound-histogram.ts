import type { Metric } from 'prom-client';

/** One label value's histogram: plain numbers, so an observation is a bucket scan and three additions. */
export class HistogramSeries {
  /** Per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly upperBounds: readonly number[]) {
    this.counts = new Float64Array(upperBounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A Prometheus histogram with one label whose series are bound to their label value once
 * (`series(value)`), so the request path skips prom-client's per-observation label validation and
 * hashing. It registers into a prom-client Registry as a metric family and renders like one.
 */
export class BoundHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bySeries = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly label: string,
    private readonly upperBounds: readonly number[],
  ) {}

  series(value: string): HistogramSeries {
    let s = this.bySeries.get(value);
    if (!s) this.bySeries.set(value, (s = new HistogramSeries(this.upperBounds)));
    return s;
  }

  /** What prom-client's Registry reads (the shape of its own histograms' `get()`). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: { labels: Record<string, string | number>; value: number; metricName: string }[] }> {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const [labelValue, s] of this.bySeries) {
      let acc = 0;
      this.upperBounds.forEach((le, i) => {
        acc += s.counts[i]!;
        values.push({ labels: { le, [this.label]: labelValue }, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', [this.label]: labelValue }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { [this.label]: labelValue }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { [this.label]: labelValue }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** As a prom-client metric, for `registry.registerMetric`. */
  asMetric(): Metric {
    return this as unknown as Metric;
  }
}
