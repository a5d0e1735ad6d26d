import { describe, expect, test } from 'vitest';
import { CACHE_BUDGET, intlCacheWeight, intlCall } from './intl.ts';

/** The host side of Intl: key validation, the bounded formatter cache, the Segmenter's bounded work. */

const key = (kind: string, locales: unknown = [], options: unknown = {}) => JSON.stringify([kind, locales, options]);

describe('intl host op', () => {
  test('formats with Node Intl and resolves options as JSON text', () => {
    expect(intlCall('format', key('NumberFormat', ['de-DE']), [1234.5])).toBe('1.234,5');
    expect(JSON.parse(intlCall('open', key('Collator', ['sv']), undefined) as string)).toMatchObject({ locale: 'sv', usage: 'sort' });
    expect(intlCall('format', key('NumberFormat'), [{ n: '-0' }])).toBe('-0');
    expect(intlCall('format', key('NumberFormat'), [{ b: '12345678901234567890' }])).toBe('12,345,678,901,234,567,890');
    expect(intlCall('format', key('DateTimeFormat:time', ['en-GB'], { timeZone: 'UTC' }), [0])).toBe('00:00:00');
  });

  test('a bad key, locale, option, kind, method or argument is an error of the guest, never anything else', () => {
    const bad: [string, string, unknown, string][] = [
      ['open', '{', undefined, 'TypeError'],
      ['open', '[1,2]', undefined, 'TypeError'],
      ['open', key('Intl'), undefined, 'TypeError'],
      ['open', key('__proto__'), undefined, 'TypeError'],
      ['open', key('NumberFormat', 'en'), undefined, 'RangeError'],
      ['open', key('NumberFormat', Array(33).fill('en')), undefined, 'RangeError'],
      ['open', key('NumberFormat', ['x'.repeat(129)]), undefined, 'RangeError'],
      ['open', key('NumberFormat', [1]), undefined, 'RangeError'],
      ['open', key('NumberFormat', [], { style: { nested: 1 } }), undefined, 'RangeError'],
      ['open', key('NumberFormat', [], { currency: 'x'.repeat(129) }), undefined, 'RangeError'],
      ['open', key('NumberFormat', [], Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`o${i}`, 1]))), undefined, 'RangeError'],
      ['open', key('NumberFormat', [], []), undefined, 'TypeError'],
      ['open', key('DateTimeFormat', [], { timeZone: 'Mars/Base' }), undefined, 'RangeError'],
      ['open', key('Locale', ['en', 'de']), undefined, 'TypeError'],
      ['format', key('Collator'), ['a'], 'TypeError'],
      ['compare', key('NumberFormat'), ['a', 'b'], 'TypeError'],
      ['segment', key('NumberFormat'), ['a'], 'TypeError'],
      ['maximize', key('Collator'), undefined, 'TypeError'],
      ['format', key('NumberFormat'), 'not an array', 'TypeError'],
      ['format', key('NumberFormat'), [{ n: 'nope' }], 'TypeError'],
      ['format', key('NumberFormat'), [{ b: '1'.repeat(5000) }], 'TypeError'],
      ['format', key('ListFormat'), [['a', 1]], 'TypeError'],
      ['resolvedOptions', key('NumberFormat'), undefined, 'TypeError'],
      ['segment', key('Segmenter'), ['x'.repeat(256 * 1024 + 1)], 'RangeError'],
      ['toLocaleUpperCase', '{', ['a'], 'TypeError'],
      ['canonicalLocales', '', ['not a tag'], 'RangeError'],
    ];
    for (const [method, k, input, name] of bad) {
      let thrown: unknown;
      try {
        intlCall(method, k, input);
      } catch (e) {
        thrown = e;
      }
      expect(thrown, `${method} ${k.slice(0, 80)}`).toBeInstanceOf(Error);
      expect((thrown as Error).name, `${method} ${k.slice(0, 80)}`).toBe(name);
    }
  });

  test('the formatter cache stays within its budget whatever the number of distinct formatters, and reuses what it holds', () => {
    const zones = Intl.supportedValuesOf('timeZone');
    for (let i = 0; i < 2000; i++) {
      const options = { timeZone: zones[i % zones.length], hour12: i % 2 === 0, fractionalSecondDigits: 1 + (i % 3) };
      intlCall('formatRange', key('DateTimeFormat', ['en-US'], options), [0, 864e5]);
      intlCall('format', key('NumberFormat', ['en-US'], { minimumIntegerDigits: 1 + (i % 21), maximumFractionDigits: i % 20 }), [i]);
      expect(intlCacheWeight()).toBeLessThanOrEqual(CACHE_BUDGET);
    }
    const weight = intlCacheWeight();
    // a formatter used again is found, not built again
    for (let i = 0; i < 100; i++) intlCall('format', key('NumberFormat', ['fr-FR']), [i]);
    expect(intlCacheWeight()).toBeLessThanOrEqual(weight + 1);
  });

  test('one Segmenter call stops after a bounded amount of work, however long the window', () => {
    const seg = key('Segmenter', ['en'], { granularity: 'word' });
    const started = performance.now();
    const got = intlCall('segment', seg, ['x'.repeat(250_000) + ' a'.repeat(3000)]) as number[];
    expect(performance.now() - started).toBeLessThan(2000);
    expect(got.length).toBeLessThan(64);
    expect(got[0]).toBe(250_000 * 2 + 1);
    const small = intlCall('segment', seg, ['hi there']) as number[];
    expect(small).toEqual([5, 6, 17]);
  });
});
