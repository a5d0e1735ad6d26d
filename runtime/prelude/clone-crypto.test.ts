import { createHash, createHmac } from 'node:crypto';
import { expect, test } from 'vitest';
import { invokeSource } from '../../test/helpers/sandbox.ts';

async function guest(body: string) {
  const r = await invokeSource(`export default { async fetch(request, env, ctx) { ${body} } }`);
  if (r.status !== 200) throw new Error(`guest failed: ${r.status} ${r.text}`);
  return r.json();
}

test('structuredClone copies deep structures, keeps cycles and shared references', async () => {
  const out = await guest(`
    const shared = { s: 1 };
    const buf = new Uint8Array([1, 2, 3, 4]);
    const src = { n: 1, d: new Date(86400000), re: /a+b/gi, m: new Map([[1, shared]]), set: new Set(['x', shared]),
      arr: [1, , 'three', shared], buf, view: new Uint16Array(buf.buffer, 2, 1), err: new RangeError('bad'), boxed: Object(5), big: 10n };
    src.self = src;
    const c = structuredClone(src);
    const errs = [];
    for (const v of [() => 1, Symbol('s'), { f() {} }, new WeakMap(), Promise.resolve()]) {
      try { structuredClone(v); errs.push('no error'); } catch (e) { errs.push(e.name); }
    }
    buf[0] = 99;
    return Response.json({
      distinct: c !== src && c.m !== src.m, cycle: c.self === c, sharedKept: c.m.get(1) === c.arr[3] && [...c.set][1] === c.arr[3],
      date: c.d instanceof Date && c.d.getTime(), re: [c.re.source, c.re.flags], hole: 1 in c.arr, len: c.arr.length,
      buf: Array.from(c.buf), viewShares: c.view.buffer === c.buf.buffer && c.view[0], err: [c.err instanceof RangeError, c.err.message],
      boxed: typeof c.boxed, big: typeof c.big, errs,
    });
  `);
  expect(out).toEqual({
    distinct: true,
    cycle: true,
    sharedKept: true,
    date: 86400000,
    re: ['a+b', 'gi'],
    hole: false,
    len: 4,
    buf: [1, 2, 3, 4],
    viewShares: new Uint16Array(new Uint8Array([1, 2, 3, 4]).buffer, 2, 1)[0],
    err: [true, 'bad'],
    boxed: 'object',
    big: 'bigint',
    errs: ['DataCloneError', 'DataCloneError', 'DataCloneError', 'DataCloneError', 'DataCloneError'],
  });
});

test('structuredClone transfer: ArrayBuffers move (the originals detach), views follow them, bad lists are errors (HTML)', async () => {
  const out = await guest(`
    const buffer = new Uint8Array([1, 2, 3, 4]).buffer;
    const view = new Uint8Array(buffer, 1, 2);
    const dv = new DataView(buffer, 2);
    const copy = structuredClone({ buffer, view, dv, again: buffer }, { transfer: [buffer] });
    const moved = [buffer.byteLength, buffer.detached, view.length, copy.buffer.byteLength, Array.from(new Uint8Array(copy.buffer)),
      copy.view.buffer === copy.buffer, Array.from(copy.view), copy.dv.getUint8(0), copy.again === copy.buffer];
    const unreferenced = new ArrayBuffer(8);
    structuredClone(5, { transfer: [unreferenced] });
    const err = (f) => { try { f(); return 'no error'; } catch (e) { return e.name; } };
    const kept = new ArrayBuffer(4);
    const failed = err(() => structuredClone({ kept, f() {} }, { transfer: [kept] }));
    const detached = new ArrayBuffer(2);
    structuredClone(detached, { transfer: [detached] });
    const viaIterable = new ArrayBuffer(3);
    structuredClone(viaIterable, { transfer: new Set([viaIterable]) });
    return Response.json({
      moved, unreferenced: unreferenced.detached, failed, keptAfterFailure: kept.byteLength, viaIterable: viaIterable.detached,
      errors: [
        err(() => structuredClone(1, { transfer: [kept, kept] })),
        err(() => structuredClone(1, { transfer: [detached] })),
        err(() => structuredClone(detached)),
        err(() => structuredClone(1, { transfer: [new Uint8Array(2)] })),
        err(() => structuredClone(1, { transfer: [{}] })),
        err(() => structuredClone(1, { transfer: [5] })),
        err(() => structuredClone(1, { transfer: 5 })),
        err(() => structuredClone(1, 5)),
      ],
      noTransfer: [structuredClone(1, {}), structuredClone(2, undefined), structuredClone(3, null), structuredClone(4, { transfer: [] })],
    });
  `);
  expect(out).toEqual({
    moved: [0, true, 0, 4, [1, 2, 3, 4], true, [2, 3], 3, true],
    unreferenced: true,
    failed: 'DataCloneError',
    keptAfterFailure: 4,
    viaIterable: true,
    errors: ['DataCloneError', 'DataCloneError', 'DataCloneError', 'DataCloneError', 'DataCloneError', 'TypeError', 'TypeError', 'TypeError'],
    noTransfer: [1, 2, 3, 4],
  });
});

