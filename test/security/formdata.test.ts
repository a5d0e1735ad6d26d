/**
 * Hostile multipart/form-data and FormData: bodies a client sends to a function that calls
 * `request.formData()` (boundary bombs, 100,000 tiny parts, huge headers, unterminated parts), and
 * what a function can do to itself with Blob and FormData (a body of its own making as large as its
 * heap, a Blob repeated until the encoding cannot fit). Each is parsed or fails within a bounded
 * time, as the function's own error or limit, and ends with the gateway and a neighbour healthy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounded, startAttackGateway, type AttackGateway } from './harness.ts';

const MiB = 1024 * 1024;
const B = 'X'.repeat(60);
const CT = `multipart/form-data; boundary=${B}`;

/** Parses the request and answers the number of entries, or the error's name and message (200 either way). */
const PARSER = `export default { async fetch(request) {
  try {
    const fd = await request.formData();
    let n = 0, bytes = 0;
    for (const [, v] of fd) { n++; bytes += typeof v === 'string' ? v.length : v.size; }
    return Response.json({ entries: n, bytes });
  } catch (e) {
    return Response.json({ error: e.name + ': ' + e.message });
  }
} };`;

let t: AttackGateway;

beforeAll(async () => {
  // 8 MiB bodies: enough room for 100,000 parts
  t = await startAttackGateway({ maxBodyBytes: 8 * MiB });
  // CPU is generous (the tests here are about time bounds and memory): a loaded machine must not make them flaky
  await t.deployOk('parse', PARSER, { memoryMb: 64, cpuMs: 5000 });
  await t.deployOk('parse-small', PARSER);
});
afterAll(() => t?.close());

interface Outcome {
  status: number;
  body: any;
}

async function post(name: string, body: string, contentType = CT, what = name): Promise<Outcome> {
  return bounded(30_000, what, async () => {
    const res = await t.fn(name, '', { method: 'POST', body, headers: { 'content-type': contentType }, signal: AbortSignal.timeout(25_000) });
    const text = await res.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  });
}

/** One part whose content is `content`, then the close delimiter. */
const onePart = (content: string) => `--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\n${content}\r\n--${B}--\r\n`;
const fill = (unit: string, size = MiB - 200) => unit.repeat(Math.floor(size / unit.length));

describe('boundary bombs: a part full of near-delimiters parses in bounded time', () => {
  const bombs: Record<string, string> = {
    'delimiters missing their last byte': fill(`\r\n--${B.slice(0, -1)}Y`),
    'delimiters cut in half': fill(`\r\n--${B.slice(0, 30)}`),
    'CR only': fill('\r'),
    'CRLF only': fill('\r\n'),
    'CRLF and dashes': fill('\r\n--'),
    'dashes only': fill('-'),
    'the boundary without its dashes': fill(`\r\n${B}`),
  };
  for (const [label, content] of Object.entries(bombs)) {
    it(label, async () => {
      const r = await post('parse', onePart(content), CT, label);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ entries: 1, bytes: content.length });
      await t.assertHealthy();
    });
  }
});

