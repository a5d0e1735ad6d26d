// `npm run bench:mcp [-- --workers 0,1 --calls 1000 --concurrency 1,8 --quick]`
//
// MCP run_code through the gateway's /mcp endpoint, with the SDK's own client over Streamable HTTP
// (one POST per tool call, as any MCP client sends them): calls per second and latency percentiles
// for a small snippet, from one client (sequential calls) and from several at once. Two snippets:
// the same one every time (its compiled artifact is reused: what an agent retrying or looping
// costs), and a different one every time (each call compiles). The gateway runs in a child process
// (this file with --serve), so the client's CPU is not the gateway's.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { summarize } from './stats.ts';

const TOKEN = 'bench-token';
const SNIPPET = 'const xs = [1, 2, 3, 4, 5].map((x) => x * x); console.log("squares", xs.length); return xs.reduce((a, b) => a + b, 0);';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** Child mode: one gateway until SIGTERM; prints READY <url>. */
async function serveChild(workers: number, dataDir: string): Promise<void> {
  const { startGateway } = await import('../gateway/server.ts');
  const { createLogger } = await import('../gateway/observability/logger.ts');
  const gw = await startGateway({
    port: 0,
    dataDir,
    adminToken: TOKEN,
    workers,
    logger: createLogger({ level: 'warn' }),
    // the client drives at most --concurrency calls at once; none should be shed
    mcp: { runCode: { concurrency: 64 } },
    scheduler: { queueTimeoutMs: 10_000 },
  });
  process.stdout.write(`READY ${gw.url}\n`);
  process.on('SIGTERM', () => void gw.close().then(() => process.exit(0)));
}

async function startChild(workers: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'faas-bench-mcp-'));
  const proc: ChildProcess = spawn(process.execPath, ['bin/run-ts.js', 'bench/mcp.ts', '--serve', String(workers), dataDir], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async () => {
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    rmSync(dataDir, { recursive: true, force: true });
  };
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('gateway did not start within 60 s')), 60_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /READY (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then(() => reject(new Error('gateway exited before it was ready')));
  });
  return { url, stop };
}

async function client(url: string): Promise<Client> {
  const c = new Client({ name: 'bench', version: '1.0.0' });
  await c.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
  return c;
}

interface Row {
  workers: number;
  snippet: 'same' | 'distinct';
  concurrency: number;
  calls: number;
  callsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

let distinct = 0;

/** `calls` run_code calls spread over `concurrency` clients, each calling in a loop. */
async function measure(url: string, workers: number, snippet: Row['snippet'], concurrency: number, calls: number): Promise<Row> {
  const clients = await Promise.all(Array.from({ length: concurrency }, () => client(url)));
  const latencies: number[] = [];
  let errors = 0;
  let left = calls;
  const started = performance.now();
  await Promise.all(
    clients.map(async (c) => {
      while (left-- > 0) {
        const code = snippet === 'same' ? SNIPPET : `${SNIPPET} // ${++distinct}`;
        const t0 = performance.now();
        const result = await c.callTool({ name: 'run_code', arguments: { code } });
        latencies.push(performance.now() - t0);
        if (result.isError) errors++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(clients.map((c) => c.close()));
  const s = summarize(latencies);
  return { workers, snippet, concurrency, calls, callsPerSecond: calls / seconds, p50: s.p50, p99: s.p99, errors };
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const calls = Number(flag('calls', quick ? '300' : '2000'));
  const workerModes = flag('workers', '0,1').split(',').map(Number);
  const concurrencies = flag('concurrency', '1,8').split(',').map(Number);
  const rows: Row[] = [];
  for (const workers of workerModes) {
    const gw = await startChild(workers);
    try {
      // warm-up: V8 tiers up the gateway, the client and the engine; the same snippet gets compiled once
      await measure(gw.url, workers, 'same', 4, Math.min(400, calls));
      for (const snippet of ['same', 'distinct'] as const) {
        for (const concurrency of concurrencies) {
          const n = snippet === 'distinct' ? Math.max(50, Math.round(calls / 4)) : calls;
          const row = await measure(gw.url, workers, snippet, concurrency, n);
          rows.push(row);
          process.stderr.write(`workers ${workers}, ${snippet} snippet, ${concurrency} client(s): ${row.callsPerSecond.toFixed(0)} calls/s, p50 ${row.p50.toFixed(2)} ms, p99 ${row.p99.toFixed(2)} ms\n`);
        }
      }
    } finally {
      await gw.stop();
    }
  }
  const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
  console.log(`\nrun_code through /mcp (${cpus().length} cores, ${cpus()[0]?.model ?? 'cpu'}; load average ${load} at the end)\n`);
  console.log('| guest threads | snippet | clients | calls | calls/s | p50 | p99 | errors |');
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.workers === 0 ? '0 (gateway thread)' : r.workers} | ${r.snippet} | ${r.concurrency} | ${r.calls} | ${r.callsPerSecond.toFixed(0)} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${r.errors} |`);
  }
}

if (process.argv[2] === '--serve') await serveChild(Number(process.argv[3]), process.argv[4]!);
else await main();
