/**
 * WebCrypto attacked: key handles forged, stolen from another function or used after their instance
 * went; the per-instance key table exhausted; parameters that would make the host work for minutes
 * or allocate gigabytes; algorithm dictionaries built to explode when serialised; host crypto time
 * that would escape the CPU budget. Every test is bounded in time and ends with the gateway alive
 * and a neighbour answering.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileEntry } from '../../compiler/index.ts';
import { verifyArtifact } from '../../contract/artifact.ts';
import { parseFunctionConfig } from '../../contract/config.ts';
import { CRYPTO_LIMITS } from '../../runtime/host/webcrypto/limits.ts';
import { Runtime } from '../../runtime/index.ts';
import { engineUnderTest, signingKey, armHostCalls } from '../helpers/sandbox.ts';
import { bounded, startAttackGateway, type AttackGateway } from './harness.ts';

let t: AttackGateway;

beforeAll(async () => {
  t = await startAttackGateway();
});
afterAll(() => t?.close());

async function run(name: string, path = '', init?: RequestInit): Promise<{ status: number; body: any; ms: number }> {
  const started = Date.now();
  const res = await t.fn(name, path, { ...init, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // plain text
  }
  return { status: res.status, body, ms: Date.now() - started };
}

/** A guest helper: the error name of a promise, or 'resolved'. */
const ERR = `const err = (p) => Promise.resolve().then(p).then(() => 'resolved', (e) => e?.name ?? String(e));`;

