import { describe, expect, test } from 'vitest';
import { gzipSync, gunzipSync } from 'node:zlib';
import { invokeSource, type RequestSpec } from '../../test/helpers/sandbox.ts';

/**
 * WHATWG Streams, the Encoding spec's TextEncoderStream/TextDecoderStream, the Compression spec, and
 * the Fetch spec's body streams, in the sandbox (every engine and isolation mode: ON_EVERY_ENGINE).
 * Each guest runs a series of checks and answers what it saw as JSON.
 */

/** Runs `body` (an async function body that returns a JSON-able value) in a fresh function. */
async function run(body: string, request: RequestSpec = {}, config: object = {}): Promise<any> {
  const res = await invokeSource(`export default { async fetch(request) { const out = await (async () => { ${body} })(); return Response.json(out); } };`, request, config);
  if (res.status !== 200) throw new Error(`guest answered ${res.status}: ${res.text}`);
  return res.json();
}

/** What a rejection or a throw carries: its class name and message. */
const CATCH = `const err = (e) => ({ name: e?.constructor?.name ?? typeof e, message: String(e?.message ?? e) });
  const settle = (p) => Promise.resolve(p).then((v) => ({ ok: v }), (e) => ({ error: err(e) }));
  const attempt = (f) => { try { return { ok: f() }; } catch (e) { return { error: err(e) }; } };`;