describe('many parts and huge headers', () => {
  it('100,000 tiny parts: parsed, or stopped by the function\'s own CPU or memory limit', async () => {
    const body = '--b\r\nContent-Disposition: form-data; name="k"\r\n\r\nv\r\n'.repeat(100_000) + '--b--\r\n';
    expect(body.length).toBeLessThan(8 * MiB);
    const r = await post('parse', body, 'multipart/form-data; boundary=b', '100k parts');
    // (an out-of-memory error the function catches is its own affair too)
    if (r.status === 200 && r.body.error === undefined) expect(r.body).toEqual({ entries: 100_000, bytes: 100_000 });
    else if (r.status === 200) expect(r.body.error).toMatch(/out of memory/);
    else {
      expect(r.status).toBe(503);
      expect(['cpu_limit_exceeded', 'memory_limit_exceeded']).toContain(r.body.error);
    }
    await t.assertHealthy();
  });

  it('a function with the default 1 MiB heap given 5 MiB of parts fails on its memory limit', async () => {
    const part = `--${B}\r\nContent-Disposition: form-data; name="k"\r\n\r\nv\r\n`;
    const r = await post('parse-small', part.repeat(50_000) + `--${B}--\r\n`, CT, 'small heap');
    // the limit itself, or (where the body fits but its parse does not) an out-of-memory error the function
    // caught, or the host refusing to hand a streamed body whole past what the heap can hold
    if (r.status === 200) expect(r.body.error).toMatch(/out of memory|body exceeds the cap/);
    else expect([r.status, r.body.error]).toEqual([503, 'memory_limit_exceeded']);
    await t.assertHealthy();
  });

  const headerBombs: Record<string, [string, unknown]> = {
    'a 1 MiB header value': [`--${B}\r\nContent-Disposition: form-data; name="a"\r\nX-Junk: ${fill('h')}\r\n\r\nv\r\n--${B}--`, { entries: 1, bytes: 1 }],
    'a 1 MiB header name': [`--${B}\r\nContent-Disposition: form-data; name="a"\r\n${fill('h')}: v\r\n\r\nv\r\n--${B}--`, { entries: 1, bytes: 1 }],
    '100,000 header lines': [`--${B}\r\nContent-Disposition: form-data; name="a"\r\n${'X-A: b\r\n'.repeat(100_000)}\r\nv\r\n--${B}--`, { entries: 1, bytes: 1 }],
    '20,000 Content-Disposition headers': [`--${B}\r\n${'Content-Disposition: form-data; name="a"\r\n'.repeat(20_000)}\r\nv\r\n--${B}--`, { entries: 1, bytes: 1 }],
    '150,000 Content-Disposition parameters': [`--${B}\r\nContent-Disposition: form-data${'; a=b'.repeat(150_000)}; name="a"\r\n\r\nv\r\n--${B}--`, { entries: 1, bytes: 1 }],
    'a 1 MiB field name': [`--${B}\r\nContent-Disposition: form-data; name="${fill('n')}"\r\n\r\nv\r\n--${B}--`, { entries: 1, bytes: 1 }],
    'a 1 MiB filename*': [`--${B}\r\nContent-Disposition: form-data; name="a"; filename*=utf-8''${fill('%41')}\r\n\r\nv\r\n--${B}--`, { entries: 1, bytes: 1 }],
    'a 1 MiB part Content-Type': [`--${B}\r\nContent-Disposition: form-data; name="a"; filename="f"\r\nContent-Type: ${fill('t')}\r\n\r\nv\r\n--${B}--`, { entries: 1, bytes: 1 }],
    'a 1 MiB field of control characters': [onePart(fill('\u0001')), { entries: 1, bytes: Math.floor((MiB - 200) / 1) }],
  };
  for (const [label, [body, expected]] of Object.entries(headerBombs)) {
    it(label, async () => {
      const r = await post('parse', body, CT, label);
      expect(r.status).toBe(200);
      expect(r.body).toEqual(expected);
      await t.assertHealthy();
    });
  }

  it('a Content-Type header full of parameters and quotes', async () => {
    const params = '; p="\\"\\\\"'.repeat(1500);
    const r = await post('parse', onePart('v'), `multipart/form-data${params}; boundary="${B}"`, 'content-type params');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ entries: 1, bytes: 1 });
    const long = await post('parse', onePart('v'), `multipart/form-data; boundary=${'b'.repeat(5000)}`, 'long boundary');
    expect(long.body.error).toMatch(/^TypeError: /);
    await t.assertHealthy();
  });
});

describe('unterminated and malformed bodies fail fast, as a TypeError in the function', () => {
  const broken: Record<string, string> = {
    'a part that never ends': `--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\n${fill('v')}`,
    'headers that never end': `--${B}\r\nContent-Disposition: form-data; name="a"\r\n${fill('X-A: b\r\n')}`,
    'a header line without CRLF': `--${B}\r\nContent-Disposition: form-data; name="a"${fill('a')}`,
    'a quoted name that never closes': `--${B}\r\nContent-Disposition: form-data; name="${fill('n')}\r\n\r\nv\r\n--${B}--`,
    'no boundary at all': fill('x'),
    'the last delimiter without its close': onePart('v').replace(`--${B}--\r\n`, `--${B}`),
    'parts without names': `--${B}\r\n\r\nv\r\n`.repeat(10_000) + `--${B}--`,
  };
  for (const [label, body] of Object.entries(broken)) {
    it(label, async () => {
      const r = await post('parse', body, CT, label);
      expect(r.status).toBe(200);
      expect(r.body.error).toMatch(/^TypeError: Failed to parse body as FormData/);
      await t.assertHealthy();
    });
  }
});

