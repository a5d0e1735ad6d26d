import { describe, expect, test } from 'vitest';
import { pureOps } from './pure-ops.ts';

const thrown = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return [(e as Error).name, (e as Error).message];
  }
  return null;
};

describe('pure host ops (what the guest prelude delegates)', () => {
  test('base64 follows forgiving-base64', () => {
    expect(pureOps.base64Encode('\u00ff\u0000a')).toBe('/wBh');
    expect(pureOps.base64Decode(' /wB h\n')).toBe('\u00ff\u0000a');
    expect(pureOps.base64Decode('YQ==')).toBe('a');
    expect(pureOps.base64Decode('YQ')).toBe('a');
    for (const bad of ['YQ=', 'Y', 'Y===', 'YQ==YQ==', 'a-b_', '*']) expect(thrown(() => pureOps.base64Decode(bad))?.[0]).toBe('InvalidCharacterError');
    expect(thrown(() => pureOps.base64Encode('✓'))?.[0]).toBe('InvalidCharacterError');
  });

  test('utf8 encode/decode, BOM and fatal handling', () => {
    expect(new Uint8Array(pureOps.utf8Encode('é\ud800') as ArrayBuffer)).toEqual(new Uint8Array([0xc3, 0xa9, 0xef, 0xbf, 0xbd]));
    expect(pureOps.utf8Decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), false, false)).toBe('a');
    expect(pureOps.utf8Decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), false, true)).toBe('\ufeffa');
    expect(thrown(() => pureOps.utf8Decode(new Uint8Array([0xff]), true, false))).toEqual(['TypeError', 'The encoded data was not valid utf-8']);
  });

  test('randomness and digests', () => {
    expect((pureOps.randomFill(65536) as ArrayBuffer).byteLength).toBe(65536);
    expect(thrown(() => pureOps.randomFill(65537))?.[0]).toBe('QuotaExceededError');
    expect(pureOps.randomUUID()).toMatch(/^[0-9a-f-]{36}$/);
    expect(thrown(() => pureOps.digest('MD5', new Uint8Array(1)))?.[0]).toBe('NotSupportedError');
  });

  test('URL parsing and setters use Node’s WHATWG URL', () => {
    expect(pureOps.urlParse('/x', 'https://a.b/c')).toMatchObject({ href: 'https://a.b/x', origin: 'https://a.b', pathname: '/x' });
    expect(pureOps.urlParse('/x', undefined)).toBeNull();
    expect(pureOps.urlParse('/x', 'not a base')).toBeNull();
    expect(pureOps.urlSet('https://a.b/c', 'search', 'q=1')).toMatchObject({ href: 'https://a.b/c?q=1', search: '?q=1' });
    expect(thrown(() => pureOps.urlSet('https://a.b/', 'href', 'nope'))?.[0]).toBe('TypeError');
    expect(thrown(() => pureOps.urlSet('https://a.b/', 'constructor', 'x'))?.[0]).toBe('TypeError');
    expect(pureOps.formDecode('a=1&b=%zz+c')).toEqual([['a', '1'], ['b', '%zz c']]);
  });
});