describe('ReadableStream (default)', () => {
  test('start, pull and the queue: desiredSize follows the strategy, pull stops when it is full', async () => {
    const out = await run(`
      const log = [];
      let controller;
      const rs = new ReadableStream({
        start(c) { controller = c; log.push('start:' + c.desiredSize); },
        pull(c) { log.push('pull:' + c.desiredSize); c.enqueue(log.length); },
      }, new CountQueuingStrategy({ highWaterMark: 2 }));
      await new Promise((r) => setTimeout(r, 10));
      const size = controller.desiredSize;
      const reader = rs.getReader();
      const first = await reader.read();
      await new Promise((r) => setTimeout(r, 10));
      return { log, size, first, locked: rs.locked, tag: Object.prototype.toString.call(rs), name: ReadableStream.name };
    `);
    expect(out.log).toEqual(['start:2', 'pull:2', 'pull:1', 'pull:1']);
    expect(out.size).toBe(0);
    expect(out.first).toEqual({ value: 2, done: false });
    expect(out.locked).toBe(true);
    expect(out.tag).toBe('[object ReadableStream]');
    expect(out.name).toBe('ReadableStream');
  });

  test('readers: one at a time, releaseLock, done after close, cancel of a locked stream rejects', async () => {
    const out = await run(`${CATCH}
      const rs = new ReadableStream({ start(c) { c.enqueue('a'); c.close(); } });
      const r1 = rs.getReader();
      const second = attempt(() => rs.getReader());
      const cancelLocked = await settle(rs.cancel());
      const a = await r1.read();
      const end = await r1.read();
      r1.releaseLock();
      const afterRelease = await settle(r1.read());
      const closed = await settle(rs.getReader().closed);
      const readerClass = rs.getReader ? typeof ReadableStreamDefaultReader : 'none';
      return { second, cancelLocked, a, end, afterRelease, closed, readerClass };
    `);
    expect(out.second.error.name).toBe('TypeError');
    expect(out.cancelLocked.error.name).toBe('TypeError');
    expect(out.a).toEqual({ value: 'a', done: false });
    expect(out.end).toEqual({ done: true });
    expect(out.afterRelease.error.name).toBe('TypeError');
    expect(out.closed).toEqual({});
    expect(out.readerClass).toBe('function');
  });

  test('an errored stream: reads and closed reject with its error; enqueue after close throws', async () => {
    const out = await run(`${CATCH}
      let c;
      const rs = new ReadableStream({ start(ctrl) { c = ctrl; } });
      const reader = rs.getReader();
      const pending = settle(reader.read());
      c.error(new RangeError('broken'));
      const read = await pending;
      const closed = await settle(reader.closed);
      const enqueue = attempt(() => c.enqueue(1));
      const pullThrows = new ReadableStream({ pull() { throw new SyntaxError('pull failed'); } });
      const fromPull = await settle(pullThrows.getReader().read());
      const closedTwice = attempt(() => { const s = new ReadableStream({ start(k) { k.close(); k.close(); } }); });
      return { read, closed, enqueue, fromPull, closedTwice };
    `);
    expect(out.read.error).toEqual({ name: 'RangeError', message: 'broken' });
    expect(out.closed.error.message).toBe('broken');
    expect(out.enqueue.error.name).toBe('TypeError');
    expect(out.fromPull.error).toEqual({ name: 'SyntaxError', message: 'pull failed' });
    expect(out.closedTwice.error.name).toBe('TypeError');
  });

  test('async iteration, breaking out cancels, preventCancel keeps it; ReadableStream.from', async () => {
    const out = await run(`
      const seen = [];
      let cancelled = null;
      let n = 0;
      const rs = new ReadableStream({ pull(c) { c.enqueue(n++); }, cancel(r) { cancelled = String(r); } });
      for await (const x of rs) { seen.push(x); if (seen.length === 3) break; }
      const kept = new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); c.close(); } });
      const it = kept.values({ preventCancel: true });
      await it.next();
      await it.return();
      const rest = [];
      for await (const x of kept) rest.push(x);
      const fromArray = [];
      for await (const x of ReadableStream.from(['x', 'y'])) fromArray.push(x);
      async function* gen() { yield 1; yield 2; }
      const fromGen = [];
      for await (const x of ReadableStream.from(gen())) fromGen.push(x);
      return { seen, cancelled, rest, fromArray, fromGen };
    `);
    expect(out.seen).toEqual([0, 1, 2]);
    expect(out.cancelled).toBe('undefined');
    expect(out.rest).toEqual([2]);
    expect(out.fromArray).toEqual(['x', 'y']);
    expect(out.fromGen).toEqual([1, 2]);
  });

  test('tee: both branches see every chunk; the source is cancelled only when both are', async () => {
    const out = await run(`
      let reason = null;
      const rs = new ReadableStream({ start(c) { c.enqueue('a'); c.enqueue('b'); }, cancel(r) { reason = r; } });
      const [x, y] = rs.tee();
      const rx = x.getReader(), ry = y.getReader();
      const got = [await rx.read(), await rx.read(), await ry.read(), await ry.read()].map((r) => r.value);
      // a branch's cancel settles once both branches are cancelled
      const one = rx.cancel('one');
      await new Promise((r) => setTimeout(r, 5));
      const afterOne = reason;
      await Promise.all([one, ry.cancel('two')]);
      return { got, afterOne, reason, locked: rs.locked };
    `);
    expect(out.got).toEqual(['a', 'b', 'a', 'b']);
    expect(out.afterOne).toBe(null);
    expect(out.reason).toEqual(['one', 'two']);
    expect(out.locked).toBe(true);
  });
});

describe('byte streams and BYOB readers', () => {
  test('a BYOB reader fills the view it is given; respond and autoAllocateChunkSize', async () => {
    const out = await run(`${CATCH}
      let n = 0;
      const rs = new ReadableStream({
        type: 'bytes',
        pull(c) {
          const req = c.byobRequest;
          if (n++ === 2) { c.close(); if (req) req.respond(0); return; }
          const v = req.view;
          for (let i = 0; i < 3; i++) v[i] = n * 10 + i;
          req.respond(3);
        },
      });
      const reader = rs.getReader({ mode: 'byob' });
      const a = await reader.read(new Uint8Array(8));
      const b = await reader.read(new Uint8Array(8));
      const end = await reader.read(new Uint8Array(8));
      const auto = new ReadableStream({ type: 'bytes', autoAllocateChunkSize: 4, pull(c) { c.byobRequest.view[0] = 9; c.byobRequest.respond(1); c.close(); } });
      const viaDefault = await auto.getReader().read();
      const notBytes = attempt(() => new ReadableStream({ start() {} }).getReader({ mode: 'byob' }));
      const enqueueString = attempt(() => new ReadableStream({ type: 'bytes', start(c) { c.enqueue('x'); } }));
      return {
        a: [...a.value], b: [...b.value], end: end.done, endLen: end.value?.byteLength,
        auto: [...viaDefault.value], notBytes, enqueueString,
        classes: [typeof ReadableStreamBYOBReader, typeof ReadableByteStreamController, typeof ReadableStreamBYOBRequest],
      };
    `);
    expect(out.a).toEqual([10, 11, 12]);
    expect(out.b).toEqual([20, 21, 22]);
    expect(out.end).toBe(true);
    expect(out.endLen).toBe(0);
    expect(out.auto).toEqual([9]);
    expect(out.notBytes.error.name).toBe('TypeError');
    expect(out.enqueueString.error.name).toBe('TypeError');
    expect(out.classes).toEqual(['function', 'function', 'function']);
  });
});