describe('what a function can do to itself', () => {
  it('parsing a body of its own making as large as its heap allows ends within its CPU limit', async () => {
    await t.deployOk(
      'self-parse',
      `export default { async fetch() {
        const part = '--b\\r\\nContent-Disposition: form-data; name="k"\\r\\n\\r\\nv\\r\\n';
        const body = part.repeat(300000) + '--b--';
        const fd = await new Response(body, { headers: { 'content-type': 'multipart/form-data; boundary=b' } }).formData();
        return new Response(String([...fd.keys()].length));
      } };`,
      { memoryMb: 128, cpuMs: 200 },
    );
    const res = await bounded(30_000, 'self-parse', () => t.fn('self-parse', '', { signal: AbortSignal.timeout(25_000) }));
    const text = await res.text();
    // the host's parse is charged to the invocation: 300,000 parts do not fit in 200 ms of CPU
    if (res.status === 200) expect(text).toBe('300000');
    else {
      expect(res.status).toBe(503);
      expect(['cpu_limit_exceeded', 'memory_limit_exceeded']).toContain(JSON.parse(text).error);
    }
    await t.assertHealthy();
  });

  it('a body over the 32 MiB the host parses is refused before it is copied out of the guest', async () => {
    await t.deployOk(
      'self-huge',
      `export default { async fetch() {
        const body = new Uint8Array(33 * 1024 * 1024);
        try { await new Response(body, { headers: { 'content-type': 'multipart/form-data; boundary=b' } }).formData(); return new Response('parsed'); }
        catch (e) { return new Response(e.name + ': ' + e.message); }
      } };`,
      { memoryMb: 128 },
    );
    const res = await bounded(30_000, 'self-huge', () => t.fn('self-huge', '', { signal: AbortSignal.timeout(25_000) }));
    expect(await res.text()).toBe('TypeError: Failed to parse body as FormData: a multipart body is parsed up to 32 MiB');
    await t.assertHealthy();
  });

  it('a Blob appended 10,000 times cannot be encoded past the heap or the largest array; a million tiny Blob parts stay bounded', async () => {
    await t.deployOk(
      'self-blob',
      `export default { async fetch(request) {
        const what = new URL(request.url).searchParams.get('what');
        if (what === 'repeat') {
          const big = new Blob([new Uint8Array(512 * 1024)]);
          const fd = new FormData();
          for (let i = 0; i < 10000; i++) fd.append('f' + i, big);
          return new Response(fd);
        }
        const parts = [];
        for (let i = 0; i < 1000000; i++) parts.push(i % 2 ? 'a' : new Uint8Array(1));
        return new Response(String(new Blob(parts).size));
      } };`,
      { memoryMb: 16, cpuMs: 5000 },
    );
    const repeat = await bounded(30_000, 'repeat', () => t.fn('self-blob', '?what=repeat', { signal: AbortSignal.timeout(25_000) }));
    const failure = await repeat.json();
    // 5 GB: past the largest ArrayBuffer (RangeError) or the heap
    if (repeat.status === 500) expect(failure.message).toMatch(/RangeError|out of memory/);
    else expect([repeat.status, failure.error]).toEqual([503, 'memory_limit_exceeded']);
    const tiny = await bounded(30_000, 'tiny', () => t.fn('self-blob', '?what=tiny', { signal: AbortSignal.timeout(25_000) }));
    const text = await tiny.text();
    if (tiny.status === 200) expect(text).toBe('1000000');
    else expect(['cpu_limit_exceeded', 'memory_limit_exceeded']).toContain(JSON.parse(text).error);
    await t.assertHealthy();
  });

  it('Blob and FormData keep their state private: patched prototypes, getters and subclasses do not reach the bytes', async () => {
    await t.deployOk(
      'self-patch',
      `export default { async fetch() {
        const b = new Blob(['secret'], { type: 'text/plain' });
        Object.defineProperty(Blob.prototype, 'type', { get() { return 'evil/type'; } });
        Object.defineProperty(Blob.prototype, 'size', { get() { return 1e9; } });
        Uint8Array.prototype.set = function () { throw new Error('patched set'); };
        Object.defineProperty(Object.getPrototypeOf(Uint8Array.prototype), 'length', { get() { throw new Error('patched length'); } });
        const fd = new FormData();
        fd.append('f', b, 'f.txt');
        fd.append('s', 'v');
        const res = new Response(fd);
        const back = await res.formData();
        const f = back.get('f');
        const blobRes = new Response(b);
        return Response.json({ ct: blobRes.headers.get('content-type'), text: await f.text(), s: back.get('s'), sliced: await b.slice(1, 3).text() });
      } };`,
    );
    const res = await bounded(30_000, 'self-patch', () => t.fn('self-patch', '', { signal: AbortSignal.timeout(25_000) }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ct: 'text/plain', text: 'secret', s: 'v', sliced: 'ec' });
    await t.assertHealthy();
  });
});
