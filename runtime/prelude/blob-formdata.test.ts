/**
 * Blob, File and FormData in the sandbox (File API, XHR and Fetch specs), the bodies they make and
 * the bodies that become them: multipart/form-data and application/x-www-form-urlencoded, written
 * by the guest and read by Node, written by Node and read by the guest, on loopback through a real
 * gateway.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { deploySource, invoke, invokeSource, sharedRuntime } from '../../test/helpers/sandbox.ts';
import { startTestGateway, type TestGateway } from '../../test/helpers/gateway.ts';

/** Runs `body` as a fetch handler (it returns a Response); the response's JSON. */
async function guest(body: string, request = {}) {
  const r = await invokeSource(`export default { async fetch(request, env, ctx) { ${body} } }`, request, { memoryMb: 8 });
  if (r.status !== 200) throw new Error(`guest failed: ${r.status} ${r.text}`);
  return r.json();
}

/** What a guest's `formData()` found, as JSON: strings as they are, files as `{ name, type, size, text }`. */
const DESCRIBE = `const describe = async (fd) => { const out = []; for (const [k, v] of fd) out.push([k, typeof v === 'string' ? v : { name: v.name, type: v.type, size: v.size, text: await v.text(), file: v instanceof File }]); return out; };`;

const CRLF = '\r\n';
/** A multipart body from raw lines (joined with CRLF). */
const lines = (...l: string[]) => l.join(CRLF);