describe('key handles', () => {
  let rt: Runtime;

  beforeAll(async () => {
    rt = await Runtime.create({ ...engineUnderTest, poolSize: 1, warmup: false });
  });
  afterAll(() => rt?.close());

  const arm = (name: string) => armHostCalls(rt, name, '__host');

  async function deploy(name: string, source: string, version = 1): Promise<void> {
    const { bytes } = await compileEntry({ source, filename: `${name}.ts`, resolveDir: process.cwd() }, signingKey);
    rt.deploy(name, version, verifyArtifact(bytes, signingKey), parseFunctionConfig({ cpuMs: 5000, memoryMb: 8 }));
  }

  async function call(name: string, query = ''): Promise<any> {
    const r = await rt.invoke(name, { method: 'GET', url: `http://localhost/${query}`, headers: [], body: null });
    await r.background;
    return JSON.parse(new TextDecoder().decode(r.response.body!));
  }

  it('an id from another function, a forged number or a malformed request reaches no key, even through the raw host call', async () => {
    // Both functions get the raw host function; the victim makes a key and hands its id out.
    const source = `${ERR}
      let mine;
      export default { async fetch(req) {
        const host = globalThis.__host;
        const q = new URL(req.url).searchParams;
        if (!host) return Response.json({ armed: false });
        const sign = (id) => host('cryptoSign', JSON.stringify({ algorithm: 'HMAC', key: id }), undefined, new ArrayBuffer(4));
        if (q.get('make')) {
          mine = await host('cryptoImportKey', JSON.stringify({ format: 'raw', algorithm: { name: 'HMAC', hash: 'SHA-256' }, extractable: true, usages: ['sign'] }), undefined, new TextEncoder().encode('victim secret').buffer);
          return Response.json({ id: mine.id, sig: Array.from(new Uint8Array(await sign(mine.id))) });
        }
        if (q.get('steal')) {
          const id = Number(q.get('steal'));
          const out = {
            sign: await err(() => sign(id)),
            exportRaw: await err(() => host('cryptoExportKey', JSON.stringify({ format: 'raw', key: id }))),
            asEcdhPublic: await err(() => host('cryptoDeriveBits', JSON.stringify({ algorithm: { name: 'ECDH', public: { $k: id } }, key: id, length: 256 }))),
            asWrapper: await err(() => host('cryptoWrapKey', JSON.stringify({ format: 'raw', key: id, wrappingKey: id, algorithm: 'AES-KW' }))),
            free: await err(() => host('cryptoFreeKey', id)),
          };
          const forged = {};
          for (const f of [0, -1, 1.5, 2 ** 53, 'NaN', '"1"', '{}', '[1]', 'null', 'true', String(id + 1), String(id - 1)]) {
            forged[f] = await err(() => host('cryptoSign', '{"algorithm":"HMAC","key":' + (f === 'NaN' ? '"NaN"' : f) + '}', undefined, new ArrayBuffer(4)));
          }
          const malformed = {};
          const bombs = {
            deepArray: '['.repeat(5000) + ']'.repeat(5000),
            deepHash: '{"algorithm":{"name":"HMAC","hash":' + '{"name":'.repeat(3000) + '"SHA-256"' + '}'.repeat(3000) + '},"key":1}',
            byteRangeHuge: '{"algorithm":{"name":"AES-GCM","iv":{"$b":[0,1e18]}},"key":1}',
            byteRangeNegative: '{"algorithm":{"name":"AES-GCM","iv":{"$b":[-1,4]}},"key":1}',
            protoKey: '{"__proto__":{"key":' + id + '},"algorithm":"HMAC"}',
            keyAsRef: '{"algorithm":"HMAC","key":{"$k":' + id + '}}',
            notJson: '{"algorithm":',
            hugeName: JSON.stringify({ algorithm: 'x'.repeat(70000), key: 1 }),
          };
          for (const [k, v] of Object.entries(bombs)) malformed[k] = await err(() => host('cryptoSign', v, new ArrayBuffer(8), new ArrayBuffer(4)));
          return Response.json({ out, forged, malformed });
        }
        return Response.json({ again: Array.from(new Uint8Array(await sign(mine.id))) });
      } };`;
    await deploy('victim', source);
    await deploy('thief', source);
    await call('victim');
    await call('thief');
    expect(arm('victim')).toBe(1);
    expect(arm('thief')).toBe(1);
    const victim = await bounded(20_000, 'the victim', () => call('victim', '?make=1'));
    expect(typeof victim.id).toBe('number');
    const stolen = await bounded(20_000, 'the thief', () => call('thief', `?steal=${victim.id}`));
    expect(stolen.out).toEqual({ sign: 'TypeError', exportRaw: 'TypeError', asEcdhPublic: 'TypeError', asWrapper: 'TypeError', free: 'resolved' });
    for (const [f, name] of Object.entries(stolen.forged)) expect([f, name]).toEqual([f, 'TypeError']);
    for (const [k, name] of Object.entries(stolen.malformed)) expect([k, name], k).toEqual([k, k === 'hugeName' ? 'RangeError' : 'TypeError']);
    // the thief's "free" of the victim's id changed nothing: the victim's key still signs the same
    const again = await call('victim');
    expect(again.again).toEqual(victim.sig);
    // a sandbox that is gone takes its keys with it
    const internals = rt as unknown as { instances: Map<{ name: string }, Set<{ keys: { size: number }; state: string }>> };
    const victimInstance = [...[...internals.instances].find(([fn]) => fn.name === 'victim')![1]][0]!;
    expect(victimInstance.keys.size).toBe(1);
    await deploy('victim', source, 2);
    expect(victimInstance.state).toBe('dead');
    expect(victimInstance.keys.size).toBe(0);
    await call('victim');
    expect(arm('victim')).toBe(1);
    const fresh = await call('victim', `?steal=${victim.id}`);
    expect(fresh.out.sign).toBe('TypeError');
    await t.assertHealthy();
  }, 60_000);

  it('keys cannot be forged, cloned or proxied by guest code', async () => {
    await t.deployOk(
      'forge',
      `${ERR}
      export default { async fetch() {
        const s = crypto.subtle;
        const key = await s.importKey('raw', new Uint8Array(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
        class Sub extends CryptoKey {}
        const data = new Uint8Array(4);
        return Response.json({
          create: await err(() => s.sign('HMAC', Object.create(CryptoKey.prototype), data)),
          proxy: await err(() => s.sign('HMAC', new Proxy(key, {}), data)),
          assign: await err(() => s.sign('HMAC', Object.assign({}, key), data)),
          plain: await err(() => s.sign('HMAC', { type: 'secret', algorithm: key.algorithm, usages: ['sign'], extractable: true }, data)),
          subclass: await err(() => s.sign('HMAC', Reflect.construct(Sub, [])), data),
          construct: await err(() => new CryptoKey({}, { id: 1 })),
          clone: await err(() => s.sign('HMAC', structuredClone(key), data)),
          setProto: await err(() => { const o = {}; Object.setPrototypeOf(o, key); return s.sign('HMAC', o, data); }),
          stillWorks: (await s.sign('HMAC', key, data)).byteLength,
          exportStill: await err(() => s.exportKey('raw', key)),
        });
      } };`,
    );
    const r = await bounded(20_000, 'forge', () => run('forge'));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ create: 'TypeError', proxy: 'TypeError', assign: 'TypeError', plain: 'TypeError', subclass: 'TypeError', construct: 'TypeError', setProto: 'TypeError', stillWorks: 32, exportStill: 'InvalidAccessError' });
    // a clone is never a key (WebCrypto would clone the key; this sandbox's structuredClone does not know it)
    expect(['DataCloneError', 'TypeError']).toContain(r.body.clone);
    await t.assertHealthy();
  });
});

