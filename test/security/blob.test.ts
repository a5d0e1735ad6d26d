/**
 * Hostile Blob and File use, and the multipart attacks test/security/formdata.test.ts leaves out:
 * giant slices and hostile slice indexes, Blob constructors fed without end, a multipart body
 * nested thousands of levels deep (the host never recurses; a function that does pays with its own
 * CPU), Content-Types whose boundary is missing or unusable, and uploads as large as the request
 * cap reaching a function with the default 1 MiB heap. Each ends as the function's result, its own
 * error or its own limit, with the gateway and a neighbour healthy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineUnderTest } from '../helpers/sandbox.ts';
import { bounded, startAttackGateway, type AttackGateway } from './harness.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

let t: AttackGateway;

beforeAll(async () => {
  t = await startAttackGateway({ maxBodyBytes: 4 * MiB });
});
afterAll(() => t?.close());

interface Outcome {
  status: number;
  body: any;
}

async function call(name: string, query = '', init: RequestInit = {}): Promise<Outcome> {
  return bounded(30_000, `${name}${query}`, async () => {
    const res = await t.fn(name, query, { ...init, signal: AbortSignal.timeout(25_000) });
    const text = await res.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body };
  });
}

/**
 * quickjs-emscripten's heap is measured by sampling from its interrupt handler (its build cannot size
 * an allocation: runtime/engine/quickjs-emscripten/sandbox.ts), so a few large allocations made in
 * few instructions can finish between two samples; quickjs-wasi counts every byte.
 */
const sampledHeap = String(engineUnderTest.engine ?? '').includes('emscripten');

/** The outcome is the function's own limit (503 with its code) and nothing else. */
function expectLimit(r: Outcome, codes = ['cpu_limit_exceeded', 'memory_limit_exceeded']) {
  expect(r.status).toBe(503);
  expect(codes).toContain(r.body.error);
}

describe('giant Blobs and slices', () => {
  beforeAll(async () => {
    await t.deployOk(
      'blob-self',
      `export default { async fetch(request) {
        const what = new URL(request.url).searchParams.get('what');
        const big = new Blob([new Uint8Array(4 * 1024 * 1024)]);
        if (what === 'slices') {
          // views, not copies: 20,000 slices of 4 MiB would be 80 GB as copies
          const kept = [];
          let total = 0;
          for (let i = 0; i < 20000; i++) { const s = big.slice(i, big.size - i); kept.push(s); total += s.size; }
          const nested = kept[kept.length - 1].slice(-1e308, 1e308).slice(-Infinity, Infinity).slice(NaN);
          return Response.json({ count: kept.length, total, nested: nested.size });
        }
        if (what === 'indexes') {
          const s = [];
          for (const [a, b] of [[2 ** 53, -(2 ** 53)], [-(2 ** 64), 2 ** 64], [1e308, -1e308], [Infinity, -Infinity], [-0, 0.5], [4194303.5, 4194304.5], ['1e400', '-1e400'], [{}, []]]) s.push(big.slice(a, b).size);
          return Response.json(s);
        }
        if (what === 'concat') {
          // 1,000 times 4 MiB: past the largest ArrayBuffer or the heap, never a host allocation
          return new Response(String(new Blob(new Array(1000).fill(big)).size));
        }
        if (what === 'endless') {
          return new Response(String(new Blob((function* () { for (;;) yield 'x'.repeat(1024); })()).size));
        }
        if (what === 'type') {
          const t = 'A'.repeat(1024 * 1024);
          return Response.json([new Blob([], { type: t }).type.length, big.slice(0, 1, t + '\\u0100').type, new File([], t, { type: t }).name.length]);
        }
        if (what === 'out') {
          // every way out copies: 4 MiB at a time, until the 16 MiB heap is full
          const held = [];
          for (let i = 0; i < 10; i++) held.push(await big.bytes(), await big.arrayBuffer());
          return new Response('held ' + held.length);
        }
        if (what === 'text') {
          // 4 MiB of 0xFF decode to 4M U+FFFD: 8 MiB of UTF-16, over half the heap, per call
          const bad = new Blob([new Uint8Array(4 * 1024 * 1024).fill(0xff)]);
          const held = [];
          for (let i = 0; i < 4; i++) held.push(await bad.text());
          return new Response('decoded ' + held.length);
        }
        return new Response('unknown', { status: 400 });
      } };`,
      // CPU is generous: these are about memory, and a loaded machine must not make them flaky
      { memoryMb: 16, cpuMs: 5000 },
    );
  });

  it('20,000 slices of a 4 MiB Blob share its bytes; extreme indexes clamp', async () => {
    const r = await call('blob-self', '?what=slices');
    expect(r.status).toBe(200);
    let total = 0;
    for (let i = 0; i < 20_000; i++) total += 4 * MiB - 2 * i;
    expect(r.body).toEqual({ count: 20_000, total, nested: 4 * MiB - 2 * 19_999 });
    await t.assertHealthy();
  });

  it('slice indexes at and past the safe integers, infinities, halves and objects', async () => {
    const r = await call('blob-self', '?what=indexes');
    expect(r.status).toBe(200);
    // [Clamp] long long rounds half to even: 4194303.5 -> 4194304, 4194304.5 -> 4194304
    expect(r.body).toEqual([0, 4 * MiB, 0, 0, 0, 0, 0, 0]);
    await t.assertHealthy();
  });

  it('a Blob of 1,000 copies of 4 MiB fails in the guest or on its heap', async () => {
    const r = await call('blob-self', '?what=concat');
    if (r.status === 500) expect(r.body.message).toMatch(/RangeError|out of memory/);
    else expectLimit(r, ['memory_limit_exceeded']);
    await t.assertHealthy();
  });

  it('a Blob made from an endless iterable ends on the function\'s limits', async () => {
    const r = await call('blob-self', '?what=endless');
    if (r.status === 500) expect(r.body.message).toMatch(/RangeError|out of memory/);
    else expectLimit(r);
    await t.assertHealthy();
  });

  it('a 1 MiB type string is kept or dropped as the File API says', async () => {
    const r = await call('blob-self', '?what=type');
    expect(r.status).toBe(200);
    expect(r.body).toEqual([MiB, '', MiB]);
    await t.assertHealthy();
  });

  it('copies out of a Blob (bytes, arrayBuffer) and text() of invalid UTF-8 fill the heap, not the host', async () => {
    for (const what of ['out', 'text']) {
      const r = await call('blob-self', `?what=${what}`);
      if (sampledHeap && r.status === 200) expect(r.body).toBe(what === 'out' ? 'held 20' : 'decoded 4');
      else if (r.status === 500) expect(r.body.message).toMatch(/RangeError|out of memory/);
      else expectLimit(r, ['memory_limit_exceeded']);
    }
    await t.assertHealthy();
  });
});

