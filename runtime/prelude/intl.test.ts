import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc.js';
import timezone from 'dayjs/plugin/timezone.js';
import { DateTime } from 'luxon';
import { formatInTimeZone } from 'date-fns-tz';
import { compileEntry } from '../../compiler/index.ts';
import { verifyArtifact } from '../../contract/artifact.ts';
import { parseFunctionConfig } from '../../contract/config.ts';
import { invokeSource, sharedRuntime, signingKey } from '../../test/helpers/sandbox.ts';

/**
 * Intl and the locale-sensitive built-ins, checked against Node's own Intl (the host's ICU, so the
 * outputs must be identical): each case is an expression evaluated both in the sandbox and here.
 * Every case names its locale: the guest's default locale is en-US, the host's may be another.
 */

async function guest(body: string, config: object = {}) {
  const r = await invokeSource(`export default { async fetch(request, env, ctx) { ${body} } }`, {}, config);
  if (r.status !== 200) throw new Error(`guest failed: ${r.status} ${r.text}`);
  return r.json();
}

/**
 * Evaluates every expression in the guest and in Node. Errors compare by class: the host's messages
 * are Node's own, the guest's checks word theirs differently.
 */
async function same(cases: Record<string, string>, config: object = {}) {
  const body = Object.entries(cases)
    .map(([k, e]) => `try { out[${JSON.stringify(k)}] = { value: (${e}) }; } catch (e) { out[${JSON.stringify(k)}] = { error: e.constructor.name }; }`)
    .join('\n');
  const got = await guest(`const out = {}; ${body}; return Response.json(out);`, config);
  const want: Record<string, unknown> = {};
  for (const [k, e] of Object.entries(cases)) {
    try {
      want[k] = JSON.parse(JSON.stringify({ value: new Function(`return (${e})`)() }));
    } catch (err) {
      want[k] = { error: (err as Error).constructor.name };
    }
  }
  expect(got).toEqual(want);
}

test('the locale-sensitive built-ins follow ECMA-402, as in Node', async () => {
  await same({
    number: `(1234.5).toLocaleString('en-US')`,
    numberDe: `(1234567.891).toLocaleString('de-DE')`,
    numberCurrency: `(1234.5).toLocaleString('ja-JP', { style: 'currency', currency: 'JPY' })`,
    numberNegZero: `(-0).toLocaleString('en-US')`,
    numberSpecial: `[NaN, Infinity, -Infinity].map((n) => n.toLocaleString('en-US'))`,
    bigint: `(123456789012345678901234567890n).toLocaleString('en-IN')`,
    sort: `['E', 'e', 'f', 'é'].sort((a, b) => a.localeCompare(b))`,
    sortSv: `['z', 'ä', 'a', 'ö'].sort((a, b) => a.localeCompare(b, 'sv'))`,
    compareBase: `'a'.localeCompare('á', 'en', { sensitivity: 'base' })`,
    compareNumeric: `'a10'.localeCompare('a9', 'en', { numeric: true })`,
    upperTr: `'istanbul'.toLocaleUpperCase('tr-TR')`,
    lowerTr: `'DİYARBAKIR'.toLocaleLowerCase('tr')`,
    lowerAz: `'I'.toLocaleLowerCase(['az', 'en'])`,
    upperLt: `'i̇'.toLocaleUpperCase('lt')`,
    upperEl: `'άλφα'.toLocaleUpperCase('el')`,
    upperEn: `'straße'.toLocaleUpperCase('en-US')`,
    upperBadTag: `'a'.toLocaleUpperCase('x!')`,
    date: `new Date(Date.UTC(2024, 2, 10, 7, 5, 3)).toLocaleString('en-US', { timeZone: 'America/New_York' })`,
    dateDate: `new Date(Date.UTC(2024, 2, 10, 7)).toLocaleDateString('de-DE', { timeZone: 'Asia/Tokyo' })`,
    dateTime: `new Date(Date.UTC(2024, 2, 10, 7)).toLocaleTimeString('en-GB', { timeZone: 'UTC' })`,
    dateStyle: `new Date(0).toLocaleString('fr-FR', { dateStyle: 'full', timeStyle: 'long', timeZone: 'Europe/Paris' })`,
    dateOnlyHour: `new Date(0).toLocaleDateString('en-US', { hour: 'numeric', timeZone: 'UTC' })`,
    dateTimeStyleError: `new Date(0).toLocaleDateString('en-US', { timeStyle: 'short' })`,
    timeDateStyleError: `new Date(0).toLocaleTimeString('en-US', { dateStyle: 'short' })`,
    invalidDate: `new Date(NaN).toLocaleString('en-US')`,
    badZone: `new Date(0).toLocaleString('en-US', { timeZone: 'Mars/Olympus' })`,
    array: `[1234.5, new Date(0), null, 'x', 7n].toLocaleString('de-DE', { timeZone: 'UTC' })`,
  });
});