describe('Blob', () => {
  test('constructor: parts of every kind, copied and converted in order; type and endings', async () => {
    const out = await guest(`
      const buf = new Uint8Array([65, 66, 67]);
      const b = new Blob(['a', buf, buf.buffer, new DataView(buf.buffer, 1, 1), new Blob(['Z']), 7, { toString() { buf[0] = 97; return '!'; } }]);
      buf[1] = 0;
      const errs = [];
      for (const f of [() => new Blob('abc'), () => new Blob(null), () => new Blob([], 'x'), () => new Blob([], { endings: 'crlf' }), () => new Blob({})]) {
        try { f(); errs.push('no error'); } catch (e) { errs.push(e.constructor.name); }
      }
      return Response.json({
        text: await b.text(), size: b.size,
        types: [new Blob([], { type: 'Text/HTML;Charset=UTF-8' }).type, new Blob([], { type: 'a\\u00e9' }).type, new Blob([], { type: 'a\\nb' }).type, new Blob().type, new Blob([], null).type],
        surrogates: Array.from(await new Blob(['\\ud800', '\\udc00']).bytes()),
        pair: Array.from(await new Blob(['\\ud83d\\ude00']).bytes()),
        native: await new Blob(['a\\r\\nb\\rc\\n'], { endings: 'native' }).text(),
        transparent: await new Blob(['a\\r\\nb'], { endings: 'transparent' }).text(),
        iterables: [await new Blob(new Set(['x', 'y'])).text(), await new Blob((function* () { yield 'g'; yield new Uint8Array([104]); })()).text()],
        empty: [new Blob().size, new Blob([]).size, await new Blob().text()],
        errs,
      });
    `);
    expect(out).toEqual({
      text: 'aABCABCBZ7!',
      size: 11,
      types: ['text/html;charset=utf-8', '', '', '', ''],
      surrogates: [0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd],
      pair: [0xf0, 0x9f, 0x98, 0x80],
      native: 'a\nb\nc\n',
      transparent: 'a\r\nb',
      iterables: ['xy', 'gh'],
      empty: [0, 0, ''],
      errs: ['TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError'],
    });
  });

  test('text, arrayBuffer and bytes hand out copies; text decodes UTF-8 without a BOM', async () => {
    const out = await guest(`
      const b = new Blob([new Uint8Array([0xef, 0xbb, 0xbf, 104, 0xff, 105])]);
      const one = await b.bytes();
      one[3] = 0;
      const ab = await b.arrayBuffer();
      new Uint8Array(ab)[4] = 0;
      return Response.json({ text: await b.text(), again: Array.from(await b.bytes()), abLength: ab.byteLength, fresh: (await b.arrayBuffer()) !== ab, isU8: (await b.bytes()) instanceof Uint8Array });
    `);
    expect(out).toEqual({ text: 'h\ufffdi', again: [0xef, 0xbb, 0xbf, 104, 0xff, 105], abLength: 6, fresh: true, isU8: true });
  });

  test('slice: relative and clamped indexes, content type, always a Blob', async () => {
    const out = await guest(`
      const b = new Blob(['0123456789'], { type: 'text/plain' });
      const s = async (...a) => { const x = b.slice(...a); return [await x.text(), x.type, x.size]; };
      const f = new File(['abcdef'], 'f.txt', { type: 'text/x' });
      const fs = f.slice(1, 3);
      return Response.json({
        cases: [await s(), await s(2), await s(2, 5), await s(-3), await s(-3, -1), await s(5, 2), await s(-100, 100), await s(1.5, 3.5), await s(2.5, 4.5), await s(NaN, Infinity), await s(-Infinity, 2), await s(0, 3, 'Text/CSV'), await s(0, 1, 'bad\\u0100')],
        nested: await b.slice(2, 8).slice(1, -1).text(),
        fromFile: [fs instanceof File, fs instanceof Blob, fs.type, await fs.text()],
        // Web IDL's ToNumber: a BigInt or a Symbol is a TypeError, a throwing valueOf throws through
        errs: [() => b.slice(1n), () => b.slice(0, Symbol()), () => b.slice({ valueOf() { throw new RangeError('mine'); } }), () => new File([], 'x', { lastModified: 5n })].map((f) => { try { f(); return 'no error'; } catch (e) { return e.constructor.name; } }),
        coerced: [await b.slice('2', { valueOf: () => 4 }).text(), await b.slice(true, [3]).text(), await b.slice(null, '-8').text()],
      });
    `);
    expect(out).toEqual({
      cases: [
        ['0123456789', '', 10],
        ['23456789', '', 8],
        ['234', '', 3],
        ['789', '', 3],
        ['78', '', 2],
        ['', '', 0],
        ['0123456789', '', 10],
        ['23', '', 2],
        ['23', '', 2],
        ['0123456789', '', 10],
        ['01', '', 2],
        ['012', 'text/csv', 3],
        ['0', '', 1],
      ],
      nested: '3456',
      fromFile: [false, true, '', 'bc'],
      errs: ['TypeError', 'TypeError', 'RangeError', 'TypeError'],
      coerced: ['23', '12', '01'],
    });
  });

  test('stream() yields a copy of the bytes; methods check their receiver', async () => {
    const out = await guest(`
      const b = new Blob(['stream me']);
      const chunks = [];
      for await (const c of b.stream()) { chunks.push(new TextDecoder().decode(c)); c.fill(0); }
      const reader = b.stream().getReader();
      const first = await reader.read();
      const errs = [];
      for (const f of [() => Object.getOwnPropertyDescriptor(Blob.prototype, 'size').get.call({}), () => Blob.prototype.slice.call({}), () => Object.getOwnPropertyDescriptor(File.prototype, 'name').get.call(new Blob())]) {
        try { f(); errs.push('no error'); } catch (e) { errs.push(e.constructor.name); }
      }
      const rejected = await Blob.prototype.text.call({}).then(() => 'resolved', (e) => e.constructor.name);
      return Response.json({ chunks, first: new TextDecoder().decode(first.value), after: await b.text(), errs, rejected });
    `);
    expect(out).toEqual({ chunks: ['stream me'], first: 'stream me', after: 'stream me', errs: ['TypeError', 'TypeError', 'TypeError'], rejected: 'TypeError' });
  });

  test('Web IDL shape: names, tags, lengths, subclasses', async () => {
    const out = await guest(`
      class Mine extends Blob { extra() { return this.size; } }
      const m = new Mine(['abc']);
      return Response.json({
        names: [Blob.name, File.name, Blob.length, File.length],
        tags: [Object.prototype.toString.call(new Blob()), Object.prototype.toString.call(new File([], 'x'))],
        sub: [m.extra(), m instanceof Blob, await m.text(), Object.getPrototypeOf(File) === Blob],
        globals: [typeof FormData, 'Blob', 'File', 'FormData'].slice(1).map((n) => { const d = Object.getOwnPropertyDescriptor(globalThis, n); return [typeof d.value, d.writable, d.enumerable]; }),
      });
    `);
    expect(out).toEqual({
      names: ['Blob', 'File', 0, 2],
      tags: ['[object Blob]', '[object File]'],
      sub: [3, true, 'abc', true],
      globals: [['function', true, false], ['function', true, false], ['function', true, false]],
    });
  });
});