describe('the key table', () => {
  it('a function that hoards keys is stopped at the per-instance cap with QuotaExceededError; other functions are unaffected', async () => {
    await t.deployOk(
      'hoarder',
      `const kept = [];
      export default { async fetch(req) {
        const big = new URL(req.url).searchParams.get('big');
        let error = null;
        for (let i = 0; i < 5000; i++) {
          try {
            kept.push(big
              ? await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(16384)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
              : await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']));
          } catch (e) { error = [e.name, e instanceof DOMException, e.message]; break; }
        }
        const count = kept.length;
        kept.length = 0;
        return Response.json({ count, error });
      } };`,
      { memoryMb: 16, cpuMs: 20_000, timeoutMs: 30_000 },
    );
    const many = await bounded(30_000, 'hoarding keys', () => run('hoarder'));
    expect(many.status).toBe(200);
    expect(many.body.count).toBe(CRYPTO_LIMITS.keysPerInstance);
    expect(many.body.error.slice(0, 2)).toEqual(['QuotaExceededError', true]);
    expect(many.body.error[2]).toMatch(/limits are 1024 keys and 4 MiB/);
    // the byte budget: 16 KiB secrets fill 4 MiB long before 1024 keys
    const big = await bounded(30_000, 'hoarding big keys', () => run('hoarder', '?big=1'));
    expect(big.status).toBe(200);
    expect(big.body.count).toBeLessThan(260);
    expect(big.body.count).toBeGreaterThan(200);
    expect(big.body.error[0]).toBe('QuotaExceededError');
    // a nearly full table retires its instance: the next request starts from an empty one
    const again = await bounded(30_000, 'hoarding again', () => run('hoarder'));
    expect(again.body.count).toBe(CRYPTO_LIMITS.keysPerInstance);
    // another function's table is its own
    await t.deployOk('keys-ok', `export default { async fetch() { const k = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 128 }, false, ['encrypt']); return new Response(k.type); } };`);
    expect((await run('keys-ok')).body).toBe('secret');
    await t.assertHealthy();
  }, 120_000);
});

