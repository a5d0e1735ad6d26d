/** Percentiles over a sample, nearest-rank. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / Math.max(1, sorted.length);
  return { n: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), mean };
}

/** Lets pending setImmediate work (pool refills, timers) run before the next measured sample. */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export const us = (ms: number) => Math.round(ms * 1000);


/**
 * Cold starts of one artifact, in ms: each sample deploys a fresh name and times its first invoke.
 * The first `warmupSamples` are dropped (V8 tiers the engine up), and pool refills run between
 * samples, off the clock, as they would between requests.
 */
export async function sampleColdStarts<A, C, R>(
  rt: { deploy(name: string, version: number, artifact: A, config: C): unknown; undeploy(name: string): unknown; invoke(name: string, request: R): Promise<{ cold: boolean; response: { status: number } }> },
  opts: { artifact: A; config: C; request: R; samples: number; warmupSamples: number; poolSize: number; prefix: string },
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < opts.samples + opts.warmupSamples; i++) {
    const name = `${opts.prefix}-${i}`;
    rt.deploy(name, 1, opts.artifact, opts.config);
    const t0 = performance.now();
    const res = await rt.invoke(name, opts.request);
    const dt = performance.now() - t0;
    if (!res.cold || res.response.status !== 200) throw new Error('expected a successful cold start');
    if (i >= opts.warmupSamples) out.push(dt);
    rt.undeploy(name);
    await settle(opts.poolSize > 0 ? opts.poolSize * 4 : 2);
  }
  return out;
}
