/**
 * Hostile use of Intl (host ICU behind one bounded op and a shared formatter cache), TextDecoder's
 * guest-side decoders, URLPattern's regular expressions and structuredClone's transfer list: giant
 * locales and options, thousands of distinct formatters (the host's cache must stay bounded), huge
 * inputs to format, segment, case-map and decode, host time that must count as the guest's CPU.
 * Each attack is bounded in time and ends with the gateway and a neighbour answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounded, startAttackGateway, type AttackGateway } from './harness.ts';

let t: AttackGateway;
beforeAll(async () => {
  t = await startAttackGateway();
});
afterAll(() => t?.close());

/** Deploys `body` as a fetch handler and calls it once; returns status and parsed JSON (or text). */
async function run(name: string, body: string, config: object = {}, path = ''): Promise<{ status: number; body: any }> {
  await t.deployOk(name, `export default { async fetch(request) { ${body} } };`, config);
  const res = await bounded(60_000, name, () => t.fn(name, path, { signal: AbortSignal.timeout(55_000) }));
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

const errorOf = `const err = (f) => { try { f(); return 'no error'; } catch (e) { return e instanceof DOMException ? e.name : e.constructor.name; } };`;

describe('Intl under hostile arguments', () => {
  it('giant locales, locale lists and option strings are RangeErrors in the guest, before the host sees them', async () => {
    const r = await run('intl-giant', `${errorOf}
      const huge = 'x'.repeat(1 << 20);
      return Response.json([
        err(() => new Intl.NumberFormat(huge)),
        err(() => new Intl.NumberFormat('en', { style: 'currency', currency: huge })),
        err(() => new Intl.DateTimeFormat('en', { timeZone: 'Europe/' + huge })),
        err(() => new Intl.DateTimeFormat({ length: 1e9 })),
        err(() => Intl.getCanonicalLocales(new Array(100000).fill('en'))),
        err(() => new Intl.Collator(new Array(32).fill('en-u-co-' + 'x'.repeat(120)))),
        err(() => 'a'.localeCompare('b', huge)),
        err(() => 'a'.toLocaleUpperCase(huge)),
        err(() => (1).toLocaleString('en', { minimumFractionDigits: 1e300 })),
        err(() => new Date(0).toLocaleString('en', { timeZone: huge })),
        err(() => new Intl.Segmenter('en', { granularity: huge })),
        err(() => new Intl.DisplayNames('en', { type: 'region' }).of(huge)),
        err(() => new Intl.Locale(huge)),
        err(() => new Intl.NumberFormat('en', new Proxy({}, { get(_, k) { return k === 'style' ? huge : undefined; } }))),
      ]);
    `, { memoryMb: 16, cpuMs: 10_000 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual(Array(14).fill('RangeError'));
    await t.assertHealthy();
  });

  it('thousands of distinct formatters only churn the host cache: the gateway\'s memory stays bounded', async () => {
    const rssBefore = process.memoryUsage().rss;
    await t.deployOk('intl-churn', `export default { fetch(request) {
      const from = Number(new URL(request.url).searchParams.get('from'));
      const zones = Intl.supportedValuesOf('timeZone');
      const locales = ['en-US', 'de-DE', 'fr-FR', 'ja-JP', 'ar-EG'];
      let n = 0;
      for (let i = from; i < from + 1000; i++) {
        const f = new Intl.DateTimeFormat(locales[i % 5], { timeZone: zones[(i / 5 | 0) % zones.length], hour12: (i >> 11) % 2 === 0, dateStyle: 'long', timeStyle: 'long' });
        n += f.formatRange(0, 864e5 * (1 + i % 30)).length;
      }
      return Response.json(n);
    } };`, { cpuMs: 10_000, timeoutMs: 30_000 });
    for (let from = 0; from < 5000; from += 1000) {
      const res = await bounded(40_000, `churn from ${from}`, () => t.fn('intl-churn', `?from=${from}`, { signal: AbortSignal.timeout(35_000) }));
      expect(res.status, await res.clone().text()).toBe(200);
      expect(await res.json()).toBeGreaterThan(0);
    }
    // 5,000 DateTimeFormats with interval formatters weigh ~100 KB each in ICU: ~500 MB if they were all kept
    const grown = process.memoryUsage().rss - rssBefore;
    console.log(`RSS after 5,000 distinct DateTimeFormats: +${Math.round(grown / 1048576)} MB`);
    expect(grown).toBeLessThan(200 * 1024 * 1024);
    await t.assertHealthy();
  });

  it('host time counts as the guest\'s CPU: a loop of uncached formatters is stopped by cpuMs', async () => {
    const started = Date.now();
    const r = await run('intl-cpu', `
      const zones = Intl.supportedValuesOf('timeZone');
      for (let i = 0; ; i++) new Intl.DateTimeFormat('en', { timeZone: zones[i % zones.length], fractionalSecondDigits: 1 + (i % 3), hour12: i % 2 === 0 }).formatRange(0, 1e9);
    `, { cpuMs: 200 });
    expect(r.status).toBe(503);
    expect(r.body.error).toBe('cpu_limit_exceeded');
    expect(Date.now() - started).toBeLessThan(15_000);
    await t.assertHealthy();
  });

  it('huge inputs to format, compare, case-map, list and segment stay bounded per call and end as results or limit errors', async () => {
    const r = await run('intl-huge', `${errorOf}
      const out = {};
      const time = (k, f) => { const t0 = Date.now(); try { const v = f(); out[k] = typeof v === 'string' ? v.length : v; } catch (e) { out[k] = e.constructor.name; } out[k + 'Ms'] = Date.now() - t0; };
      time('decimal', () => new Intl.NumberFormat('en').format('9'.repeat(1 << 20)));
      time('compare', () => ('a'.repeat(1 << 20) + 'b').localeCompare('a'.repeat(1 << 20) + 'c', 'de'));
      time('compareTooBig', () => 'a'.repeat(3 << 20).localeCompare('b'.repeat(3 << 20)));
      time('upper', () => 'i'.repeat(3 << 20).toLocaleUpperCase('tr'));
      time('list', () => new Intl.ListFormat('en').format(new Array(65536).fill('w')));
      time('listTooLong', () => new Intl.ListFormat('en').format(new Array(65537).fill('w')));
      time('segments', () => { let n = 0; for (const s of new Intl.Segmenter('en', { granularity: 'word' }).segment('x'.repeat(200000) + ' a'.repeat(20000))) n++; return n; });
      time('sentences', () => { let n = 0; for (const s of new Intl.Segmenter('en', { granularity: 'sentence' }).segment('Ab. '.repeat(100000))) n++; return n; });
      time('containing', () => new Intl.Segmenter('en', { granularity: 'grapheme' }).segment('ab'.repeat(200000)).containing(399999).index);
      return Response.json(out);
    `, { memoryMb: 64, cpuMs: 20_000, timeoutMs: 40_000 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      decimal: expect.any(Number),
      compare: -1,
      compareTooBig: 'RangeError',
      upper: 3 << 20,
      list: expect.any(Number),
      listTooLong: 'RangeError',
      // the 200,000-character word is cut at the largest window (128 Ki characters)
      segments: 40002,
      sentences: 100000,
      containing: 399999,
    });
    await t.assertHealthy();
  });

  it('a guest that runs out of heap while Intl works is stopped cleanly', async () => {
    const r = await run('intl-oom', `
      const keep = [];
      const nf = new Intl.NumberFormat('en', { style: 'currency', currency: 'EUR' });
      for (let i = 0; ; i++) keep.push(nf.formatToParts(i), (i * 1e6).toLocaleString('de-DE'), new Intl.Segmenter().segment('xy'.repeat(100)));
    `, { cpuMs: 10_000 });
    expect(r.status).toBe(503);
    expect(r.body.error).toBe('memory_limit_exceeded');
    await t.assertHealthy();
  });
});

describe('TextDecoder, URLPattern and structuredClone under hostile inputs', () => {
  it('decoding tens of megabytes of UTF-16 and windows-1252, and a stream of one-byte chunks, is bounded by the guest\'s limits', async () => {
    const r = await run('decode-huge', `
      const big = new Uint8Array(8 << 20).fill(0x41);
      const out = {
        utf16: new TextDecoder('utf-16le').decode(big).length,
        utf16be: new TextDecoder('utf-16be', { fatal: true }).decode(big).length,
        latin1: new TextDecoder('latin1').decode(big.subarray(0, 4 << 20)).length,
      };
      const d = new TextDecoder('utf-16le');
      let s = 0;
      const one = new Uint8Array([0x3d]);
      for (let i = 0; i < 100000; i++) s += d.decode(one, { stream: true }).length;
      out.streamed = s + d.decode().length;
      const lone = new Uint8Array(2 << 20);
      for (let i = 0; i < lone.length; i += 2) lone[i + 1] = 0xd8;
      out.lone = new TextDecoder('utf-16le').decode(lone).length;
      try { new TextDecoder('utf-16le', { fatal: true }).decode(lone); out.fatal = 'no error'; } catch (e) { out.fatal = e.constructor.name; }
      return Response.json(out);
    `, { memoryMb: 128, cpuMs: 20_000, timeoutMs: 40_000 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ utf16: 4 << 20, utf16be: 4 << 20, latin1: 4 << 20, streamed: 50000, lone: 1 << 20, fatal: 'TypeError' });
    const small = await run('decode-oom', `return new Response(new TextDecoder('utf-16le').decode(new Uint8Array(8 << 20)));`, { cpuMs: 10_000 });
    expect(small.status).toBe(503);
    expect(small.body.error).toBe('memory_limit_exceeded');
    await t.assertHealthy();
  });

  it('a catastrophic URLPattern regular expression is stopped by cpuMs; syntax errors are TypeErrors', async () => {
    const started = Date.now();
    const redos = await run('urlpattern-redos', `return Response.json(new URLPattern({ pathname: '/:x((?:a+)+b)' }).test('https://x.example/' + 'a'.repeat(64)));`, { cpuMs: 200 });
    expect(redos.status, JSON.stringify(redos.body)).toBe(503);
    expect(redos.body.error).toBe('cpu_limit_exceeded');
    expect(Date.now() - started).toBeLessThan(15_000);
    const syntax = await run('urlpattern-syntax', `${errorOf}
      return Response.json([err(() => new URLPattern({ pathname: '('.repeat(10000) })), err(() => new URLPattern({ pathname: '/:' + 'x'.repeat(100000) + '(' })), err(() => new URLPattern('https://{'))]);
    `);
    expect(syntax.body).toEqual(['TypeError', 'TypeError', 'TypeError']);
    await t.assertHealthy();
  });

  it('structuredClone transfer lists: huge, repeated, detached, not transferable', async () => {
    const r = await run('transfer-hostile', `${errorOf}
      const buffers = Array.from({ length: 10000 }, () => new ArrayBuffer(8));
      const clone = structuredClone(buffers, { transfer: buffers });
      const dup = new ArrayBuffer(1);
      return Response.json({
        moved: [clone.length, clone[9999].byteLength, buffers[0].byteLength],
        errors: [err(() => structuredClone(1, { transfer: [dup, dup] })), err(() => structuredClone(1, { transfer: [buffers[0]] })),
          err(() => structuredClone(1, { transfer: new Array(100000).fill({}) })), err(() => structuredClone(1, { transfer: { length: 1e9 } }))],
        big: structuredClone(new ArrayBuffer(4 << 20), { transfer: [] }).byteLength,
      });
    `, { memoryMb: 32, cpuMs: 10_000 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ moved: [10000, 8, 0], errors: ['DataCloneError', 'DataCloneError', 'DataCloneError', 'TypeError'], big: 4 << 20 });
    await t.assertHealthy();
  });
});