describe('WritableStream, TransformStream, piping, queuing strategies', () => {
  test('a writer: backpressure through desiredSize and ready, close, abort', async () => {
    const out = await run(`${CATCH}
      const written = [];
      let release;
      const ws = new WritableStream({
        write(chunk) { written.push(chunk); return new Promise((r) => (release = r)); },
        close() { written.push('closed'); },
      }, new CountQueuingStrategy({ highWaterMark: 2 }));
      const w = ws.getWriter();
      const sizes = [w.desiredSize];
      w.write('a'); sizes.push(w.desiredSize);
      w.write('b'); sizes.push(w.desiredSize);
      w.write('c'); sizes.push(w.desiredSize);
      await new Promise((r) => setTimeout(r, 5));
      release(); await new Promise((r) => setTimeout(r, 5));
      release(); await new Promise((r) => setTimeout(r, 5));
      release();
      await w.close();
      let aborted = null;
      const ws2 = new WritableStream({ abort(r) { aborted = r; } });
      const w2 = ws2.getWriter();
      await w2.abort('stop');
      const afterAbort = await settle(w2.write('x'));
      const lockedTwice = attempt(() => ws.getWriter());
      return { written, sizes, aborted, afterAbort, lockedTwice };
    `);
    expect(out.written).toEqual(['a', 'b', 'c', 'closed']);
    expect(out.sizes).toEqual([2, 1, 0, -1]);
    expect(out.aborted).toBe('stop');
    expect(out.afterAbort.error).toEqual({ name: 'String', message: 'stop' });
    expect(out.lockedTwice.error.name).toBe('TypeError');
  });

  test('TransformStream: transform, flush, terminate, errors reach both sides', async () => {
    const out = await run(`${CATCH}
      const upper = new TransformStream({
        transform(chunk, c) { c.enqueue(String(chunk).toUpperCase()); },
        flush(c) { c.enqueue('!'); },
      });
      const got = [];
      const piped = new ReadableStream({ start(c) { c.enqueue('a'); c.enqueue('b'); c.close(); } }).pipeThrough(upper);
      for await (const x of piped) got.push(x);
      const ended = new TransformStream({ transform(chunk, c) { c.enqueue(chunk); c.terminate(); } });
      const w = ended.writable.getWriter();
      w.write(1);
      const r = ended.readable.getReader();
      const t1 = await r.read(), t2 = await r.read();
      const failing = new TransformStream({ transform() { throw new TypeError('no'); } });
      const fw = failing.writable.getWriter();
      // (a write waits until the readable side is read: its queue holds nothing)
      const reading = settle(failing.readable.getReader().read());
      const write = await settle(fw.write(1));
      const read = await reading;
      return { got, t1, t2, write, read };
    `);
    expect(out.got).toEqual(['A', 'B', '!']);
    expect(out.t1).toEqual({ value: 1, done: false });
    expect(out.t2).toEqual({ done: true });
    expect(out.write.error).toEqual({ name: 'TypeError', message: 'no' });
    expect(out.read.error).toEqual({ name: 'TypeError', message: 'no' });
  });

  test('pipeTo: every chunk arrives, preventClose, an abort signal stops the pipe; locked streams refuse', async () => {
    const out = await run(`${CATCH}
      const sink = [];
      let closed = false;
      const make = () => new WritableStream({ write(c) { sink.push(c); }, close() { closed = true; } });
      await new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); c.close(); } }).pipeTo(make(), { preventClose: true });
      const preventClose = closed;
      await new ReadableStream({ start(c) { c.enqueue(3); c.close(); } }).pipeTo(make());
      const ac = new AbortController();
      const endless = new ReadableStream({ pull(c) { return new Promise((r) => setTimeout(() => { c.enqueue(0); r(); }, 5)); } });
      const piping = settle(endless.pipeTo(new WritableStream(), { signal: ac.signal }));
      setTimeout(() => ac.abort(), 20);
      const aborted = await piping;
      const rs = new ReadableStream();
      rs.getReader();
      const locked = await settle(rs.pipeTo(new WritableStream()));
      const lockedThrough = attempt(() => rs.pipeThrough(new TransformStream()));
      return { sink, preventClose, closed, aborted, locked, lockedThrough };
    `);
    expect(out.sink).toEqual([1, 2, 3]);
    expect(out.preventClose).toBe(false);
    expect(out.closed).toBe(true);
    expect(out.aborted.error.message).toMatch(/abort/i);
    expect(out.locked.error.name).toBe('TypeError');
    expect(out.lockedThrough.error.name).toBe('TypeError');
  });

  test('queuing strategies: size and highWaterMark', async () => {
    const out = await run(`${CATCH}
      const b = new ByteLengthQueuingStrategy({ highWaterMark: 16 });
      const c = new CountQueuingStrategy({ highWaterMark: 3 });
      let ctrl;
      new ReadableStream({ start(k) { ctrl = k; } }, b);
      ctrl.enqueue(new Uint8Array(10));
      return {
        b: [b.highWaterMark, b.size(new Uint8Array(7))], c: [c.highWaterMark, c.size('anything')],
        desired: ctrl.desiredSize, missing: attempt(() => new CountQueuingStrategy()),
        negative: attempt(() => new ReadableStream({}, { highWaterMark: -1 })),
      };
    `);
    expect(out.b).toEqual([16, 7]);
    expect(out.c).toEqual([3, 1]);
    expect(out.desired).toBe(6);
    expect(out.missing.error.name).toBe('TypeError');
    expect(out.negative.error.name).toBe('RangeError');
  });
});