test('the built-ins are stubs with the originals\' names and lengths, loading the chunk on first call only', async () => {
  const out = await guest(`
    const shape = (f) => [f.name, f.length, 'prototype' in f];
    const before = [shape(Number.prototype.toLocaleString), shape(String.prototype.localeCompare), shape(Date.prototype.toLocaleTimeString),
      shape(Array.prototype.toLocaleString), shape(String.prototype.toLocaleUpperCase), shape(BigInt.prototype.toLocaleString)];
    // the global is the user's to replace: the built-ins do not go through it
    globalThis.Intl = undefined;
    return Response.json({ before, num: (5e6).toLocaleString(), date: new Date(0).toLocaleDateString(undefined, { timeZone: 'UTC' }), enumerable: Object.keys(Number.prototype) });
  `);
  expect(out).toEqual({
    before: [['toLocaleString', 0, false], ['localeCompare', 1, false], ['toLocaleTimeString', 0, false], ['toLocaleString', 0, false], ['toLocaleUpperCase', 0, false], ['toLocaleString', 0, false]],
    num: '5,000,000',
    date: '1/1/1970',
    enumerable: [],
  });
});

test('Intl.DateTimeFormat: time zones, formatToParts, ranges, resolvedOptions, errors', async () => {
  const t = `Date.UTC(2024, 10, 3, 5, 30, 15, 250)`;
  await same({
    tokyo: `new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Tokyo', dateStyle: 'medium', timeStyle: 'long' }).format(${t})`,
    parts: `new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hour12: false, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' }).formatToParts(new Date(${t}))`,
    fractional: `new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3 }).format(${t})`,
    range: `new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', dateStyle: 'long' }).formatRange(${t}, ${t} + 5 * 864e5)`,
    rangeParts: `new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', hour: 'numeric', minute: 'numeric' }).formatRangeToParts(${t}, ${t} + 36e5)`,
    resolved: `new Intl.DateTimeFormat('de-DE-u-ca-buddhist', { timeZone: 'europe/berlin', hourCycle: 'h11', hour: 'numeric' }).resolvedOptions()`,
    styles: `new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', dateStyle: 'full' }).resolvedOptions()`,
    offsetName: `new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Kolkata', timeZoneName: 'longOffset' }).format(0)`,
    era: `new Intl.DateTimeFormat('en-US', { era: 'long', year: 'numeric', timeZone: 'UTC' }).format(-1e14)`,
    badZone: `new Intl.DateTimeFormat('en-US', { timeZone: 'Nowhere/Special' })`,
    badOption: `new Intl.DateTimeFormat('en-US', { month: 'loooong' })`,
    badFraction: `new Intl.DateTimeFormat('en-US', { fractionalSecondDigits: 9 })`,
    styleAndField: `new Intl.DateTimeFormat('en-US', { dateStyle: 'short', year: 'numeric' })`,
    badLocale: `new Intl.DateTimeFormat('en-US-!!')`,
    invalidTime: `new Intl.DateTimeFormat('en-US').format(NaN)`,
    outOfRange: `new Intl.DateTimeFormat('en-US').format(8.64e15 + 1)`,
    rangeMissing: `new Intl.DateTimeFormat('en-US').formatRange(0)`,
    supported: `Intl.DateTimeFormat.supportedLocalesOf(['fr-CA', 'tlh', 'de'])`,
  });
  // no time zone: the host's, which is also the guest's Date local time
  const out = await guest(`return Response.json([new Intl.DateTimeFormat().resolvedOptions().timeZone, new Intl.DateTimeFormat().resolvedOptions().locale,
    Intl.DateTimeFormat().format(0) === new Intl.DateTimeFormat('en-US').format(0), typeof new Intl.DateTimeFormat().format()]);`);
  expect(out).toEqual([new Intl.DateTimeFormat().resolvedOptions().timeZone, 'en-US', true, 'string']);
});

