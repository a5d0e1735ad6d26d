// `node --expose-gc bin/run-ts.js bench/egress-rss.ts [--concurrency 50] [--mb 10] [--memory-mb 1] [--workers 0] [--length yes|no]`
//
// Host memory under guest fetch: `--concurrency` invocations of a function with `--memory-mb` of guest
// memory each fetch a `--mb` MB response at once from a loopback upstream (in a child process, so its
// buffers are not counted), and read it. Prints the gateway's RSS before, at its peak (sampled every
// 5 ms) and after, and what the invocations answered. `--length no` sends the body chunked, without
// Content-Length, so the cap must be enforced as bytes arrive.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway } from '../gateway/server.ts';
import { createLogger } from '../gateway/observability/logger.ts';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const concurrency = Number(flag('concurrency', '50'));
const mb = Number(flag('mb', '10'));
const memoryMb = Number(flag('memory-mb', '1'));
const workers = Number(flag('workers', '0'));
const withLength = flag('length', 'yes') !== 'no';

const UPSTREAM = `
const http = require('node:http');
const body = Buffer.alloc(${mb} * 1024 * 1024, 120);
const server = http.createServer((req, res) => {
  if (${withLength}) res.setHeader('content-length', body.length);
  // Chunks of 64 KiB, so without Content-Length the body arrives as it would from a real upstream.
  let off = 0;
  const pump = () => {
    while (off < body.length) {
      const ok = res.write(body.subarray(off, off + 65536));
      off += 65536;
      if (!ok) return res.once('drain', pump);
    }
    res.end();
  };
  res.on('error', () => {});
  pump();
});
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

const SOURCE = (url: string) => `export default {
  async fetch() {
    try {
      const res = await fetch(${JSON.stringify(url)});
      const body = await res.arrayBuffer();
      return new Response('read ' + body.byteLength);
    } catch (e) {
      return new Response(e.name + ': ' + e.message, { status: 502 });
    }
  },
};`;

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

const upstream = spawn(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<number>((resolve, reject) => {
  upstream.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
  upstream.once('exit', (code) => reject(new Error(`upstream exited (${code})`)));
});
const dataDir = mkdtempSync(join(tmpdir(), 'faas-egress-rss-'));
const gw = await startGateway({ port: 0, dataDir, workers, adminToken: 'bench', logger: createLogger({ level: 'error' }) });
try {
  const put = await fetch(`${gw.url}/admin/functions/pull`, {
    method: 'PUT',
    headers: { authorization: 'Bearer bench', 'content-type': 'application/json' },
    body: JSON.stringify({ source: SOURCE(`http://127.0.0.1:${port}/big`), filename: 'pull.ts', config: { memoryMb, allowedHosts: [`127.0.0.1:${port}`] } }),
  });
  if (put.status !== 201) throw new Error(`deploy failed: ${put.status} ${await put.text()}`);
  // One request warms the function up, then every invocation at once.
  const round = (n: number) =>
    Promise.all(
      Array.from({ length: n }, async () => {
        const res = await fetch(`${gw.url}/fn/pull`, { signal: AbortSignal.timeout(60_000) });
        return `${res.status} ${(await res.text()).slice(0, 160)}`;
      }),
    );
  await round(1);
  gc();
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const started = performance.now();
  const answers = await round(concurrency);
  const ms = performance.now() - started;
  clearInterval(sampler);
  gc();
  const after = process.memoryUsage().rss;
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
  console.log(`${concurrency} concurrent ${mb} MB responses (${withLength ? 'with' : 'without'} Content-Length) to ${memoryMb} MiB guests, workers ${workers}`);
  console.log(`gateway RSS: before ${mib(before)}, peak ${mib(peak)} (+${mib(peak - before)}), after ${mib(after)}; round ${ms.toFixed(0)} ms`);
  for (const [a, n] of counts) console.log(`  ${n} × ${a}`);
} finally {
  await gw.close();
  upstream.kill();
  rmSync(dataDir, { recursive: true, force: true });
}
