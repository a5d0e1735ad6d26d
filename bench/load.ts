// The load generator, run as a child process so that it does not share the server's event loop (and
// CPU core): `node bin/run-ts.js bench/load.ts '<json LoadSpec>'` prints one JSON LoadResult line.
// Loopback only: the URL must be on 127.0.0.0/8 or localhost; every run is bounded in time or count.
import autocannon from 'autocannon';
import { percentile } from './stats.ts';

export interface LoadSpec {
  url: string;
  /** Fixed path (warm) … */
  path?: string;
  /** GET when absent; with a body (as text) and its headers for a POST workload. */
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** … or `${pathPrefix}${i}` for i = 0, 1, 2 … (every request hits a different function). */
  pathPrefix?: string;
  connections: number;
  /** Seconds of load that is thrown away first. */
  warmupSeconds?: number;
  durationSeconds?: number;
  /** Stop after this many requests instead of after a duration. */
  amount?: number;
}

export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU seconds this load generator process used, warm-up included. */
  cpuSeconds: number;
}

function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== 'localhost' && host !== '[::1]') throw new Error(`refusing to load a non-loopback address: ${host}`);
}

async function run(spec: LoadSpec, seconds: number | undefined): Promise<LoadResult> {
  let next = 0;
  // autocannon's own latency histogram has 1 ms resolution: keep every response time (ms, float).
  const latencies: number[] = [];
  // autocannon reports its duration in whole ticks of a second: time the run ourselves, from the start
  // to the last response.
  const t0 = performance.now();
  let last = t0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        pipelining: 1,
        ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: seconds ?? 1 }),
        timeout: 10,
        requests: [
          spec.pathPrefix !== undefined
            ? { method: 'GET', setupRequest: (req: Record<string, unknown>) => ({ ...req, path: `${spec.pathPrefix}${next++}` }) }
            : { method: spec.method ?? 'GET', path: spec.path ?? '/', headers: spec.headers, body: spec.body },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      last = performance.now();
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
  latencies.sort((a, b) => a - b);
  const requests = result.requests.total;
  const durationS = (last - t0) / 1000;
  return {
    requests,
    durationS,
    rps: requests / durationS,
    latencyMs: {
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1] ?? NaN,
      mean: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
    },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    cpuSeconds: cpuSecondsNow(),
  };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
assertLoopback(spec.url);
if (spec.warmupSeconds) await run({ ...spec, amount: undefined, pathPrefix: undefined }, spec.warmupSeconds);
const out = await run(spec, spec.durationSeconds);
process.stdout.write(`${JSON.stringify(out)}\n`);

function cpuSecondsNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
