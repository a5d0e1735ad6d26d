/**
 * Streams attacked: guests that produce without end, never read, never finish, hand out giant or
 * non-byte chunks, fail mid-stream, decompress bombs or open compression handles by the thousand,
 * and clients that read slowly, leave, or trickle a body. Every stream is bounded by the function's
 * limits (timeoutMs, memory, CPU) and the gateway's (body cap and timeout), and every test ends with
 * the gateway alive and a neighbour answering.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounded, startAttackGateway, type AttackGateway } from './harness.ts';
import { rawHttp } from './raw-http.ts';

let t: AttackGateway;

beforeAll(async () => {
  t = await startAttackGateway({ bodyTimeoutMs: 1500 });
});
afterAll(() => t?.close());

async function inflight(): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  return Number(/^faas_inflight_invocations (\d+)/m.exec(text)?.[1] ?? NaN);
}

async function settledToZero(): Promise<void> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    if ((await inflight()) === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`in-flight invocations did not return to 0 (${await inflight()})`);
}

/** GETs `path` and reads the body to its end or its cut: what arrived, and whether it ended cleanly. */
function readAll(path: string, timeoutMs = 20_000): Promise<{ status: number; bytes: number; complete: boolean; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = httpRequest(`${t.url}/fn/${path}`, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      const done = () => resolve({ status: res.statusCode!, bytes, complete: res.complete, ms: performance.now() - started });
      res.on('end', done);
      res.on('error', done);
      res.on('aborted', done);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('guests that stream without end', () => {
  it('a response stream that never ends is cut at timeoutMs and releases its slot', async () => {
    await t.deployOk(
      'endless',
      `export default { fetch() {
        return new Response(new ReadableStream({ pull(c) { c.enqueue(new Uint8Array(16 * 1024)); } }));
      } };`,
      { timeoutMs: 1000, cpuMs: 5000 },
    );
    const r = await bounded(15_000, 'endless stream', () => readAll('endless'));
    expect(r.status).toBe(200);
    expect(r.complete).toBe(false);
    expect(r.bytes).toBeGreaterThan(0);
    expect(r.ms).toBeLessThan(10_000);
    await settledToZero();
    await t.assertHealthy();
  });

  it('a response stream that never produces a byte (nor closes) is cut at timeoutMs', async () => {
    await t.deployOk('silent', `export default { fetch() { return new Response(new ReadableStream({ pull() { return new Promise(() => {}); } })); } };`, { timeoutMs: 800 });
    const r = await bounded(15_000, 'silent stream', () => readAll('silent'));
    expect(r.complete).toBe(false);
    expect(r.bytes).toBe(0);
    await settledToZero();
    await t.assertHealthy();
  });

  it('a guest that enqueues into its own stream without end hits its memory limit', async () => {
    await t.deployOk(
      'hoarder',
      `export default { fetch() {
        new ReadableStream({ start(c) { for (;;) c.enqueue(new Uint8Array(64 * 1024)); } });
        return new Response('unreachable');
      } };`,
      // CPU to spare (a slow engine on a busy machine loads the stream chunk slowly): memory is what stops it
      { cpuMs: 10_000, timeoutMs: 20_000 },
    );
    const res = await t.fn('hoarder', '', { signal: AbortSignal.timeout(20_000) });
    expect(res.status).toBe(503);
    expect((await res.json()).error).toBe('memory_limit_exceeded');
    await t.assertHealthy();
  });

  it('giant chunks reach the client in pieces; chunks that are not bytes and pulls that throw cut the response off', async () => {
    await t.deployOk(
      'giant',
      `export default { fetch() { return new Response(new ReadableStream({ start(c) { c.enqueue(new Uint8Array(6 * 1024 * 1024).fill(1)); c.close(); } })); } };`,
      { memoryMb: 32 },
    );
    const giant = await bounded(20_000, 'giant chunk', () => readAll('giant'));
    expect(giant).toMatchObject({ status: 200, bytes: 6 * 1024 * 1024, complete: true });
    for (const [name, pull] of [
      ['strings', `c.enqueue('not bytes')`],
      ['objects', `c.enqueue({ length: 1e9, byteLength: 1e9 })`],
      ['thrower', `if (n > 0) throw new Error('pull failed'); c.enqueue(new Uint8Array(10))`],
    ]) {
      await t.deployOk(name, `let n = 0; export default { fetch() { return new Response(new ReadableStream({ pull(c) { ${pull}; n++; } })); } };`);
      const r = await bounded(15_000, name, () => readAll(name));
      expect(r.complete, name).toBe(false);
    }
    await settledToZero();
    await t.assertHealthy();
  });
});

describe('request bodies the guest does not read, and clients that misbehave', () => {
  it('a guest that never reads a large streamed body answers anyway; one that waits forever is stopped at timeoutMs', async () => {
    await t.deployOk('ignores-body', `export default { fetch() { return new Response('ignored'); } };`);
    await t.deployOk('waits', `export default { async fetch() { await new Promise(() => {}); } };`, { timeoutMs: 800 });
    const big = new Uint8Array(900 * 1024);
    const ignored = await t.fn('ignores-body', '', { method: 'POST', body: big, signal: AbortSignal.timeout(20_000) });
    expect(ignored.status).toBe(200);
    expect(await ignored.text()).toBe('ignored');
    const waited = await t.fn('waits', '', { method: 'POST', body: big, signal: AbortSignal.timeout(20_000) }).catch((e: Error) => e);
    if (waited instanceof Response) expect(waited.status).toBe(504);
    await settledToZero();
    await t.assertHealthy();
  });

  it('a body trickled slower than the body timeout fails the reading guest with 408', async () => {
    await t.deployOk('reads-body', `export default { async fetch(request) { return new Response(String((await request.arrayBuffer()).byteLength)); } };`);
    const x = await rawHttp(
      t.url,
      [
        'POST /fn/reads-body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
        '4\r\nabcd\r\n',
        { data: '4\r\nefgh\r\n', delayMs: 1000 },
        { data: '4\r\nijkl\r\n', delayMs: 1000 },
        { data: '0\r\n\r\n', delayMs: 1000 },
      ],
      { timeoutMs: 8000 },
    );
    expect(x.statuses).toContain(408);
    expect(x.closed).toBe(true);
    await settledToZero();
    await t.assertHealthy();
  });

  it('a client that reads slowly holds the stream back: the gateway does not buffer what the guest could produce', async () => {
    await t.deployOk(
      'firehose',
      `export default { fetch() {
        let sent = 0;
        return new Response(new ReadableStream({ pull(c) { if (sent >= 200 * 1024 * 1024) return c.close(); sent += 64 * 1024; c.enqueue(new Uint8Array(64 * 1024)); } }));
      } };`,
      { timeoutMs: 20_000, cpuMs: 20_000 },
    );
    const before = process.memoryUsage().rss;
    let peak = before;
    const received = await bounded(20_000, 'slow client', () =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${t.url}/fn/firehose`, (res) => {
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            peak = Math.max(peak, process.memoryUsage().rss);
            // reads a little, then waits: the socket buffers fill and the gateway must stop pulling
            res.pause();
            setTimeout(() => res.resume(), 20);
          });
          setTimeout(() => {
            req.destroy();
            resolve(bytes);
          }, 1500);
        });
        req.on('error', (e) => (e.message === 'socket hang up' ? undefined : reject(e)));
        req.end();
      }),
    );
    // 200 MB were on offer; a slow reader got a sliver, and nothing like the rest was held for it
    expect(received).toBeLessThan(100 * 1024 * 1024);
    expect((peak - before) / (1024 * 1024)).toBeLessThan(100);
    await settledToZero();
    await t.assertHealthy();
  });
});

describe('compression', () => {
  it('a decompression bomb comes out piece by piece: read and dropped it is bounded by CPU, buffered it hits the memory limit', async () => {
    const bomb = gzipSync(Buffer.alloc(48 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(128 * 1024);
    await t.deployOk(
      'bomb-count',
      `export default { async fetch(request) {
        let bytes = 0, chunks = 0, largest = 0;
        for await (const c of request.body.pipeThrough(new DecompressionStream('gzip'))) { bytes += c.byteLength; chunks++; largest = Math.max(largest, c.byteLength); }
        return Response.json({ bytes, chunks, largest });
      } };`,
      { cpuMs: 10_000, timeoutMs: 20_000 },
    );
    await t.deployOk('bomb-hold', `export default { async fetch(request) { return new Response(String((await new Response(request.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer()).byteLength)); } };`);
    const counted = await t.fn('bomb-count', '', { method: 'POST', body: bomb, signal: AbortSignal.timeout(30_000) });
    expect(counted.status, await counted.clone().text()).toBe(200);
    const seen = (await counted.json()) as { bytes: number; chunks: number; largest: number };
    expect(seen.bytes).toBe(48 * 1024 * 1024);
    expect(seen.largest).toBeLessThanOrEqual(16 * 1024);
    const held = await t.fn('bomb-hold', '', { method: 'POST', body: bomb, signal: AbortSignal.timeout(30_000) });
    expect(held.status).toBe(503);
    expect((await held.json()).error).toBe('memory_limit_exceeded');
    await t.assertHealthy();
  });

  it('thousands of compression streams: each request holds at most 16 handles, freed when it ends', async () => {
    await t.deployOk(
      'handles',
      `const kept = [];
      export default { fetch() {
        let opened = 0, refused = '';
        for (let i = 0; i < 5000; i++) {
          try { kept.push(new CompressionStream('deflate')); opened++; } catch (e) { refused = e.constructor.name + ': ' + e.message; break; }
        }
        return Response.json({ opened, refused });
      } };`,
    );
    for (let round = 0; round < 3; round++) {
      const res = await t.fn('handles', '', { signal: AbortSignal.timeout(20_000) });
      expect(res.status).toBe(200);
      // each request gets its own 16: the previous request's handles went with it
      expect(await res.json()).toEqual({ opened: 16, refused: expect.stringMatching(/^RangeError: too many compression streams open in one request/) });
    }
    await t.assertHealthy();
  });
});

describe('fetch bodies a guest stalls on or stops reading', () => {
  /** Per tag: bytes the upstream wrote, and whether its connection closed before it was done. */
  const sent = new Map<string, number>();
  const cut = new Set<string>();
  let upstream: Server;
  let base: string;

  beforeAll(async () => {
    const chunk = Buffer.alloc(64 * 1024, 120);
    upstream = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const tag = url.searchParams.get('tag') ?? '';
      // /stall declares 1 MiB and sends one chunk of it
      const total = url.pathname === '/stall' ? 1024 * 1024 : Number(url.searchParams.get('bytes') ?? 0);
      sent.set(tag, 0);
      res.on('error', () => {});
      res.on('close', () => {
        if (!res.writableFinished) cut.add(tag);
      });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
      if (url.pathname === '/stall') return void res.write(chunk, () => sent.set(tag, chunk.length));
      const pump = () => {
        while (sent.get(tag)! < total && !res.destroyed) {
          sent.set(tag, sent.get(tag)! + chunk.length);
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
    const config = { allowedHosts: [`127.0.0.1:${port}`], env: { BASE: base } };
    await t.deployOk(
      'stops-reading',
      `export default { async fetch(request, env) {
        const res = await fetch(env.BASE + '/big' + new URL(request.url).search);
        const reader = res.body.getReader();
        const first = await reader.read();
        // reads no more: holds the body for a while, then answers without it
        await new Promise((r) => setTimeout(r, 1000));
        return new Response(String(first.value.byteLength));
      } };`,
      { ...config, timeoutMs: 10_000 },
    );
    await t.deployOk('pipes-stall', `export default { async fetch(request, env) { return new Response((await fetch(env.BASE + '/stall' + new URL(request.url).search)).body); } };`, { ...config, timeoutMs: 1000 });
    await t.deployOk('buffers-stall', `export default { async fetch(request, env) { return new Response(await (await fetch(env.BASE + '/stall' + new URL(request.url).search)).text()); } };`, { ...config, timeoutMs: 1000 });
  });
  afterAll(() => new Promise((r) => upstream?.close(r)));

  async function until(what: string, check: () => boolean): Promise<void> {
    const end = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > end) throw new Error(`${what}: not within 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('a guest that stops reading a 200 MB fetch body stops the upstream, and the upstream is released when it answers', async () => {
    const total = 200 * 1024 * 1024;
    const res = await t.fn('stops-reading', `?bytes=${total}&tag=stop`, { signal: AbortSignal.timeout(20_000) });
    expect(res.status).toBe(200);
    expect(Number(await res.text())).toBeGreaterThan(0);
    console.log(`a guest that stopped reading: the upstream wrote ${(sent.get('stop')! / 1048576).toFixed(1)} MB of 200 MB`);
    // TCP flow control held the upstream back: what it wrote is the socket buffers' worth, not the body
    expect(sent.get('stop')!).toBeLessThan(32 * 1024 * 1024);
    await until('the upstream saw its connection close', () => cut.has('stop'));
    await settledToZero();
    await t.assertHealthy();
  });

  it('an upstream that stalls mid-body: piped, the response is cut at timeoutMs; buffered, the function fails with 504; the upstream is released either way', async () => {
    const piped = await bounded(15_000, 'piped stall', () => readAll('pipes-stall?tag=piped'));
    expect(piped).toMatchObject({ status: 200, complete: false });
    expect(piped.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(piped.ms).toBeLessThan(10_000);
    const buffered = await t.fn('buffers-stall', '?tag=buffered', { signal: AbortSignal.timeout(15_000) });
    expect(buffered.status).toBe(504);
    expect((await buffered.json()).error).toBe('timeout');
    await until('both upstream connections closed', () => cut.has('piped') && cut.has('buffered'));
    await settledToZero();
    await t.assertHealthy();
  });
});
