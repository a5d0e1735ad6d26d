import { expect, test } from 'vitest';
import { invokeSource } from '../../test/helpers/sandbox.ts';

async function guest(body: string) {
  const r = await invokeSource(`export default { async fetch(request, env, ctx) { ${body} } }`);
  if (r.status !== 200) throw new Error(`guest failed: ${r.status} ${r.text}`);
  return r.json();
}

const TEXT = 'héllo wörld ✓ 日本 🎉';

test('TextEncoder / TextDecoder round-trip non-ASCII text', async () => {
  const out = await guest(`
    const text = ${JSON.stringify(TEXT)};
    const bytes = new TextEncoder().encode(text);
    const into = new Uint8Array(8);
    const res = new TextEncoder().encodeInto(text, into);
    const big = new Uint8Array(64);
    const all = new TextEncoder().encodeInto(text, big);
    return Response.json({
      bytes: Array.from(bytes), back: new TextDecoder().decode(bytes), fromBuffer: new TextDecoder('UTF-8').decode(bytes.buffer),
      into: [res.read, res.written, Array.from(into.subarray(0, res.written))], all: [all.read, all.written],
      empty: [new TextEncoder().encode().length, new TextDecoder().decode()], lone: Array.from(new TextEncoder().encode('a\\ud800b')),
      encoding: [new TextEncoder().encoding, new TextDecoder('utf8').encoding],
    });
  `);
  const bytes = new TextEncoder().encode(TEXT);
  const into = new Uint8Array(8);
  const res = new TextEncoder().encodeInto(TEXT, into);
  expect(out).toEqual({
    bytes: Array.from(bytes),
    back: TEXT,
    fromBuffer: TEXT,
    into: [res.read, res.written, Array.from(into.subarray(0, res.written))],
    all: [TEXT.length, bytes.length],
    empty: [0, ''],
    lone: [97, 0xef, 0xbf, 0xbd, 98],
    encoding: ['utf-8', 'utf-8'],
  });
});

test('TextDecoder: BOM, fatal errors, replacement, streaming split characters', async () => {
  const out = await guest(`
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x61]);
    let fatal; try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0x61, 0xff])); } catch (e) { fatal = [e.constructor.name, e.message]; }
    let label; try { new TextDecoder('latin1'); } catch (e) { label = e.constructor.name; }
    const d = new TextDecoder();
    const bytes = new TextEncoder().encode('日本🎉');
    const streamed = d.decode(bytes.subarray(0, 2), { stream: true }) + d.decode(bytes.subarray(2, 7), { stream: true }) + d.decode(bytes.subarray(7));
    return Response.json({
      bom: new TextDecoder().decode(bom), keepBom: new TextDecoder('utf-8', { ignoreBOM: true }).decode(bom).length,
      fatal, label, replaced: new TextDecoder().decode(new Uint8Array([0x61, 0xff, 0x62])), streamed,
      flags: [new TextDecoder('utf-8', { fatal: true }).fatal, new TextDecoder().ignoreBOM],
    });
  `);
  expect(out).toEqual({
    bom: 'a',
    keepBom: 2,
    fatal: ['TypeError', 'The encoded data was not valid utf-8'],
    label: 'RangeError',
    replaced: 'a\ufffdb',
    streamed: '日本🎉',
    flags: [true, false],
  });
});

test('atob / btoa follow forgiving-base64', async () => {
  const out = await guest(`
    const errs = [];
    for (const f of [() => atob('a'), () => atob('ab=c'), () => btoa('✓')]) {
      try { f(); errs.push('no error'); } catch (e) { errs.push(e.name); }
    }
    return Response.json({ enc: btoa('hello\\u00ff'), dec: atob(' aGVs bG8= '), noPad: atob('aGVsbA'), errs });
  `);
  expect(out).toEqual({
    enc: Buffer.from('hello\u00ff', 'latin1').toString('base64'),
    dec: 'hello',
    noPad: 'hell',
    errs: ['InvalidCharacterError', 'InvalidCharacterError', 'InvalidCharacterError'],
  });
});