describe('File', () => {
  test('name, lastModified, type; argument rules', async () => {
    const out = await guest(`
      const before = Date.now();
      const f = new File(['héllo'], 'a/b\\ud800.txt', { type: 'Text/Plain' });
      const after = Date.now();
      const errs = [];
      for (const f of [() => new File(['x']), () => new File(), () => new File('x', 'n'), () => new File([], 'n', 5)]) {
        try { f(); errs.push('no error'); } catch (e) { errs.push(e.constructor.name); }
      }
      return Response.json({
        f: [f.name, f.type, f.size, f.lastModified >= before && f.lastModified <= after, f instanceof Blob, await f.text()],
        lastModified: [new File([], 'x', { lastModified: 42 }).lastModified, new File([], 'x', { lastModified: new Date(1000) }).lastModified, new File([], 'x', { lastModified: -1.9 }).lastModified, new File([], 'x', { lastModified: NaN }).lastModified, new File([], 'x', { lastModified: '12' }).lastModified],
        nameOf: [new File([], 5).name, new File([], null).name],
        errs,
      });
    `);
    expect(out).toEqual({
      f: ['a/b\ufffd.txt', 'text/plain', 6, true, true, 'héllo'],
      lastModified: [42, 1000, -1, 0, 12],
      nameOf: ['5', 'null'],
      errs: ['TypeError', 'TypeError', 'TypeError', 'TypeError'],
    });
  });
});

describe('FormData', () => {
  test('append, get, getAll, has, delete, set keep the entry list in order', async () => {
    const out = await guest(`
      const fd = new FormData();
      fd.append('a', '1');
      fd.append('b', 2);
      fd.append('a', '3');
      fd.append('c', '4');
      const snap = () => [...fd].map(([k, v]) => k + '=' + v).join('&');
      const first = snap();
      fd.set('a', 'x');
      const afterSet = snap();
      fd.set('d', 'new');
      fd.delete('b');
      fd.delete('missing');
      return Response.json({
        first, afterSet, final: snap(), get: [fd.get('a'), fd.get('nope'), fd.getAll('a'), fd.getAll('nope')], has: [fd.has('c'), fd.has('b')],
        usv: (() => { const u = new FormData(); u.append('\\ud800n', 'v\\udfff'); return [...u.keys(), ...u.values()]; })(),
      });
    `);
    expect(out).toEqual({
      first: 'a=1&b=2&a=3&c=4',
      afterSet: 'a=x&b=2&c=4',
      final: 'a=x&c=4&d=new',
      get: ['x', null, ['x'], []],
      has: [true, false],
      usv: ['\ufffdn', 'v\ufffd'],
    });
  });

  test('iteration: entries is the iterator, live, and forEach sees the current list', async () => {
    const out = await guest(`
      const fd = new FormData();
      fd.append('a', '1');
      fd.append('b', '2');
      const seen = [];
      for (const [k] of fd) { seen.push(k); if (k === 'a') fd.append('c', '3'); }
      const each = [];
      fd.forEach(function (v, k, parent) { each.push([k, v, parent === fd, this.tag]); }, { tag: 't' });
      let notFn; try { fd.forEach(5); } catch (e) { notFn = e.constructor.name; }
      return Response.json({ seen, each, keys: [...fd.keys()], values: [...fd.values()], same: FormData.prototype[Symbol.iterator] === FormData.prototype.entries, tag: Object.prototype.toString.call(fd), notFn });
    `);
    expect(out).toEqual({
      seen: ['a', 'b', 'c'],
      each: [['a', '1', true, 't'], ['b', '2', true, 't'], ['c', '3', true, 't']],
      keys: ['a', 'b', 'c'],
      values: ['1', '2', '3'],
      same: true,
      tag: '[object FormData]',
      notFn: 'TypeError',
    });
  });

  test('a Blob becomes a File named "blob"; a File keeps its identity unless a filename is given', async () => {
    const out = await guest(`
      const fd = new FormData();
      const blob = new Blob(['data'], { type: 'text/csv' });
      const file = new File(['file'], 'orig.txt', { type: 'text/plain', lastModified: 7 });
      fd.append('blob', blob);
      fd.append('named', blob, 'named.csv');
      fd.append('file', file);
      fd.append('renamed', file, 'new.txt');
      fd.set('set', blob, 'set.bin');
      const d = (v) => [v instanceof File, v.name, v.type, v.size, v.lastModified === 7];
      return Response.json({ blob: d(fd.get('blob')), named: d(fd.get('named')), same: fd.get('file') === file, renamed: d(fd.get('renamed')), set: d(fd.get('set')), text: await fd.get('renamed').text() });
    `);
    expect(out).toEqual({
      blob: [true, 'blob', 'text/csv', 4, false],
      named: [true, 'named.csv', 'text/csv', 4, false],
      same: true,
      renamed: [true, 'new.txt', 'text/plain', 4, true],
      set: [true, 'set.bin', 'text/csv', 4, false],
      text: 'file',
    });
  });

  test('argument rules: counts, the Blob overload, no form element', async () => {
    const out = await guest(`
      const fd = new FormData();
      const errs = [];
      for (const f of [() => fd.append('a'), () => fd.append('a', 'b', 'c'), () => fd.set('a', {}, 'c'), () => fd.get(), () => fd.has(), () => fd.delete(), () => fd.getAll(), () => new FormData({}), () => new FormData(null)]) {
        try { f(); errs.push('no error'); } catch (e) { errs.push(e.constructor.name); }
      }
      new FormData(undefined);
      fd.append('u', undefined);
      fd.append('n', null);
      fd.append('o', { toString: () => 'obj' });
      const P = FormData.prototype;
      return Response.json({ errs, values: [...fd.values()], length: [FormData.length, P.append.length, P.set.length, P.get.length, P.getAll.length, P.has.length, P.delete.length, P.forEach.length, Blob.prototype.slice.length, File.length] });
    `);
    expect(out).toEqual({
      errs: ['TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError'],
      values: ['undefined', 'null', 'obj'],
      length: [0, 2, 2, 1, 1, 1, 1, 1, 0, 2],
    });
  });
});

