/**
 * Fuzz of the host bridge itself: a function gets a guest function wired to the very same host-call
 * path the prelude's host function uses (the sandbox's onHostCall, reached through its internals:
 * user code never gets it), then calls every declared host operation, and names that are not, with
 * random argument shapes: wrong types, huge, cyclic, sparse, proxies, getters that throw. No host
 * exception may escape, the host's RSS stays bounded, and the runtime keeps serving.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvStore } from '../../bindings/kv/store.ts';
import { kvOps } from '../../bindings/kv/ops.ts';
import { HOST_OPS } from '../../runtime/host/op-table.ts';
import { Runtime, fetchOp } from '../../runtime/index.ts';
import { compileEntry } from '../../compiler/index.ts';
import { verifyArtifact } from '../../contract/artifact.ts';
import { parseFunctionConfig } from '../../contract/config.ts';
import { armHostCalls, engineUnderTest, signingKey } from '../helpers/sandbox.ts';

const FUZZ_SOURCE = `
const OPS = ${JSON.stringify([...Object.keys(HOST_OPS), 'loadChunk', 'constructor', '__proto__', 'toString', 'hasOwnProperty', '', 'x'.repeat(100)])};
const SPECS = ${JSON.stringify(HOST_OPS)};
const JSONS = ['{}', '[]', 'null', '1', '"s"', '{"prefix":1,"limit":-5,"cursor":{}}', '{"expirationTtl":-1,"metadata":{"a":[1,2,3]}}', '{"expiration":1e300}',
  '{"method":"GET","url":"http://127.0.0.1:9/","headers":[["x","y"]],"redirect":"follow"}', '{"method":"CONNECT","url":"file:///etc/passwd","headers":{},"redirect":"x"}',
  '{"method":"GET","url":"http://[::1]:80/","headers":[[1,2,3]],"redirect":"manual"}', '{"__proto__":{"polluted":1}}', '{"url":' + '['.repeat(5000) + ']'.repeat(5000) + '}'];
const cyclic = {}; cyclic.self = cyclic;
const sparse = []; sparse.length = 1e7;
const shapes = [
  undefined, null, true, false, 0, -0, 1, -1, 2 ** 53, 1e308, NaN, Infinity, 0.5,
  '', 'a', 'x'.repeat(3 * 1024 * 1024), 'a\\ud800b', 'nul\\u0000', '{"method":"GET","url":"http://127.0.0.1:9/","headers":[],"redirect":"follow"}', '{', '[1,2', '"str"', 'debug', 'log', 'SHA-256', 'href', 'url', 'headers', '../../etc/passwd',
  new ArrayBuffer(0), new ArrayBuffer(1), new ArrayBuffer(5 * 1024 * 1024), new Uint8Array(16), new DataView(new ArrayBuffer(8)), new Float64Array(4),
  [], [1, 2], sparse, {}, cyclic, { toString() { throw new Error('toString'); } }, { get a() { throw new Error('getter'); } },
  new Proxy({}, { get() { throw new Error('trap'); }, ownKeys() { throw new Error('trap'); } }), new Proxy([], { get(t, k) { return k === 'length' ? 1e9 : 'x'; } }),
  () => 1, Symbol('s'), 10n, Promise.resolve(1), new Date(), /re/g, new Map([[1, 2]]), new Error('e'),
];
export default { async fetch(req) {
  let seed = Number(new URL(req.url).searchParams.get('seed')) || 1;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const host = globalThis.__fuzzHost;
  const seen = {};
  for (let i = 0; i < 200; i++) {
    const op = rnd() < 0.1 ? pick(shapes) : pick(OPS);
    const spec = typeof op === 'string' && Object.hasOwn(SPECS, op) ? SPECS[op].args : null;
    // half the calls are near-valid (the declared types at their boundaries), to reach the implementations
    const near = (a) => {
      switch (a.type) {
        case 'string': return a.oneOf && rnd() < 0.6 ? pick(a.oneOf) : pick(['', 'k', 'x'.repeat(Math.min(a.max + 1, 3 * 1024 * 1024)), 'a\ud800', 'SHA-512', 'http://127.0.0.1:9/x', 'javascript:alert(1)']);
        case 'json': return pick(JSONS);
        case 'integer': return pick([a.min, a.max, a.min - 1, 0, 1, 65536, 65537, 2 ** 31]);
        case 'number': return pick([0, -1, 1e12, NaN]);
        case 'boolean': return rnd() < 0.5;
        case 'bytes': return pick([new ArrayBuffer(0), new ArrayBuffer(32), new ArrayBuffer(Math.min(a.max + 1, 2 * 1024 * 1024))]);
      }
    };
    const args = spec && rnd() < 0.5 ? spec.map(near) : Array.from({ length: Math.floor(rnd() * 6) }, () => pick(shapes));
    try {
      const out = host(op, ...args);
      if (out && typeof out.then === 'function') await Promise.race([out, new Promise((r) => setTimeout(r, 20))]);
      seen.ok = (seen.ok || 0) + 1;
    } catch (e) {
      const n = (e && e.name) || typeof e;
      seen[n] = (seen[n] || 0) + 1;
    }
  }
  return Response.json(seen);
} };`;

let rt: Runtime;
let kv: KvStore;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'faas-fuzz-'));
  kv = new KvStore(join(dir, 'kv.db'));
  rt = await Runtime.create({ ...engineUnderTest, poolSize: 1, warmup: false, ops: { ...kvOps(kv), fetch: fetchOp() } });
});

afterAll(() => {
  rt?.close();
  kv?.close();
  rmSync(dir, { recursive: true, force: true });
});

const armInstances = (name: string) => armHostCalls(rt, name, '__fuzzHost');

describe('host-op fuzz', () => {
  it('random argument shapes on every host op raise guest errors only; the host stays bounded and serving', async () => {
    const { bytes } = await compileEntry({ source: FUZZ_SOURCE, filename: 'fuzz.ts', resolveDir: dir }, signingKey);
    const config = parseFunctionConfig({ kv: ['FUZZ'], memoryMb: 32, cpuMs: 5000, timeoutMs: 20_000, allowedHosts: [] });
    rt.deploy('fuzz', 1, verifyArtifact(bytes, signingKey), config);
    const req = (seed: number) => ({ method: 'GET', url: `http://localhost/?seed=${seed}`, headers: [] as [string, string][], body: null });
    // a first request makes the instance resident; the fuzz host is armed on it before the next ones
    await rt.invoke('fuzz', req(0)).catch(() => undefined);
    const rssBefore = process.memoryUsage().rss;
    const names = new Map<string, number>();
    let served = 0;
    for (let seed = 1; seed <= 20; seed++) {
      if (armInstances('fuzz') === 0) continue;
      try {
        const r = await rt.invoke('fuzz', req(seed));
        await r.background;
        if (r.response.status === 200) {
          served++;
          const seen = JSON.parse(new TextDecoder().decode(r.response.body!)) as Record<string, number>;
          for (const [k, v] of Object.entries(seen)) names.set(k, (names.get(k) ?? 0) + v);
        }
      } catch (err) {
        // a guest that exhausted its own limits (memory, CPU, time) is a typed failure, never a host crash
        expect((err as { code?: string }).code).toMatch(/^(memory_limit_exceeded|cpu_limit_exceeded|timeout|function_error|stack_overflow)$/);
      }
    }
    console.log('fuzz outcomes:', Object.fromEntries(names), `served ${served}/20`);
    expect(served).toBeGreaterThan(10);
    // (WebCrypto's operations answer with the spec's DOMException names)
    const expected = ['ok', 'TypeError', 'RangeError', 'Error', 'SyntaxError', 'NotSupportedError', 'QuotaExceededError', 'InvalidCharacterError', 'InternalError'];
    expected.push('OperationError', 'DataError', 'InvalidAccessError', 'AbortError');
    for (const name of names.keys()) expect(expected).toContain(name);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(512 * 1024 * 1024);
    // and an ordinary function still runs
    const { bytes: hello } = await compileEntry({ source: `export default { fetch() { return new Response('still here'); } };`, filename: 'hello.ts', resolveDir: dir }, signingKey);
    rt.deploy('hello', 1, verifyArtifact(hello, signingKey), parseFunctionConfig({}));
    const ok = await rt.invoke('hello', req(0));
    expect(new TextDecoder().decode(ok.response.body!)).toBe('still here');
  });
});

describe('body stream ids across requests', () => {
  it("a guest that tries every stream id cannot read or cancel another request's body", async () => {
    // the holder waits, its streamed request body unread; the thief walks the id space meanwhile
    const holder = `export default { async fetch(request) {
      await new Promise((r) => setTimeout(r, 1500));
      return new Response(await request.text());
    } };`;
    const thief = `export default { async fetch() {
      const host = globalThis.__fuzzHost;
      const seen = {};
      for (let id = 1; id <= 3000; id++) {
        for (const [what, call] of [['read', () => host('streamRead', id, false)], ['read whole', () => host('streamRead', id, true)], ['cancel', () => host('streamCancel', id)]]) {
          let key;
          try {
            await call();
            key = what + ': ok';
          } catch (e) {
            key = what + ': ' + e.name + ': ' + String(e.message).split(' (')[0];
          }
          seen[key] = (seen[key] || 0) + 1;
        }
      }
      return Response.json(seen);
    } };`;
    const config = parseFunctionConfig({ cpuMs: 5000, timeoutMs: 10_000 });
    for (const [name, source] of [['holder', holder], ['thief', thief]]) {
      const { bytes } = await compileEntry({ source, filename: `${name}.ts`, resolveDir: dir }, signingKey);
      rt.deploy(name, 1, verifyArtifact(bytes, signingKey), config);
    }
    const req = { method: 'POST', url: 'http://localhost/', headers: [] as [string, string][], body: null };
    await rt.invoke('thief', req).catch(() => undefined);
    expect(armInstances('thief')).toBeGreaterThan(0);
    // a streamed request body: three chunks, handed out only as they are asked for
    const parts = ['secret ', 'request ', 'body'];
    const held = rt.invoke('holder', { ...req, stream: { read: async () => (parts.length ? new TextEncoder().encode(parts.shift()!) : null), cancel: () => parts.splice(0) } });
    const stolen = await rt.invoke('thief', req);
    const seen = JSON.parse(new TextDecoder().decode(stolen.response.body!)) as Record<string, number>;
    // every id is someone else's or nobody's: reads are refused alike, a cancel of a stream that is not
    // the caller's does nothing (it is idempotent), and the holder's body is intact
    expect(seen).toEqual({ 'read: TypeError: unknown body stream': 3000, 'read whole: TypeError: unknown body stream': 3000, 'cancel: ok': 3000 });
    const answer = await held;
    expect(new TextDecoder().decode(answer.response.body!)).toBe('secret request body');
    // and a neighbour still answers
    const { bytes: hello } = await compileEntry({ source: `export default { fetch() { return new Response('neighbour'); } };`, filename: 'neighbour.ts', resolveDir: dir }, signingKey);
    rt.deploy('neighbour', 1, verifyArtifact(hello, signingKey), parseFunctionConfig({}));
    expect(new TextDecoder().decode((await rt.invoke('neighbour', { ...req, method: 'GET' })).response.body!)).toBe('neighbour');
  });
});