describe('nested multipart bodies', () => {
  /** `depth` levels of multipart/form-data, each one part named "n" holding the next; boundaries b0z, b1z, … (none a prefix of another) */
  function nested(depth: number): string {
    let body = 'core';
    for (let k = depth - 1; k >= 0; k--) {
      body = `--b${k}z\r\nContent-Disposition: form-data; name="n"\r\nContent-Type: multipart/form-data; boundary=b${k + 1}z\r\n\r\n${body}\r\n--b${k}z--`;
    }
    return body;
  }

  beforeAll(async () => {
    await t.deployOk(
      'nest-once',
      `export default { async fetch(request) {
        const fd = await request.formData();
        return Response.json({ entries: [...fd.keys()].length, length: fd.get('n').length });
      } };`,
      { memoryMb: 16 },
    );
    // a function that recurses on its own: each level parses what is left again
    await t.deployOk(
      'nest-all',
      `export default { async fetch(request) {
        let fd = await request.formData();
        let depth = 0;
        for (;;) {
          const v = fd.get('n');
          if (v === null || !v.startsWith('--b')) return Response.json({ levels: depth + 1, core: v });
          depth++;
          fd = await new Response(v, { headers: { 'content-type': 'multipart/form-data; boundary=b' + depth + 'z' } }).formData();
        }
      } };`,
      { memoryMb: 64, cpuMs: 1000 },
    );
  });

  it('the host parses one level: a body nested 20,000 deep is one entry (a string)', async () => {
    const body = nested(20_000);
    expect(body.length).toBeLessThan(4 * MiB);
    const r = await call('nest-once', '', { method: 'POST', body, headers: { 'content-type': 'multipart/form-data; boundary=b0z' } });
    const header = '--b0z\r\nContent-Disposition: form-data; name="n"\r\nContent-Type: multipart/form-data; boundary=b1z\r\n\r\n';
    expect(r).toEqual({ status: 200, body: { entries: 1, length: body.length - header.length - '\r\n--b0z--'.length } });
    await t.assertHealthy();
  });

  it('a function unpacking 5,000 levels itself finishes or stops on its own CPU limit', async () => {
    // the same function finishes a shallow one
    const shallow = await call('nest-all', '', { method: 'POST', body: nested(20), headers: { 'content-type': 'multipart/form-data; boundary=b0z' } });
    expect(shallow).toEqual({ status: 200, body: { levels: 20, core: 'core' } });
    const body = nested(5000);
    const r = await call('nest-all', '', { method: 'POST', body, headers: { 'content-type': 'multipart/form-data; boundary=b0z' } });
    if (r.status === 200) expect(r.body).toEqual({ levels: 5000, core: 'core' });
    else expectLimit(r);
    const again = await call('nest-all', '', { method: 'POST', body: nested(20), headers: { 'content-type': 'multipart/form-data; boundary=b0z' } });
    expect(again).toEqual(shallow);
    await t.assertHealthy();
  });
});