test('Intl.NumberFormat: currency, units, compact, parts, ranges, exact decimals, errors', async () => {
  await same({
    currency: `new Intl.NumberFormat('de-DE', { style: 'currency', currency: 'EUR' }).format(1234.5)`,
    accounting: `new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', currencySign: 'accounting', currencyDisplay: 'name' }).format(-3.5)`,
    unit: `new Intl.NumberFormat('en-GB', { style: 'unit', unit: 'kilometer-per-hour', unitDisplay: 'long' }).format(88)`,
    percent: `new Intl.NumberFormat('fr-FR', { style: 'percent', maximumFractionDigits: 1 }).format(0.2567)`,
    compact: `[1234, 1234567, 98765432100].map((n) => new Intl.NumberFormat('en-US', { notation: 'compact', compactDisplay: 'long' }).format(n))`,
    compactJa: `new Intl.NumberFormat('ja-JP', { notation: 'compact' }).format(123456789)`,
    scientific: `new Intl.NumberFormat('en-US', { notation: 'engineering' }).format(123456)`,
    significant: `new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3, roundingMode: 'floor' }).format(98765)`,
    sign: `[-1, 0, -0, 1].map((n) => new Intl.NumberFormat('en-US', { signDisplay: 'exceptZero' }).format(n))`,
    grouping: `[true, false, 'min2', 'always'].map((g) => new Intl.NumberFormat('pl-PL', { useGrouping: g }).format(1234))`,
    parts: `new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).formatToParts(-1234.56)`,
    range: `new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR', maximumFractionDigits: 0 }).formatRange(3, 5)`,
    rangeParts: `new Intl.NumberFormat('en-US').formatRangeToParts(1000, 2000)`,
    bigint: `new Intl.NumberFormat('en-US').format(2n ** 70n)`,
    decimal: `new Intl.NumberFormat('en-US', { maximumFractionDigits: 20 }).format('1234567890.12345678901234567890')`,
    objectValue: `new Intl.NumberFormat('en-US').format({ valueOf() { return 42; } })`,
    special: `[NaN, Infinity, -0, undefined].map((n) => new Intl.NumberFormat('en-US').format(n))`,
    arabic: `new Intl.NumberFormat('ar-EG').format(1234.5)`,
    numberingSystem: `new Intl.NumberFormat('en-US', { numberingSystem: 'thai' }).format(12)`,
    resolved: `new Intl.NumberFormat('en-US', { style: 'currency', currency: 'usd' }).resolvedOptions()`,
    noCurrency: `new Intl.NumberFormat('en-US', { style: 'currency' })`,
    badCurrency: `new Intl.NumberFormat('en-US', { style: 'currency', currency: 'US$' })`,
    badUnit: `new Intl.NumberFormat('en-US', { style: 'unit', unit: 'parsec-per-fortnight' })`,
    badDigits: `new Intl.NumberFormat('en-US', { maximumFractionDigits: 101 })`,
    nanDigits: `new Intl.NumberFormat('en-US', { maximumFractionDigits: NaN })`,
    badStyle: `new Intl.NumberFormat('en-US', { style: 'fancy' })`,
    rangeNaN: `new Intl.NumberFormat('en-US').formatRange(NaN, 1)`,
    supported: `Intl.NumberFormat.supportedLocalesOf('de-AT', { localeMatcher: 'lookup' })`,
  });
});