describe('TextEncoderStream and TextDecoderStream', () => {
  test('a surrogate pair or a UTF-8 sequence split across chunks comes out whole', async () => {
    const out = await run(`${CATCH}
      const collect = async (readable) => { const out = []; for await (const x of readable) out.push(x); return out; };
      const enc = new TextEncoderStream();
      const ew = enc.writable.getWriter();
      ew.write('a\\ud83d'); ew.write('\\ude00b'); ew.write('\\ud800'); ew.close();
      const bytes = (await collect(enc.readable)).flatMap((u) => [...u]);
      const dec = new TextDecoderStream();
      const dw = dec.writable.getWriter();
      const euro = new TextEncoder().encode('€');
      dw.write(euro.subarray(0, 1)); dw.write(euro.subarray(1)); dw.write(new Uint8Array([0x41])); dw.close();
      const text = (await collect(dec.readable)).join('');
      const fatal = new TextDecoderStream('utf-8', { fatal: true });
      const fatalRead = settle(fatal.readable.getReader().read());
      const fatalWriter = fatal.writable.getWriter();
      fatalWriter.write(new Uint8Array([0xc3, 0x28]));
      const bad = await settle(fatalWriter.close());
      await fatalRead;
      const plain = new TextDecoderStream();
      const plainRead = settle(plain.readable.getReader().read());
      const notBytes = await settle(plain.writable.getWriter().write('str'));
      await plainRead;
      return { bytes, text, bad, notBytes, attrs: [enc.encoding, dec.encoding, fatal.fatal, dec.ignoreBOM] };
    `);
    expect(out.bytes).toEqual([0x61, 0xf0, 0x9f, 0x98, 0x80, 0x62, 0xef, 0xbf, 0xbd]);
    expect(out.text).toBe('€A');
    expect(out.bad.error.name).toBe('TypeError');
    expect(out.notBytes.error.name).toBe('TypeError');
    expect(out.attrs).toEqual(['utf-8', 'utf-8', true, false]);
  });
});