describe('Content-Types without a usable boundary', () => {
  beforeAll(async () => {
    await t.deployOk(
      'form-any',
      `export default { async fetch(request) {
        try { const fd = await request.formData(); return Response.json({ entries: [...fd.keys()].length }); }
        catch (e) { return Response.json({ error: e.name + ': ' + e.message }); }
      } };`,
    );
  });

  const body = '--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--b--\r\n';
  const types: Record<string, string> = {
    'no boundary parameter': 'multipart/form-data',
    'an empty boundary': 'multipart/form-data; boundary=',
    'an empty quoted boundary': 'multipart/form-data; boundary=""',
    'a boundary of 71 characters': `multipart/form-data; boundary=${'b'.repeat(71)}`,
    'a boundary with non-ASCII bytes': 'multipart/form-data; boundary=b\u00e9',
    'the boundary under another name': 'multipart/form-data; boundry=b',
    'a boundary the body does not use': 'multipart/form-data; boundary=c',
    'a boundary that is a prefix of the one used': 'multipart/form-data; boundary=-',
    'no parameters and junk': 'multipart/form-data;;;;=;boundary',
  };
  for (const [label, contentType] of Object.entries(types)) {
    it(label, async () => {
      const r = await call('form-any', '', { method: 'POST', body, headers: { 'content-type': contentType } });
      expect(r.status).toBe(200);
      expect(r.body.error).toMatch(/^TypeError: /);
      await t.assertHealthy();
    });
  }

  it('the same body with its boundary parses (the control)', async () => {
    const r = await call('form-any', '', { method: 'POST', body, headers: { 'content-type': 'multipart/form-data; boundary=b' } });
    expect(r).toEqual({ status: 200, body: { entries: 1 } });
  });
});

describe('uploads as large as the request cap, into the default 1 MiB heap', () => {
  beforeAll(async () => {
    await t.deployOk(
      'upload-small',
      `export default { async fetch(request) {
        const fd = await request.formData();
        const f = fd.get('f');
        const what = new URL(request.url).searchParams.get('what');
        if (what === 'echo') return new Response(f);
        if (what === 'copy') { const copies = [await f.bytes(), await f.bytes(), await f.arrayBuffer()]; return new Response(String(copies.length)); }
        return new Response(String(f.size));
      } };`,
    );
  });

  const upload = (size: number) => {
    const fd = new FormData();
    fd.append('f', new Blob([new Uint8Array(size).fill(0x61)]), 'f.bin');
    return fd;
  };

  it("a file over the gateway's request cap (4 MiB here) is refused with 413 before the function runs", async () => {
    const r = await call('upload-small', '', { method: 'POST', body: upload(5 * MiB) });
    expect([r.status, r.body.error]).toEqual([413, 'payload_too_large']);
    await t.assertHealthy();
  });

  it('a 600 KiB file is parsed as a view on the body; echoing it copies once; three copies do not fit', async () => {
    const size = 600 * KiB;
    const parsed = await call('upload-small', '', { method: 'POST', body: upload(size) });
    // the body (600 KiB) and the prelude share 1 MiB: the parse itself may be what does not fit
    if (parsed.status === 200) expect(parsed.body).toBe(size);
    else expectLimit(parsed, ['memory_limit_exceeded']);
    const echo = await call('upload-small', '?what=echo', { method: 'POST', body: upload(size) });
    if (echo.status === 200) expect(echo.body.length).toBe(size);
    else expectLimit(echo, ['memory_limit_exceeded']);
    const copy = await call('upload-small', '?what=copy', { method: 'POST', body: upload(size) });
    if (sampledHeap && copy.status === 200) expect(copy.body).toBe(3);
    else if (copy.status === 500) expect(copy.body.message).toMatch(/out of memory/);
    else expectLimit(copy, ['memory_limit_exceeded']);
    await t.assertHealthy();
  });

  it('a 200 KiB file round trips within the default heap', async () => {
    const r = await call('upload-small', '?what=echo', { method: 'POST', body: upload(200 * KiB) });
    expect(r.status).toBe(200);
    expect(r.body).toBe('a'.repeat(200 * KiB));
    await t.assertHealthy();
  });
});
