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
    let label; try { new TextDecoder('iso-8859-2'); } catch (e) { label = e.constructor.name; }
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

test('TextDecoder labels: every WHATWG label of UTF-8, UTF-16LE/BE and windows-1252, trimmed and case-insensitive', async () => {
  const labels: Record<string, string[]> = {
    'utf-8': ['unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'utf-8', 'utf8', 'x-unicode20utf8'],
    'utf-16be': ['unicodefffe', 'utf-16be'],
    'utf-16le': ['csunicode', 'iso-10646-ucs-2', 'ucs-2', 'unicode', 'unicodefeff', 'utf-16', 'utf-16le'],
    'windows-1252': ['ansi_x3.4-1968', 'ascii', 'cp1252', 'cp819', 'csisolatin1', 'ibm819', 'iso-8859-1', 'iso-ir-100', 'iso8859-1',
      'iso88591', 'iso_8859-1', 'iso_8859-1:1987', 'l1', 'latin1', 'us-ascii', 'windows-1252', 'x-cp1252'],
  };
  const all = Object.entries(labels).flatMap(([enc, ls]) => ls.flatMap((l) => [[l, enc], [` \t${l.toUpperCase()}\n\f\r`, enc]]));
  const bad = ['utf-32', 'iso-8859-2', 'replacement', '\u00a0utf-8', 'utf-8\u000b', 'utf-16\u0000', 'latİn1'];
  const out = await guest(`
    const all = ${JSON.stringify(all)};
    const got = all.map(([l]) => new TextDecoder(l).encoding);
    const errors = ${JSON.stringify(bad)}.map((l) => { try { new TextDecoder(l); return 'no error'; } catch (e) { return e.name; } });
    return Response.json({ got, errors, def: new TextDecoder().encoding, undef: new TextDecoder(undefined).encoding });
  `);
  expect(out).toEqual({ got: all.map(([, enc]) => enc), errors: bad.map(() => 'RangeError'), def: 'utf-8', undef: 'utf-8' });
  // Node agrees on every label it knows
  for (const [l, enc] of all) expect(new TextDecoder(l).encoding).toBe(enc);
});

/** UTF-16 inputs whose decoding (one-shot, fatal or not, BOM or not) must be Node's. */
const UTF16_CASES: number[][] = [
  [...Buffer.from('héllo wörld ✓ 日本 🎉', 'utf16le')],
  [0xff, 0xfe, 0x41, 0x00],
  [0xfe, 0xff, 0x00, 0x41],
  [0xff, 0xfe, 0xff, 0xfe, 0x42, 0x00],
  [0x00, 0xd8, 0x41, 0x00],
  [0x00, 0xdc, 0x41, 0x00],
  [0x3d, 0xd8, 0x00, 0xde],
  [0x3d, 0xd8],
  [0x3d, 0xd8, 0x41],
  [0x41],
  [0x41, 0x00, 0x42],
  [],
];

test('TextDecoder utf-16le and utf-16be: text, BOM, ignoreBOM, lone surrogates, odd bytes, fatal: as Node', async () => {
  const variants = [{}, { ignoreBOM: true }, { fatal: true }, { fatal: true, ignoreBOM: true }];
  const swap = (b: number[]) => b.map((_, i) => b[i ^ 1] ?? b[i]!);
  const inputs = UTF16_CASES.flatMap((b) => [['utf-16le', b], ['utf-16be', swap(b)]] as [string, number[]][]);
  const run = (Decoder: typeof TextDecoder) =>
    inputs.flatMap(([enc, b]) => variants.map((o) => {
      try {
        return escape(new Decoder(enc, o).decode(new Uint8Array(b)));
      } catch (e) {
        return (e as Error).name;
      }
    }));
  const out = await guest(`
    const inputs = ${JSON.stringify(inputs)};
    const variants = ${JSON.stringify(variants)};
    return Response.json((${run.toString()})(TextDecoder));
  `);
  expect(out).toEqual(run(TextDecoder));
});

test('TextDecoder streaming: every split of every input decodes as the whole does, for UTF-8, UTF-16LE/BE and windows-1252', async () => {
  const text = 'a€𝄞é\ufeffz';
  const inputs: [string, number[]][] = [
    ['utf-8', [0xef, 0xbb, 0xbf, ...new TextEncoder().encode(text), 0xf0, 0x9f]],
    ['utf-8', [0xe2, 0x82, 0xac, 0xf0, 0x8f, 0x92, 0xed, 0xa0, 0x80, 0xc0, 0xf4, 0x90]],
    ['utf-16le', [0xff, 0xfe, ...Buffer.from(text, 'utf16le'), 0x00, 0xd8, 0x41]],
    ['utf-16be', [0xfe, 0xff, ...Buffer.from(text, 'utf16le').swap16(), 0xd8, 0x00]],
    ['windows-1252', [0x80, 0x41, 0xff, 0x9d]],
  ];
  // chunks of 1..3 bytes at every offset, then a flush
  const run = (Decoder: typeof TextDecoder) => inputs.map(([enc, bytes]) => {
    const whole = new Decoder(enc).decode(new Uint8Array(bytes));
    const splits: string[] = [];
    for (let size = 1; size <= 3; size++) {
      for (let first = 0; first < size; first++) {
        const d = new Decoder(enc);
        let s = d.decode(new Uint8Array(bytes.slice(0, first)), { stream: true });
        for (let i = first; i < bytes.length; i += size) s += d.decode(new Uint8Array(bytes.slice(i, i + size)), { stream: true });
        splits.push(s + d.decode());
      }
    }
    return [escape(whole), [...new Set(splits.map(escape))]];
  });
  const out = await guest(`const inputs = ${JSON.stringify(inputs)}; return Response.json((${run.toString()})(TextDecoder));`);
  expect(out.map((r: [string, string[]]) => r[1])).toEqual(out.map((r: [string, string[]]) => [r[0]]));
  // Node is the reference for UTF-8 and UTF-16 (its windows-1252 is ISO-8859-1, see below)
  expect(out.slice(0, 4)).toEqual(run(TextDecoder).slice(0, 4));
});

test('TextDecoder windows-1252 (latin1, ascii …) maps 0x80–0x9F as the WHATWG index says, never fails', async () => {
  const out = await guest(`
    const all = new Uint8Array(256).map((_, i) => i);
    const d = new TextDecoder('latin1', { fatal: true });
    const s = d.decode(all);
    return Response.json({ codes: Array.from(s, (c) => c.codePointAt(0)), ascii: new TextDecoder('ascii').decode(new Uint8Array([0x80, 0x9f])),
      bom: escape(new TextDecoder('windows-1252').decode(new Uint8Array([0xef, 0xbb, 0xbf]))), streamed: d.decode(new Uint8Array([0x80]), { stream: true }) + d.decode() });
  `);
  const high = [0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
    0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178];
  expect(out).toEqual({
    codes: Array.from({ length: 256 }, (_, i) => (i >= 0x80 && i < 0xa0 ? high[i - 0x80] : i)),
    ascii: '€Ÿ',
    bom: '%EF%BB%BF',
    streamed: '€',
  });
});

test('TextDecoder end of queue (WPT textdecoder-eof, textdecoder-fatal-streaming): U+FFFD on flush, errors at once', async () => {
  const out = await guest(`
    const u = (...b) => new Uint8Array(b);
    const oneShot = [[0xF0], [0xF0, 0x9F], [0xF0, 0x9F, 0x92], [0xF0, 0x9F, 0x41], [0xF0, 0x41, 0x42], [0xF0, 0x41, 0xF0], [0xF0, 0x8F, 0x92]]
      .map((b) => escape(new TextDecoder().decode(u(...b))));
    const d = new TextDecoder();
    const s = [];
    d.decode(u(0xF0), { stream: true }); s.push(d.decode());
    d.decode(u(0xF0), { stream: true }); d.decode(u(0x9F), { stream: true }); s.push(d.decode());
    d.decode(u(0xF0, 0x9F), { stream: true }); s.push(d.decode(u(0x92)));
    s.push(d.decode(u(0xF0, 0x9F), { stream: true }), d.decode(u(0x41), { stream: true }), d.decode());
    s.push(d.decode(u(0xF0, 0x41, 0x42), { stream: true }), d.decode());
    s.push(d.decode(u(0xF0, 0x41, 0xF0), { stream: true }), d.decode());
    s.push(d.decode(u(0xF0, 0x8F, 0x92), { stream: true }), d.decode());
    const fatal = ['utf-8', 'utf-16le', 'utf-16be'].map((enc) => { try { new TextDecoder(enc, { fatal: true }).decode(u(enc === 'utf-8' ? 0xC0 : 0x00)); return 'no error'; } catch (e) { return e.name; } });
    const f = new TextDecoder('utf-16le', { fatal: true });
    const odd = u(0x00), even = u(0x00, 0x00);
    const steps = [f.decode(odd, { stream: true }), f.decode(odd)];
    try { f.decode(even, { stream: true }); f.decode(odd); steps.push('no error'); } catch (e) { steps.push(e.name); }
    try { f.decode(odd, { stream: true }); f.decode(even); steps.push('no error'); } catch (e) { steps.push(e.name); }
    steps.push(f.decode(even, { stream: true }), f.decode(even));
    return Response.json({ oneShot, streamed: s.map(escape), fatal, steps: steps.map(escape) });
  `);
  expect(out).toEqual({
    oneShot: ['%uFFFD', '%uFFFD', '%uFFFD', '%uFFFDA', '%uFFFDAB', '%uFFFDA%uFFFD', '%uFFFD%uFFFD%uFFFD'],
    streamed: ['%uFFFD', '%uFFFD', '%uFFFD', '', '%uFFFDA', '', '%uFFFDAB', '', '%uFFFDA', '%uFFFD', '%uFFFD%uFFFD%uFFFD', ''],
    fatal: ['TypeError', 'TypeError', 'TypeError'],
    steps: ['', '%00', 'TypeError', 'TypeError', '%00', '%00'],
  });
});

test('TextEncoder keeps a leading U+FEFF (only decoders strip a BOM), and ignoreBOM decoders give it back', async () => {
  const out = await guest(`
    const bytes = new TextEncoder().encode('\\uFEFFbom');
    const into = new Uint8Array(8);
    const r = new TextEncoder().encodeInto('\\uFEFFx', into);
    return Response.json({ bytes: Array.from(bytes), into: [r.read, r.written, Array.from(into.subarray(0, r.written))],
      back: escape(new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes)), stripped: new TextDecoder().decode(bytes),
      text: escape(await new Response('\\uFEFFbody').text()), length: '\\uFEFF'.length });
  `);
  expect(out).toEqual({
    bytes: [...new TextEncoder().encode('\uFEFFbom')],
    into: [2, 4, [0xef, 0xbb, 0xbf, 0x78]],
    back: '%uFEFFbom',
    stripped: 'bom',
    text: '%uFEFFbody',
    length: 1,
  });
});

test('text the host decodes reaches the guest whole, NUL characters included (every engine)', async () => {
  const out = await guest(`
    const bytes = new Uint8Array([0x61, 0x00, 0x62]);
    return Response.json([
      escape(new TextDecoder().decode(bytes)),
      escape(new TextDecoder('utf-16le').decode(new Uint8Array([0x00, 0x00, 0x41, 0x00]))),
      escape(new TextDecoder('latin1').decode(bytes)),
      escape(atob('AGEA')),
    ]);
  `);
  expect(out).toEqual(['a%00b', '%00A', 'a%00b', '%00a%00']);
});