test('Intl.Collator, PluralRules, RelativeTimeFormat, ListFormat, DisplayNames, Locale, canonical locales', async () => {
  await same({
    collator: `['b', 'a', 'B', 'ä', 'A'].sort(new Intl.Collator('de', { caseFirst: 'upper' }).compare)`,
    collatorBase: `['résumé', 'resume', 'Resume'].map((x) => new Intl.Collator('en', { sensitivity: 'base' }).compare(x, 'resume'))`,
    collatorPunct: `new Intl.Collator('en', { ignorePunctuation: true }).compare('a-b', 'ab')`,
    collatorSearch: `new Intl.Collator('en', { usage: 'search', sensitivity: 'base' }).resolvedOptions()`,
    collatorPhonebook: `['Ärger', 'Alpha', 'Beta'].sort(new Intl.Collator('de-u-co-phonebk').compare)`,
    plural: `[0, 1, 2, 5, 1.5].map((n) => new Intl.PluralRules('ru').select(n))`,
    ordinal: `[1, 2, 3, 4, 11, 21].map((n) => new Intl.PluralRules('en-US', { type: 'ordinal' }).select(n))`,
    pluralResolved: `new Intl.PluralRules('ar').resolvedOptions()`,
    pluralRange: `new Intl.PluralRules('en').selectRange(1, 5)`,
    rtf: `[-1, 0, 1, 2].map((n) => new Intl.RelativeTimeFormat('en', { numeric: 'auto' }).format(n, 'day'))`,
    rtfParts: `new Intl.RelativeTimeFormat('es', { style: 'short' }).formatToParts(-3, 'months')`,
    rtfBadUnit: `new Intl.RelativeTimeFormat('en').format(1, 'fortnight')`,
    rtfInfinite: `new Intl.RelativeTimeFormat('en').format(Infinity, 'day')`,
    list: `new Intl.ListFormat('en', { style: 'long', type: 'conjunction' }).format(['Motorcycle', 'Bus', 'Car'])`,
    listOr: `new Intl.ListFormat('de', { type: 'disjunction' }).format(new Set(['a', 'b', 'c']))`,
    listParts: `new Intl.ListFormat('en', { type: 'unit', style: 'narrow' }).formatToParts(['5 ft', '2 in'])`,
    listNotString: `new Intl.ListFormat('en').format(['a', 1])`,
    listBadOptions: `new Intl.ListFormat('en', 'long')`,
    display: `['US', 'DE', '419'].map((r) => new Intl.DisplayNames('en', { type: 'region' }).of(r))`,
    displayLanguage: `new Intl.DisplayNames('fr', { type: 'language' }).of('en-US')`,
    displayCurrency: `new Intl.DisplayNames('en', { type: 'currency' }).of('JPY')`,
    displayNoType: `new Intl.DisplayNames('en')`,
    displayBadCode: `new Intl.DisplayNames('en', { type: 'region' }).of('not a region')`,
    locale: `(() => { const l = new Intl.Locale('en-Latn-US-u-ca-gregory-hc-h12'); return [l.toString(), l.baseName, l.language, l.script, l.region, l.calendar, l.hourCycle, l.numeric]; })()`,
    localeOptions: `String(new Intl.Locale('en', { region: 'GB', calendar: 'japanese', numeric: true }))`,
    localeMax: `[new Intl.Locale('zh').maximize().toString(), new Intl.Locale('en-Latn-US').minimize().toString()]`,
    localeInfo: `[new Intl.Locale('en-US').hourCycles, new Intl.Locale('ar-EG').textInfo, new Intl.Locale('de-DE').weekInfo]`,
    localeInList: `new Intl.NumberFormat([new Intl.Locale('de-CH')]).format(1234.5)`,
    localeBad: `new Intl.Locale('x')`,
    localeNotString: `new Intl.Locale(5)`,
    canonical: `Intl.getCanonicalLocales(['EN-us', 'zh-hant-tw', 'en-US', 'de-u-co-phonebk'])`,
    canonicalBad: `Intl.getCanonicalLocales(['en', 'not a tag'])`,
    canonicalType: `Intl.getCanonicalLocales([5])`,
    values: `Intl.supportedValuesOf('calendar')`,
    valuesBad: `Intl.supportedValuesOf('colour')`,
  });
});