describe('CompressionStream and DecompressionStream', () => {
  test('gzip, deflate and deflate-raw round trip; bad formats, bad data and junk are TypeErrors', async () => {
    const out = await run(`${CATCH}
      const data = new TextEncoder().encode('streams all the way down. '.repeat(1000));
      const through = (bytes, stream) => new Response(new Response(bytes).body.pipeThrough(stream)).arrayBuffer();
      const sizes = {};
      for (const f of ['gzip', 'deflate', 'deflate-raw']) {
        const packed = await through(data, new CompressionStream(f));
        const back = new Uint8Array(await through(packed, new DecompressionStream(f)));
        sizes[f] = [packed.byteLength, back.length === data.length && back.every((b, i) => b === data[i])];
      }
      const format = attempt(() => new CompressionStream('brotli'));
      const none = attempt(() => new DecompressionStream());
      const corrupt = await settle(through(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), new DecompressionStream('gzip')));
      const gz = new Uint8Array(await through(data, new CompressionStream('gzip')));
      const truncated = await settle(through(gz.subarray(0, gz.length - 10), new DecompressionStream('gzip')));
      const deflated = new Uint8Array(await through(data, new CompressionStream('deflate')));
      const junk = new Uint8Array(deflated.length + 3); junk.set(deflated); junk.set([1, 2, 3], deflated.length);
      const trailing = await settle(through(junk, new DecompressionStream('deflate')));
      const cs = new CompressionStream('gzip');
      const csRead = settle(cs.readable.getReader().read());
      const stringChunk = await settle(cs.writable.getWriter().write('text'));
      await csRead;
      return { length: data.length, sizes, format, none, corrupt, truncated, trailing, stringChunk };
    `);
    for (const f of ['gzip', 'deflate', 'deflate-raw']) {
      expect(out.sizes[f][1]).toBe(true);
      expect(out.sizes[f][0]).toBeLessThan(out.length / 20);
    }
    expect(out.format.error.name).toBe('TypeError');
    expect(out.none.error.name).toBe('TypeError');
    expect(out.corrupt.error.name).toBe('TypeError');
    expect(out.truncated.error.name).toBe('TypeError');
    expect(out.trailing.error.name).toBe('TypeError');
    expect(out.stringChunk.error.name).toBe('TypeError');
  });

  test('the guest reads what node:zlib wrote, and node:zlib reads what the guest wrote', async () => {
    const text = 'compressed on the host, inflated in the guest '.repeat(200);
    const res = await invokeSource(
      `export default { async fetch(request) {
        const plain = await new Response(request.body.pipeThrough(new DecompressionStream('gzip'))).text();
        const packed = await new Response(new Response(plain + '|guest').body.pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
        return Response.json([...new Uint8Array(packed)]);
      } };`,
      { method: 'POST', chunks: [gzipSync(text)] },
    );
    expect(gunzipSync(Buffer.from(res.json())).toString()).toBe(`${text}|guest`);
  });
});