test('crypto.subtle.digest matches node:crypto for every SHA variant and input kind', async () => {
  const out = await guest(`
    const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
    const data = new TextEncoder().encode('héllo wörld');
    const r = {};
    for (const alg of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) r[alg] = hex(await crypto.subtle.digest(alg, data));
    r.objAlg = hex(await crypto.subtle.digest({ name: 'sha-256' }, data.buffer));
    r.view = hex(await crypto.subtle.digest('SHA-256', new DataView(data.buffer, 1, 3)));
    r.bad = await crypto.subtle.digest('MD5', data).then(() => 'resolved', (e) => e.name);
    return Response.json(r);
  `);
  const data = Buffer.from('héllo wörld');
  const h = (alg: string, d: Buffer) => createHash(alg).update(d).digest('hex');
  expect(out).toEqual({
    'SHA-1': h('sha1', data),
    'SHA-256': h('sha256', data),
    'SHA-384': h('sha384', data),
    'SHA-512': h('sha512', data),
    objAlg: h('sha256', data),
    view: h('sha256', data.subarray(1, 4)),
    bad: 'NotSupportedError',
  });
});

test('HMAC importKey / sign / verify agree with node:crypto', async () => {
  const out = await guest(`
    const enc = new TextEncoder();
    const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
    const key = await crypto.subtle.importKey('raw', enc.encode('secret-key'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    const sig = await crypto.subtle.sign('HMAC', key, enc.encode('message'));
    const k512 = await crypto.subtle.importKey('raw', enc.encode('k'), { name: 'HMAC', hash: { name: 'SHA-512' } }, true, ['sign']);
    const signOnly = await crypto.subtle.verify('HMAC', k512, new Uint8Array(64), enc.encode('m')).then(() => 'resolved', (e) => e.name);
    return Response.json({
      sig: hex(sig), sig512: hex(await crypto.subtle.sign({ name: 'HMAC' }, k512, enc.encode('m'))),
      ok: await crypto.subtle.verify('HMAC', key, sig, enc.encode('message')),
      tampered: await crypto.subtle.verify('HMAC', key, sig, enc.encode('messagE')),
      shortSig: await crypto.subtle.verify('HMAC', key, new Uint8Array(3), enc.encode('message')),
      key: [key.type, key.extractable, key.algorithm, key.usages, key instanceof CryptoKey, Object.prototype.toString.call(key)],
      exported: hex(await crypto.subtle.exportKey('raw', k512)), notExtractable: await crypto.subtle.exportKey('raw', key).then(() => 'resolved', (e) => e.name),
      signOnly, badUsage: await crypto.subtle.importKey('raw', enc.encode('k'), { name: 'HMAC', hash: 'SHA-256' }, false, ['encrypt']).then(() => 'resolved', (e) => e.name),
    });
  `);
  const hmac = (alg: string, k: string, m: string) => createHmac(alg, k).update(m).digest('hex');
  expect(out).toEqual({
    sig: hmac('sha256', 'secret-key', 'message'),
    sig512: hmac('sha512', 'k', 'm'),
    ok: true,
    tampered: false,
    shortSig: false,
    key: ['secret', false, { name: 'HMAC', hash: { name: 'SHA-256' }, length: 80 }, ['sign', 'verify'], true, '[object CryptoKey]'],
    exported: Buffer.from('k').toString('hex'),
    notExtractable: 'InvalidAccessError',
    signOnly: 'InvalidAccessError',
    badUsage: 'SyntaxError',
  });
});

test('getRandomValues and randomUUID', async () => {
  const out = await guest(`
    const a = crypto.getRandomValues(new Uint8Array(32));
    const b = crypto.getRandomValues(new Uint32Array(8));
    const errs = [];
    for (const f of [() => crypto.getRandomValues(new Uint8Array(65537)), () => crypto.getRandomValues(new Float64Array(2))]) {
      try { f(); errs.push('no error'); } catch (e) { errs.push(e.name); }
    }
    const uuids = Array.from({ length: 5 }, () => crypto.randomUUID());
    return Response.json({ same: a === crypto.getRandomValues(a), nonZero: a.some((x) => x) && b.some((x) => x), max: crypto.getRandomValues(new Uint8Array(65536)).length, errs, uuids });
  `);
  expect(out).toMatchObject({ same: true, nonZero: true, max: 65536, errs: ['QuotaExceededError', 'TypeMismatchError'] });
  expect(new Set(out.uuids).size).toBe(5);
  for (const u of out.uuids) expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});