test('Intl.Segmenter: graphemes, words, sentences, containing(), long texts in windows', async () => {
  const long = 'The quick brown fox 🦊 jumps. Über den Zaun! 👨‍👩‍👧‍👦 家族. '.repeat(600);
  await same({
    grapheme: `Array.from(new Intl.Segmenter('en', { granularity: 'grapheme' }).segment('e\\u0301👨‍👩‍👧🇫🇷a'), (s) => [s.segment, s.index])`,
    words: `Array.from(new Intl.Segmenter('en', { granularity: 'word' }).segment("Don't stop, 3.14 ok?"), (s) => [s.segment, s.index, s.isWordLike])`,
    wordsJa: `Array.from(new Intl.Segmenter('ja', { granularity: 'word' }).segment('吾輩は猫である。'), (s) => s.segment)`,
    sentences: `Array.from(new Intl.Segmenter('en', { granularity: 'sentence' }).segment('Hi there. How are you? Fine!'), (s) => s.segment)`,
    containing: `(() => { const s = new Intl.Segmenter('en', { granularity: 'word' }).segment('hello big world'); return [s.containing(7), s.containing(0), s.containing(-1), s.containing(99), s.containing('8').segment]; })()`,
    shape: `(() => { const s = new Intl.Segmenter().segment('ab'); const it = s[Symbol.iterator](); return [Object.prototype.toString.call(it), typeof it.next, Object.keys(it.next().value), it.next().done, it.next().done, 'input' in s]; })()`,
    resolved: `new Intl.Segmenter('fr', { granularity: 'sentence' }).resolvedOptions()`,
    badGranularity: `new Intl.Segmenter('en', { granularity: 'paragraph' })`,
    long: `(() => { const text = ${JSON.stringify(long)}; let n = 0, words = 0, sum = 0, last; for (const s of new Intl.Segmenter('en', { granularity: 'word' }).segment(text)) { n++; words += s.isWordLike; sum = (sum * 31 + s.index + s.segment.length) % 1000003; last = [s.segment, s.index, s.input.length]; } return [n, words, sum, last]; })()`,
    longGraphemes: `(() => { const text = ${JSON.stringify(long)}; let n = 0; for (const s of new Intl.Segmenter().segment(text)) n++; return n; })()`,
    longContaining: `(() => { const text = ${JSON.stringify(long)}; const s = new Intl.Segmenter('en', { granularity: 'sentence' }).segment(text); return [30000, 100, 20000, 36000].map((i) => [s.containing(i).index, s.containing(i).segment]); })()`,
    longSentence: `(() => { const text = 'word '.repeat(5000) + 'end. Next.'; return Array.from(new Intl.Segmenter('en', { granularity: 'sentence' }).segment(text), (s) => s.segment.length); })()`,
    longWord: `(() => { const text = 'x'.repeat(20000) + ' y'; return Array.from(new Intl.Segmenter('en', { granularity: 'word' }).segment(text), (s) => s.segment.length); })()`,
    longThenShort: `(() => { const text = 'x'.repeat(40000) + ' a'.repeat(500); const out = []; for (const s of new Intl.Segmenter('en', { granularity: 'word' }).segment(text)) out.push(s.segment.length); return [out.length, out.slice(0, 3), out.reduce((a, b) => a + b)]; })()`,
    surrogateEdge: `(() => { const text = 'a'.repeat(2047) + '😀' + 'b'; const out = []; for (const s of new Intl.Segmenter().segment(text)) if (s.index > 2044) out.push([s.segment, s.index]); return out; })()`,
    // tens of thousands of segments, about 2 µs each in V8's iterator: more than the default CPU limit on a busy machine
  }, { cpuMs: 20_000 });
});

test('Intl.Segmenter cuts a segment longer than 128 Ki characters (the largest window it sends the host)', async () => {
  const out = await guest(`const out = []; for (const s of new Intl.Segmenter('en', { granularity: 'word' }).segment('x'.repeat(140000) + ' y')) out.push([s.index, s.segment.length]); return Response.json(out);`);
  expect(out).toEqual([[0, 131072], [131072, 8928], [140000, 1], [140001, 1]]);
});