describe('bodies as streams (Fetch)', () => {
  test('body is a ReadableStream; bodyUsed; a locked or disturbed body cannot be read again', async () => {
    const out = await run(`${CATCH}
      const res = new Response('hello');
      const body = res.body;
      const same = body === res.body;
      const isStream = body instanceof ReadableStream;
      const reader = body.getReader();
      const lockedText = await settle(res.text());
      const first = await reader.read();
      const used = res.bodyUsed;
      reader.releaseLock();
      const again = await settle(res.text());
      const r2 = new Response('x');
      await r2.text();
      const twice = await settle(r2.text());
      const usedBody = r2.body instanceof ReadableStream && r2.bodyUsed;
      return { same, isStream, lockedText, first: new TextDecoder().decode(first.value), used, again, twice, usedBody, empty: new Response(null).body };
    `);
    expect(out.same).toBe(true);
    expect(out.isStream).toBe(true);
    expect(out.lockedText.error.name).toBe('TypeError');
    expect(out.first).toBe('hello');
    expect(out.used).toBe(true);
    expect(out.again.error.name).toBe('TypeError');
    expect(out.twice.error.name).toBe('TypeError');
    expect(out.usedBody).toBe(true);
    expect(out.empty).toBe(null);
  });

  test('Request and Response take a ReadableStream body; a locked or disturbed one is refused; clone tees', async () => {
    const out = await run(`${CATCH}
      const enc = new TextEncoder();
      const stream = () => new ReadableStream({ start(c) { c.enqueue(enc.encode('ab')); c.enqueue(enc.encode('cd')); c.close(); } });
      const text = await new Response(stream()).text();
      const req = new Request('https://x.test/', { method: 'POST', body: stream(), duplex: 'half' });
      const reqText = await req.text();
      const locked = stream(); locked.getReader();
      const lockedBody = attempt(() => new Response(locked));
      const disturbed = stream(); await disturbed.cancel();
      const disturbedBody = attempt(() => new Response(disturbed));
      const original = new Response(stream());
      const copy = original.clone();
      const both = [await original.text(), await copy.text()];
      const strings = new ReadableStream({ start(c) { c.enqueue('not bytes'); c.close(); } });
      const notBytes = await settle(new Response(strings).text());
      const ctype = new Response(stream()).headers.get('content-type');
      return { text, reqText, lockedBody, disturbedBody, both, notBytes, ctype };
    `);
    expect(out.text).toBe('abcd');
    expect(out.reqText).toBe('abcd');
    expect(out.lockedBody.error.name).toBe('TypeError');
    expect(out.disturbedBody.error.name).toBe('TypeError');
    expect(out.both).toEqual(['abcd', 'abcd']);
    expect(out.notBytes.error.name).toBe('TypeError');
    expect(out.ctype).toBe(null);
  });

  test('a streamed request body is read from the host as the guest asks: chunk by chunk, or whole', async () => {
    const chunked = await run(
      `const sizes = []; for await (const c of request.body) sizes.push(c.byteLength); return { sizes, used: request.bodyUsed };`,
      { method: 'POST', chunks: ['abc', 'defg', 'h'] },
    );
    expect(chunked).toEqual({ sizes: [3, 4, 1], used: true });
    const whole = await run(`return { text: await request.text(), used: request.bodyUsed, again: await request.text().catch((e) => e.constructor.name) };`, {
      method: 'POST',
      chunks: ['hello ', 'world'],
    });
    expect(whole).toEqual({ text: 'hello world', used: true, again: 'TypeError' });
    const cloned = await run(`const c = request.clone(); return [await request.text(), await c.text()];`, { method: 'POST', chunks: ['x', 'y'] });
    expect(cloned).toEqual(['xy', 'xy']);
  });

  test('a response streamed by the guest reaches the host whole; a request body can be passed back as it is', async () => {
    const streamed = await invokeSource(`export default { async fetch() {
      const enc = new TextEncoder(); let i = 0;
      return new Response(new ReadableStream({ async pull(c) { await null; if (i < 5) c.enqueue(enc.encode(String(i++))); else c.close(); } }));
    } };`);
    expect(streamed.text).toBe('01234');
    const echoed = await invokeSource(`export default { fetch(request) { return new Response(request.body, { headers: { 'x-echo': '1' } }); } };`, {
      method: 'POST',
      chunks: ['pass', 'ed ', 'on'],
    });
    expect(echoed.text).toBe('passed on');
    expect(echoed.headers['x-echo']).toBe('1');
    const big = await invokeSource(`export default { fetch() {
      return new Response(new ReadableStream({ start(c) { c.enqueue(new Uint8Array(300 * 1024).fill(65)); c.close(); } }));
    } };`);
    expect(big.text.length).toBe(300 * 1024);
  });

  test('a response stream that errors or yields something other than bytes fails the invocation', async () => {
    await expect(
      invokeSource(`export default { fetch() { return new Response(new ReadableStream({ pull(c) { c.error(new RangeError('source broke')); } })); } };`),
    ).rejects.toThrow(/source broke/);
    await expect(
      invokeSource(`export default { fetch() { return new Response(new ReadableStream({ start(c) { c.enqueue('text'); c.close(); } })); } };`),
    ).rejects.toThrow(/chunk must be a Uint8Array/);
  });
});