describe('huge parameters are refused before any work', () => {
  it('PBKDF2 iterations, RSA sizes, HMAC lengths, output lengths and oversized inputs', async () => {
    // an RSA public key with a 16384-bit modulus costs nothing to make: it need not be a real key to be refused
    const n = randomBytes(2048);
    n[0]! |= 0x80;
    n[2047]! |= 1;
    const bigRsa = { kty: 'RSA', n: n.toString('base64url'), e: 'AQAB' };
    await t.deployOk(
      'huge',
      `${ERR}
      export default { async fetch(req) {
        const input = await req.json();
        const s = crypto.subtle;
        const pw = await s.importKey('raw', new TextEncoder().encode('pw'), 'PBKDF2', false, ['deriveBits', 'deriveKey']);
        const aes = await s.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt']);
        const hmac = await s.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
        const started = Date.now();
        const out = {
          pbkdf2Iterations: await err(() => s.deriveBits({ name: 'PBKDF2', hash: 'SHA-512', salt: new Uint8Array(16), iterations: 1e9 }, pw, 512)),
          pbkdf2Key: await err(() => s.deriveKey({ name: 'PBKDF2', hash: 'SHA-512', salt: new Uint8Array(16), iterations: 1e9 }, pw, { name: 'AES-GCM', length: 256 }, false, ['encrypt'])),
          pbkdf2Length: await err(() => s.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(16), iterations: 1000 }, pw, 2 ** 24)),
          rsa16384: await err(() => s.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 16384, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['sign'])),
          rsa65536: await err(() => s.generateKey({ name: 'RSA-OAEP', modulusLength: 65536, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['encrypt'])),
          rsaImport16384: await err(() => s.importKey('jwk', input.bigRsa, { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['encrypt'])),
          hmacLength: await err(() => s.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 2 ** 31 }, false, ['sign'])),
          // numbers in disguise are what Web IDL converts them to
          iterationsString: await err(() => s.deriveBits({ name: 'PBKDF2', hash: 'SHA-512', salt: new Uint8Array(16), iterations: '1e9' }, pw, 512)),
          iterationsObject: await err(() => s.deriveBits({ name: 'PBKDF2', hash: 'SHA-512', salt: new Uint8Array(16), iterations: { valueOf: () => 1e9 } }, pw, 512)),
          lengthString: await err(() => s.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(16), iterations: 1 }, pw, '16777216')),
          modulusString: await err(() => s.generateKey({ name: 'RSA-PSS', modulusLength: '16384', publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, false, ['sign'])),
          hkdfLength: await err(async () => s.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(1), info: new Uint8Array(1) }, await s.importKey('raw', new Uint8Array(8), 'HKDF', false, ['deriveBits']), 2 ** 20)),
          bigParams: await err(() => s.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12), additionalData: new Uint8Array(2 * 1024 * 1024) }, aes, new Uint8Array(1))),
          bigIv: await err(() => s.encrypt({ name: 'AES-GCM', iv: new Uint8Array(2 * 1024 * 1024) }, aes, new Uint8Array(1))),
          bigKeyData: await err(() => s.importKey('raw', new Uint8Array(1024 * 1024), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])),
          bigSignature: await err(() => s.verify('HMAC', hmac, new Uint8Array(1024 * 1024), new Uint8Array(1))),
          bigJwk: await err(() => s.importKey('jwk', { kty: 'oct', k: 'A'.repeat(200000) }, 'AES-GCM', false, ['encrypt'])),
          bigWrapped: await err(() => s.unwrapKey('raw', new Uint8Array(1024 * 1024), aes, 'AES-KW', 'AES-GCM', false, ['encrypt'])),
        };
        out.ms = Date.now() - started;
        // and data this large is simply worked on, charged to the invocation
        const big = new Uint8Array(16 * 1024 * 1024);
        out.sealed = (await s.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, aes, big)).byteLength;
        out.digest = (await s.digest('SHA-256', big)).byteLength;
        return Response.json(out);
      } };`,
      { memoryMb: 64, cpuMs: 10_000 },
    );
    const r = await bounded(30_000, 'huge parameters', () => run('huge', '', { method: 'POST', body: JSON.stringify({ bigRsa }) }));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      pbkdf2Iterations: 'NotSupportedError',
      pbkdf2Key: 'NotSupportedError',
      pbkdf2Length: 'NotSupportedError',
      rsa16384: 'NotSupportedError',
      rsa65536: 'NotSupportedError',
      rsaImport16384: 'DataError',
      hmacLength: 'NotSupportedError',
      iterationsString: 'NotSupportedError',
      iterationsObject: 'NotSupportedError',
      lengthString: 'NotSupportedError',
      modulusString: 'NotSupportedError',
      hkdfLength: 'OperationError',
      bigParams: 'RangeError',
      bigIv: 'RangeError',
      bigKeyData: 'RangeError',
      bigSignature: 'RangeError',
      bigJwk: 'RangeError',
      bigWrapped: 'RangeError',
      sealed: 16 * 1024 * 1024 + 16,
      digest: 32,
    });
    // refused up front: none of them started a job that runs for long
    expect(r.body.ms).toBeLessThan(10_000);
    await t.assertHealthy();
  }, 60_000);
});