test('Intl objects have the spec shape: tags, names, lengths, legacy calls, brands, subclassing, fresh resolvedOptions', async () => {
  await same({
    tag: `Object.prototype.toString.call(Intl)`,
    ctors: `['DateTimeFormat', 'NumberFormat', 'Collator', 'PluralRules', 'RelativeTimeFormat', 'ListFormat', 'Segmenter', 'DisplayNames', 'Locale'].map((n) => [Intl[n].name, Intl[n].length, Object.prototype.toString.call(Intl[n].prototype), Object.keys(Intl[n].prototype).length, typeof Intl[n].supportedLocalesOf])`,
    intlKeys: `Object.keys(Intl)`,
    legacyCall: `[Intl.NumberFormat('en-US').format(1e3), Intl.DateTimeFormat('en-US', { timeZone: 'UTC' }).format(0), Intl.Collator('en').compare('a', 'b')]`,
    needsNew: `Intl.PluralRules('en')`,
    needsNewList: `Intl.ListFormat()`,
    brand: `Intl.NumberFormat.prototype.formatToParts.call(new Intl.Collator('en'), 1)`,
    brandGetter: `Object.getOwnPropertyDescriptor(Intl.Collator.prototype, 'compare').get.call({})`,
    getterNames: `[Object.getOwnPropertyDescriptor(Intl.NumberFormat.prototype, 'format').get.name, new Intl.NumberFormat('en').format.name, new Intl.NumberFormat('en').format.length, new Intl.Collator('en').compare.length]`,
    bound: `(() => { const nf = new Intl.NumberFormat('en'); return [nf.format === nf.format, [1e3, 2e3].map(nf.format)]; })()`,
    fresh: `(() => { const nf = new Intl.NumberFormat('en'); const a = nf.resolvedOptions(); a.locale = 'x'; return [nf.resolvedOptions() !== a, nf.resolvedOptions().locale]; })()`,
    subclass: `(() => { class Money extends Intl.NumberFormat { constructor() { super('en-US', { style: 'currency', currency: 'USD' }); } } const m = new Money(); return [m instanceof Money, m instanceof Intl.NumberFormat, m.format(2)]; })()`,
    optionsGetterOrder: `(() => { const seen = []; new Intl.Collator('en', new Proxy({}, { get(t, k) { seen.push(k); } })); return seen; })()`,
    optionsPrimitive: `new Intl.NumberFormat('en-US', 5).format(1)`,
    optionsNull: `new Intl.NumberFormat('en-US', null)`,
    localesObject: `new Intl.NumberFormat({ length: 2, 0: 'de-DE', 1: 'en' }).resolvedOptions().locale`,
    localesBadType: `new Intl.NumberFormat([null])`,
  });
});

test('long case mappings in special-casing languages go to the host in pieces and come back as Node maps them', async () => {
  const text = 'istanbul İzmir ıi ΆΣ Iı\u0307 '.repeat(110_000);
  const r = await invokeSource(`export default { fetch() {
    const text = ${JSON.stringify(text)};
    return new Response(text.toLocaleUpperCase('tr') + '|' + text.toLocaleLowerCase('tr-TR') + '|' + text.toLocaleUpperCase('el'));
  } }`, {}, { memoryMb: 64, cpuMs: 20_000 });
  expect(r.status).toBe(200);
  expect(r.text === `${text.toLocaleUpperCase('tr')}|${text.toLocaleLowerCase('tr-TR')}|${text.toLocaleUpperCase('el')}`).toBe(true);
});

test('the guest defaults to en-US whatever the host locale is', async () => {
  const out = await guest(`return Response.json([new Intl.NumberFormat().resolvedOptions().locale, new Intl.Collator().resolvedOptions().locale, (1234.5).toLocaleString(), new Date(0).toLocaleDateString('en-US', { timeZone: 'UTC' }) === new Date(0).toLocaleDateString(undefined, { timeZone: 'UTC' })]);`);
  expect(out).toEqual(['en-US', 'en-US', '1,234.5', true]);
});