describe('bodies', () => {
  test('new Response(formData): multipart/form-data with a boundary, escaped names, CRLF-normalised values', async () => {
    const out = await guest(`
      const fd = new FormData();
      fd.append('line\\nbreak"q', 'v1\\nv2\\rv3\\r\\nv4');
      fd.append('f', new Blob([new Uint8Array([0, 1, 2])]), 'a"b\\r\\n.bin');
      fd.append('t', new File(['x'], 'x.txt', { type: 'text/plain' }));
      const r = new Response(fd);
      const ct = r.headers.get('content-type');
      const boundary = ct.slice(ct.indexOf('boundary=') + 9);
      const text = await r.text();
      return Response.json({ ct: ct.slice(0, ct.indexOf(';')), boundaryLength: boundary.length, text: text.split(boundary).join('B') });
    `);
    expect(out.ct).toBe('multipart/form-data');
    expect(out.boundaryLength).toBeLessThanOrEqual(70);
    expect(out.text).toBe(
      lines(
        '--B',
        'Content-Disposition: form-data; name="line%0D%0Abreak%22q"',
        '',
        'v1\r\nv2\r\nv3\r\nv4',
        '--B',
        'Content-Disposition: form-data; name="f"; filename="a%22b%0D%0A.bin"',
        'Content-Type: application/octet-stream',
        '',
        '\u0000\u0001\u0002',
        '--B',
        'Content-Disposition: form-data; name="t"; filename="x.txt"',
        'Content-Type: text/plain',
        '',
        'x',
        '--B--',
        '',
      ),
    );
  });

  test('round trips through formData(): Response, Request, clone, with every kind of entry', async () => {
    const out = await guest(`
      ${DESCRIBE}
      const fd = new FormData();
      fd.append('text', 'héllo wörld ✓ \u{1f600} \u07ff \uffff');
      fd.append('multi\\nline', 'a\\r\\nb');
      fd.append('empty', '');
      fd.append('file', new File([new Uint8Array([0xff, 0, 13, 10, 45, 45])], 'bin.dat', { type: 'application/x-thing' }));
      fd.append('nameless', new File(['n'], ''));
      fd.append('unicode', new File(['ü'], 'naïve ✓.txt', { type: 'text/plain;charset=utf-8' }));
      const res = new Response(fd);
      const viaClone = await res.clone().formData();
      const req = new Request('https://x.example/', { method: 'POST', body: fd });
      const fromReq = await req.formData();
      const bin = viaClone.get('file');
      return Response.json({ res: await describe(await res.formData()), sameAsClone: JSON.stringify(await describe(viaClone)) === JSON.stringify(await describe(fromReq)), bin: Array.from(await bin.bytes()), reqType: req.headers.get('content-type').startsWith('multipart/form-data; boundary=') });
    `);
    expect(out).toEqual({
      res: [
        ['text', 'héllo wörld ✓ \u{1f600} \u07ff \uffff'],
        ['multi\r\nline', 'a\r\nb'],
        ['empty', ''],
        ['file', { name: 'bin.dat', type: 'application/x-thing', size: 6, text: '\ufffd\u0000\r\n--', file: true }],
        ['nameless', { name: '', type: 'application/octet-stream', size: 1, text: 'n', file: true }],
        ['unicode', { name: 'naïve ✓.txt', type: 'text/plain;charset=utf-8', size: 2, text: 'ü', file: true }],
      ],
      sameAsClone: true,
      bin: [0xff, 0, 13, 10, 45, 45],
      reqType: true,
    });
  });

  test('Blob and File bodies: bytes, the type as Content-Type unless one is given', async () => {
    const out = await guest(`
      const typed = new Response(new Blob(['<b>'], { type: 'Text/HTML' }));
      const untyped = new Response(new Blob([new Uint8Array([1, 2])]));
      const given = new Response(new Blob(['x'], { type: 'text/plain' }), { headers: { 'content-type': 'application/x-mine' } });
      const file = new Request('https://x.example/', { method: 'PUT', body: new File(['f'], 'f.json', { type: 'application/json' }) });
      const b = new Blob(['shared']);
      const r = new Response(b);
      (await r.bytes()).fill(0);
      return Response.json({
        typed: [typed.headers.get('content-type'), await typed.text()], untyped: [untyped.headers.get('content-type'), Array.from(await untyped.bytes())],
        given: given.headers.get('content-type'), file: [file.headers.get('content-type'), await file.text()], untouched: await b.text(),
      });
    `);
    expect(out).toEqual({
      typed: ['text/html', '<b>'],
      untyped: [null, [1, 2]],
      given: 'application/x-mine',
      file: ['application/json', 'f'],
      untouched: 'shared',
    });
  });

  test('blob(): the bytes, typed by the parsed and serialized Content-Type', async () => {
    const out = await guest(
      `
      const t = async (r) => { const b = await r.blob(); return [b.type, b.size, await b.text(), b instanceof Blob, b instanceof File]; };
      return Response.json({
        incoming: await t(request),
        text: await t(new Response('plain')),
        messy: await t(new Response('x', { headers: { 'content-type': 'Text/HTML; Charset="UTF-8"' } })),
        bad: await t(new Response('x', { headers: { 'content-type': 'not a type' } })),
        none: await t(new Response(new Uint8Array([1]))),
        empty: await t(new Response()),
        combined: await t(new Response('x', { headers: [['content-type', 'text/plain;charset=gbk'], ['content-type', 'text/plain']] })),
        bytesUsed: await (async () => { const r = new Response('u'); await r.text(); return r.blob().then(() => 'resolved', (e) => e.constructor.name); })(),
      });
    `,
      { method: 'POST', body: 'incoming body', headers: { 'content-type': 'application/octet-stream' } },
    );
    expect(out).toEqual({
      incoming: ['application/octet-stream', 13, 'incoming body', true, false],
      text: ['text/plain;charset=utf-8', 5, 'plain', true, false],
      messy: ['text/html;charset=utf-8', 1, 'x', true, false],
      bad: ['', 1, 'x', true, false],
      none: ['', 1, '\u0001', true, false],
      empty: ['', 0, '', true, false],
      combined: ['text/plain;charset=gbk', 1, 'x', true, false],
      bytesUsed: 'TypeError',
    });
  });

  test('formData() of application/x-www-form-urlencoded reuses the URLSearchParams parser', async () => {
    const out = await guest(
      `
      const e = async (r) => [...(await r.formData())];
      return Response.json({
        incoming: await e(request),
        params: await e(new Response(new URLSearchParams({ 'a b': 'c+d', é: '✓' }))),
        raw: await e(new Response('?q=1&&=&x&%zz=%41+%2B', { headers: { 'content-type': 'application/x-www-form-urlencoded' } })),
        empty: await e(new Response('', { headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } })),
        nullBody: await e(new Response(null, { headers: { 'content-type': 'application/x-www-form-urlencoded' } })),
      });
    `,
      { method: 'POST', body: 'name=J%C3%B6rg&list=1&list=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    );
    expect(out).toEqual({
      incoming: [['name', 'Jörg'], ['list', '1'], ['list', '2']],
      params: [['a b', 'c+d'], ['é', '✓']],
      raw: [['?q', '1'], ['', ''], ['x', ''], ['%zz', 'A +']],
      empty: [],
      nullBody: [],
    });
  });

  test('formData() errors: disturbed or locked bodies, other types, malformed multipart (the body is used up)', async () => {
    const out = await guest(`
      const err = (p) => p.then(() => 'resolved', (e) => e.constructor.name + ': ' + e.message);
      const mp = (body, ct = 'multipart/form-data; boundary=b') => new Response(body, { headers: { 'content-type': ct } });
      const used = new Response(new URLSearchParams('a=1'));
      await used.text();
      const locked = new Response(new URLSearchParams('a=1'));
      locked.body.getReader();
      const failed = mp('--b\\r\\n');
      const failure = await err(failed.formData());
      return Response.json({
        used: await err(used.formData()),
        locked: await err(locked.formData()),
        text: await err(new Response('a=1').formData()),
        none: await err(new Response(new Uint8Array([1])).formData()),
        noBoundary: await err(mp('x', 'multipart/form-data').formData()),
        emptyForm: [...(await mp('--b--').formData())].length,
        longBoundary: await err(mp('x', 'multipart/form-data; boundary=' + 'x'.repeat(71)).formData()),
        cases: await Promise.all([
          '',
          '--b\\r\\nContent-Disposition: form-data; name="a"\\r\\n\\r\\nv',
          '--b\\r\\nContent-Disposition: form-data; name="a"\\r\\n\\r\\nv\\r\\n--b',
          '--b\\r\\nContent-Disposition: form-data; name="a"\\r\\n\\r\\nv\\r\\n--b\\r\\n',
          '--bx\\r\\nContent-Disposition: form-data; name="a"\\r\\n\\r\\nv\\r\\n--b--',
          '--b\\r\\nContent-Type: text/plain\\r\\n\\r\\nv\\r\\n--b--',
          '--b\\r\\nContent-Disposition: attachment; name="a"\\r\\n\\r\\nv\\r\\n--b--',
          '--b\\r\\nContent-Disposition: form-data; name="a\\r\\n\\r\\nv\\r\\n--b--',
          '--b\\r\\nContent-Disposition form-data; name="a"\\r\\n\\r\\nv\\r\\n--b--',
          '--b\\r\\nBad Name: x\\r\\nContent-Disposition: form-data; name="a"\\r\\n\\r\\nv\\r\\n--b--',
          '--b\\r\\nContent-Disposition: form-data; name="a"\\nX: y\\r\\n\\r\\nv\\r\\n--b--',
          '--b\\r\\nContent-Disposition: form-data; name="a"\\r\\n',
          '--b\\nContent-Disposition: form-data; name="a"\\n\\nv\\n--b--',
        ].map((b) => err(mp(b).formData()))),
        failure, usedAfterFailure: failed.bodyUsed,
      });
    `);
    expect(out.used).toMatch(/^TypeError: /);
    expect(out.locked).toMatch(/^TypeError: /);
    expect(out.text).toMatch(/^TypeError: Could not parse content as FormData/);
    expect(out.none).toMatch(/^TypeError: /);
    expect(out.noBoundary).toMatch(/^TypeError: /);
    expect(out.longBoundary).toMatch(/^TypeError: /);
    expect(out.emptyForm).toBe(0);
    expect(out.cases).toHaveLength(13);
    for (const c of out.cases) expect(c).toMatch(/^TypeError: Failed to parse body as FormData/);
    expect(out.failure).toMatch(/^TypeError: /);
    expect(out.usedAfterFailure).toBe(true);
  });

  test('incoming multipart: quoted boundaries, preamble, epilogue, padding, parameters in any order, filename*, escapes, long fields', async () => {
    const long = 'L'.repeat(5000) + 'é';
    const body = lines(
      'This is a preamble.',
      '--a b:c',
      'content-disposition: form-data; name="plain"',
      'X-Unknown-Header:   ignored',
      '',
      'value with\r\ninner CRLF and -- dashes',
      '--a b:c  ',
      'Content-Disposition: form-data; filename="report.pdf"; name=upload',
      'Content-Type: Application/PDF',
      '',
      '%PDF-1.4',
      '--a b:c',
      'Content-Disposition: form-data; name="esc%22aped%0Aname"; filename="q%22uote.txt"',
      '',
      'no type',
      '--a b:c',
      'Content-Disposition: form-data; name="ext"; filename="fallback.txt"; filename*=UTF-8\'\'%E2%9C%93%20check.txt',
      'Content-Type: text/plain',
      '',
      'ext',
      '--a b:c',
      'Content-Disposition: form-data; name="latin"; filename*=iso-8859-1\'en\'%E9t%E9.txt',
      '',
      'latin',
      '--a b:c',
      'Content-Disposition: form-data; name="raw"; filename="ünï.txt"',
      'Content-Type: text/plain',
      '',
      '',
      '--a b:c',
      'Content-Disposition: form-data; name="long"',
      '',
      long,
      '--a b:c',
      'Content-Disposition: form-data; name="bad utf8"',
      '',
      '\u00ff',
      '--a b:c',
      'Content-Disposition: form-data; name="nested"',
      'Content-Type: multipart/mixed; boundary=inner',
      '',
      '--inner',
      'Content-Disposition: file; filename="in.txt"',
      '',
      'inner',
      '--inner--',
      '--a b:c--',
      'An epilogue, ignored.',
    );
    // "bad utf8": one raw 0xFF byte, which latin1 writes as such
    const bytes = Buffer.from(body, 'utf8');
    const ff = bytes.indexOf(Buffer.from('\u00ff', 'utf8'));
    const raw = Buffer.concat([bytes.subarray(0, ff), Buffer.from([0xff]), bytes.subarray(ff + 2)]);
    const out = await guest(`${DESCRIBE} return Response.json(await describe(await request.formData()));`, {
      method: 'POST',
      body: new Uint8Array(raw),
      headers: { 'content-type': 'multipart/form-data; boundary="a b:c"' },
    });
    expect(out).toEqual([
      ['plain', 'value with\r\ninner CRLF and -- dashes'],
      ['upload', { name: 'report.pdf', type: 'application/pdf', size: 8, text: '%PDF-1.4', file: true }],
      ['esc"aped\nname', { name: 'q"uote.txt', type: 'text/plain', size: 7, text: 'no type', file: true }],
      ['ext', { name: '✓ check.txt', type: 'text/plain', size: 3, text: 'ext', file: true }],
      ['latin', { name: 'été.txt', type: 'text/plain', size: 5, text: 'latin', file: true }],
      ['raw', { name: 'ünï.txt', type: 'text/plain', size: 0, text: '', file: true }],
      ['long', long],
      ['bad utf8', '\ufffd'],
      ['nested', lines('--inner', 'Content-Disposition: file; filename="in.txt"', '', 'inner', '--inner--')],
    ]);
  });
});

// (the streams of this build are the one-chunk bodies of stream.ts; a real ReadableStream lands with the streams work)
test('a function using Blob, File, FormData and their streams fits the default 1 MiB heap', async () => {
  const name = await deploySource(`export default { async fetch(request) {
    const form = await request.formData();
    const out = new FormData();
    for (const [k, v] of form) {
      if (typeof v === 'string') out.append(k, v.toUpperCase());
      else {
        let streamed = 0;
        for await (const chunk of v.stream()) streamed += chunk.byteLength;
        out.append(k, new Blob([await v.bytes(), '!'], { type: v.type }), 'copy-' + v.name);
        out.append('streamed', String(streamed));
      }
    }
    out.append('slice', new Blob(['0123456789']).slice(2, -2));
    out.append('piped', await new Response(new Blob(['via a stream']).stream()).blob());
    return new Response(out);
  } }`);
  const body = lines('--b', 'Content-Disposition: form-data; name="t"', '', 'text', '--b', 'Content-Disposition: form-data; name="f"; filename="f.txt"', 'Content-Type: text/plain', '', 'x'.repeat(20_000), '--b--');
  const r = await invoke(name, { method: 'POST', body, headers: { 'content-type': 'multipart/form-data; boundary=b' } });
  expect(r.status).toBe(200);
  expect(r.text).toContain('TEXT');
  expect(r.text).toContain('\r\n\r\n20000\r\n');
  expect(r.text).toContain('\r\n\r\nvia a stream\r\n');
  const stats = (await sharedRuntime()).stats().find((s) => s.name === name)!;
  console.log(`Blob + FormData + stream function instance heap: ${stats.heapBytes} bytes`);
  expect(stats.heapBytes).toBeLessThan(512 * 1024);
});

describe('interop with Node on loopback, through the gateway', () => {
  let t: TestGateway;
  let upstream: Server;
  let port: number;
  /** What the upstream parsed of the last multipart request (with Node's own Request.formData). */
  let lastParsed: unknown;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', async () => {
        if (req.url === '/parse') {
          const fd = await new Request('http://x/', { method: 'POST', body: Buffer.concat(chunks), headers: { 'content-type': String(req.headers['content-type']) } }).formData();
          lastParsed = await Promise.all([...fd].map(async ([k, v]) => (typeof v === 'string' ? [k, v] : [k, v.name, v.type, await v.text()])));
          res.end('ok');
          return;
        }
        // /serve: a multipart body written by Node's own Response
        const fd = new FormData();
        fd.append('from', 'node ✓');
        fd.append('upload', new File([new Uint8Array([0, 200, 13, 10])], 'node.bin', { type: 'application/x-node' }));
        const r = new Response(fd);
        res.writeHead(200, { 'content-type': r.headers.get('content-type')! });
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    port = (upstream.address() as AddressInfo).port;
    t = await startTestGateway();
    const config = { allowedHosts: [`127.0.0.1:${port}`], memoryMb: 8 };
    const deploy = async (name: string, source: string) => expect((await t.deploy(name, source, config)).status).toBe(201);
    await deploy(
      'fd-echo',
      `export default { async fetch(request) {
        const fd = await request.formData();
        const out = new FormData();
        for (const [k, v] of fd) out.append('echo-' + k, v);
        out.append('seen', String([...fd.keys()].length));
        return new Response(out);
      } };`,
    );
    await deploy(
      'fd-fetch',
      `export default { async fetch() {
        const fd = new FormData();
        fd.append('guest', 'written in the guest ✓');
        fd.append('file', new File(['line1\\r\\nline2'], 'g.txt', { type: 'text/plain' }));
        const sent = await fetch('http://127.0.0.1:${port}/parse', { method: 'POST', body: fd });
        const served = await (await fetch('http://127.0.0.1:${port}/serve')).formData();
        const up = served.get('upload');
        return Response.json({ sent: await sent.text(), served: [served.get('from'), up.name, up.type, Array.from(await up.bytes())] });
      } };`,
    );
  });

  afterAll(async () => {
    await t?.close();
    await new Promise((r) => upstream?.close(r));
  });

  test("Node's FormData in, the guest's FormData out, Node parses the answer", async () => {
    const fd = new FormData();
    fd.append('name', 'Zoë');
    fd.append('doc', new File(['<p>hi</p>'], 'page.html', { type: 'text/html' }));
    fd.append('bin', new Blob([new Uint8Array([255, 0, 45, 45, 13, 10])]), 'b.bin');
    const res = await t.fn('fd-echo', '', { method: 'POST', body: fd, signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/);
    const back = await res.formData();
    const entries = await Promise.all([...back].map(async ([k, v]) => (typeof v === 'string' ? [k, v] : [k, v.name, v.type, [...new Uint8Array(await v.arrayBuffer())]])));
    expect(entries).toEqual([
      ['echo-name', 'Zoë'],
      ['echo-doc', 'page.html', 'text/html', [...Buffer.from('<p>hi</p>')]],
      ['echo-bin', 'b.bin', 'application/octet-stream', [255, 0, 45, 45, 13, 10]],
      ['seen', '3'],
    ]);
  });

  test('the guest fetches with a FormData body (Node parses it) and parses what Node serves', async () => {
    const res = await t.fn('fd-fetch', '', { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sent: 'ok', served: ['node ✓', 'node.bin', 'application/x-node', [0, 200, 13, 10]] });
    expect(lastParsed).toEqual([
      ['guest', 'written in the guest ✓'],
      ['file', 'g.txt', 'text/plain', 'line1\r\nline2'],
    ]);
  });
});