describe('algorithm dictionaries built to explode', () => {
  it('getters, proxies, deep nesting and huge members cost the guest, never the host', async () => {
    await t.deployOk(
      'bombs',
      `${ERR}
      export default { async fetch(req) {
        const s = crypto.subtle;
        const aes = await s.generateKey({ name: 'AES-GCM', length: 128 }, false, ['encrypt']);
        if (new URL(req.url).searchParams.get('endless')) {
          return Response.json(await err(() => s.generateKey({ name: 'AES-GCM', length: 128 }, false, { *[Symbol.iterator]() { for (;;) yield 'encrypt'; } })));
        }
        const ecdh = await s.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
        let deep = { name: 'SHA-256' };
        for (let i = 0; i < 100000; i++) deep = { name: deep };
        const data = new Uint8Array(4);
        return Response.json({
          throwingGetter: await err(() => s.encrypt({ name: 'AES-GCM', get iv() { throw new RangeError('from the getter'); } }, aes, data)),
          hugeStrings: await err(() => s.encrypt(new Proxy({}, { get: () => 'x'.repeat(100000) }), aes, data)),
          hugeName: await err(() => s.encrypt({ name: 'A'.repeat(1 << 20) }, aes, data)),
          deepHash: await err(() => s.sign({ name: 'ECDSA', hash: deep }, aes, data)),
          arrayIv: await err(() => s.encrypt({ name: 'AES-GCM', iv: new Array(100000).fill(1) }, aes, data)),
          proxyPublic: await err(() => s.deriveBits({ name: 'ECDH', public: new Proxy(ecdh.publicKey, {}) }, ecdh.privateKey, 256)),
          cyclic: await err(() => { const a = { name: 'AES-GCM', iv: new Uint8Array(12) }; a.hash = a; a.public = a; return s.encrypt(a, aes, data); }),
          manyUsages: await err(() => s.generateKey({ name: 'AES-GCM', length: 128 }, false, new Array(1e5).fill('encrypt'))),
          ok: (await s.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, aes, data)).byteLength,
        });
      } };`,
      { memoryMb: 32, cpuMs: 2000 },
    );
    const r = await bounded(30_000, 'algorithm bombs', () => run('bombs'));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({
      throwingGetter: 'RangeError',
      hugeStrings: 'RangeError',
      hugeName: 'RangeError',
      // Web IDL reads hash.name as a string: "[object Object]" names no hash
      deepHash: 'NotSupportedError',
      arrayIv: 'TypeError',
      proxyPublic: 'TypeError',
      // AES-GCM reads neither \`hash\` nor \`public\`: the cycle is never followed
      cyclic: 'resolved',
      manyUsages: 'RangeError',
      ok: 20,
    });
    // a sequence that never ends is the guest's own CPU (or heap): it ends there, as a typed failure
    const endless = await bounded(30_000, 'an endless usage list', () => run('bombs', '?endless=1'));
    expect(endless.status).toBe(503);
    expect(['cpu_limit_exceeded', 'memory_limit_exceeded']).toContain(endless.body.error);
    await t.assertHealthy();
  }, 60_000);
});

describe('host crypto time is charged to the invocation', () => {
  it('a long job ends the invocation with cpu_limit_exceeded, without blocking the gateway meanwhile', async () => {
    await t.deployOk(
      'slow-kdf',
      `export default { async fetch(req) {
        const pw = await crypto.subtle.importKey('raw', new TextEncoder().encode('pw'), 'PBKDF2', false, ['deriveBits']);
        const n = Number(new URL(req.url).searchParams.get('n') || 1);
        const runs = [];
        for (let i = 0; i < n; i++) runs.push(crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-512', salt: new Uint8Array([i]), iterations: 1000000 }, pw, 512).then(() => 'ok', (e) => e.name));
        return Response.json(await Promise.all(runs));
      } };`,
      { cpuMs: 100, timeoutMs: 30_000 },
    );
    // the job runs on libuv's pool: while it does, the gateway (and the neighbour) answer
    const slow = run('slow-kdf');
    await new Promise((r) => setTimeout(r, 100));
    await t.assertHealthy(5000);
    const r = await bounded(30_000, 'a 1M-iteration PBKDF2', () => slow);
    expect(r.status).toBe(503);
    expect(r.body.error).toBe('cpu_limit_exceeded');
    expect(r.body.message).toMatch(/exceeded its CPU limit of 100 ms/);
    await t.assertHealthy();
  }, 60_000);

  it('more operations in flight than one invocation may have are refused at once; the rest are charged', async () => {
    await t.deployOk(
      'many-jobs',
      `export default { async fetch() {
        const k = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
        const runs = [];
        for (let i = 0; i < 200; i++) runs.push(crypto.subtle.sign('HMAC', k, new Uint8Array(1024)).then(() => 'ok', (e) => e.name));
        const names = await Promise.all(runs);
        const count = (n) => names.filter((x) => x === n).length;
        return Response.json({ ok: count('ok'), refused: count('QuotaExceededError') });
      } };`,
      { cpuMs: 5000, memoryMb: 8 },
    );
    const r = await bounded(30_000, 'many jobs', () => run('many-jobs'));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.ok).toBe(CRYPTO_LIMITS.jobsPerInvocation);
    expect(r.body.refused).toBe(200 - CRYPTO_LIMITS.jobsPerInvocation);
    await t.assertHealthy();
  });
});