test('dayjs (timezone plugin), luxon and date-fns-tz work in the sandbox, compiled with the real compiler, as in Node', async () => {
  const source = `
import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc';
import timezone from 'dayjs/plugin/timezone';
import { DateTime } from 'luxon';
import { formatInTimeZone } from 'date-fns-tz';
dayjs.extend(utc);
dayjs.extend(timezone);
export default { fetch() {
  return Response.json([
    dayjs.tz('2024-03-10 12:00', 'America/New_York').format(),
    dayjs.utc('2024-06-01T12:00:00Z').tz('Asia/Kolkata').format('YYYY-MM-DD HH:mm Z'),
    dayjs.tz.guess() === Intl.DateTimeFormat().resolvedOptions().timeZone,
    DateTime.fromISO('2024-03-31T01:30:00', { zone: 'Europe/Paris' }).plus({ hours: 1 }).toFormat('yyyy-MM-dd HH:mm ZZZZ'),
    DateTime.fromMillis(0, { zone: 'UTC' }).setLocale('fr').toLocaleString(DateTime.DATE_FULL),
    formatInTimeZone(new Date('2024-01-01T00:00:00Z'), 'Asia/Tokyo', 'yyyy-MM-dd HH:mm zzz'),
  ]);
} };`;
  dayjs.extend(utc);
  dayjs.extend(timezone);
  const want = [
    dayjs.tz('2024-03-10 12:00', 'America/New_York').format(),
    dayjs.utc('2024-06-01T12:00:00Z').tz('Asia/Kolkata').format('YYYY-MM-DD HH:mm Z'),
    true,
    DateTime.fromISO('2024-03-31T01:30:00', { zone: 'Europe/Paris' }).plus({ hours: 1 }).toFormat('yyyy-MM-dd HH:mm ZZZZ'),
    DateTime.fromMillis(0, { zone: 'UTC' }).setLocale('fr').toLocaleString(DateTime.DATE_FULL),
    formatInTimeZone(new Date('2024-01-01T00:00:00Z'), 'Asia/Tokyo', 'yyyy-MM-dd HH:mm zzz'),
  ];
  expect(want[0]).toBe('2024-03-10T12:00:00-04:00');
  const rt = await sharedRuntime();
  const resolveDir = fileURLToPath(new URL('../..', import.meta.url));
  const { bytes } = await compileEntry({ source, filename: 'dates.ts', resolveDir }, signingKey);
  // the three libraries together are ~250 KB of bundle: more than the default 1 MiB heap holds
  rt.deploy('intl-dates', 1, verifyArtifact(bytes, signingKey), parseFunctionConfig({ memoryMb: 8 }));
  const r = await rt.invoke('intl-dates', { method: 'GET', url: 'http://localhost/', headers: [], body: null }, { requestId: 'dates' });
  expect(r.response.status).toBe(200);
  expect(JSON.parse(new TextDecoder().decode(r.response.body!))).toEqual(want);
});

test('dayjs with its timezone plugin fits the default 1 MiB heap', async () => {
  const source = `
import dayjs from 'dayjs';
import utc from 'dayjs/plugin/utc';
import timezone from 'dayjs/plugin/timezone';
dayjs.extend(utc);
dayjs.extend(timezone);
export default { fetch(request) {
  const zone = new URL(request.url).searchParams.get('tz');
  return new Response(dayjs('2024-07-04T12:00:00Z').tz(zone).format('YYYY-MM-DD HH:mm:ss Z'));
} };`;
  const rt = await sharedRuntime();
  const resolveDir = fileURLToPath(new URL('../..', import.meta.url));
  const { bytes } = await compileEntry({ source, filename: 'dayjs-tz.ts', resolveDir }, signingKey);
  rt.deploy('intl-dayjs', 1, verifyArtifact(bytes, signingKey), parseFunctionConfig({}));
  for (const [zone, want] of [['Australia/Sydney', '2024-07-04 22:00:00 +10:00'], ['America/Los_Angeles', '2024-07-04 05:00:00 -07:00']]) {
    const r = await rt.invoke('intl-dayjs', { method: 'GET', url: `http://localhost/?tz=${zone}`, headers: [], body: null }, { requestId: zone });
    expect(new TextDecoder().decode(r.response.body!)).toBe(want);
  }
});
