import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { INLINE_FIELD_BYTES, parseMultipart, type ParsedForm } from './multipart.ts';
import { pureOps } from './pure-ops.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const thrown = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
  return null;
};

/** The parser's answer with every range replaced by the bytes (as text) it points at. */
function resolve(body: Uint8Array, out: ParsedForm): unknown[] {
  const text = (a: number, b: number) => Buffer.from(body.subarray(a, b)).toString('latin1');
  return out.map((v) => (typeof v === 'string' ? v : v.length === 2 ? { field: text(v[0], v[1]) } : { file: v[0], type: v[1], bytes: text(v[2], v[3]) }));
}

describe('the host multipart/form-data parser', () => {
  test('agrees with Node on what Node writes (random entries, binary files, unicode, CRLF in values)', async () => {
    for (let round = 0; round < 20; round++) {
      const fd = new FormData();
      const count = 1 + (round % 7);
      for (let i = 0; i < count; i++) {
        const name = `f${i}${round % 3 === 0 ? ' é"\n' : ''}`;
        if (i % 2) fd.append(name, new File([randomBytes(round * 97 + i)], `file ${i}.bin`, { type: i % 4 === 1 ? 'application/x-test' : '' }));
        else fd.append(name, `value ${i} ✓\r\nline\n${'x'.repeat(round * 100)}`);
      }
      const res = new Response(fd);
      const body = new Uint8Array(await res.clone().arrayBuffer());
      const boundary = /boundary=(.*)$/.exec(res.headers.get('content-type')!)![1]!;
      const ours = parseMultipart(body, boundary);
      const node = await res.formData();
      const expected: unknown[] = [];
      for (const [k, v] of node) {
        expected.push(k);
        if (typeof v === 'string') expected.push(enc(v).length > INLINE_FIELD_BYTES ? { field: Buffer.from(v, 'utf8').toString('latin1') } : v);
        else expected.push({ file: v.name, type: v.type, bytes: Buffer.from(await v.arrayBuffer()).toString('latin1') });
      }
      expect(resolve(body, ours)).toEqual(expected);
    }
  });

  test('what RFC 2046 and RFC 7578 allow beyond that: preamble, epilogue, padding, parameter order, filename*', () => {
    const body = enc(
      [
        'preamble',
        '--b  \t',
        'Content-Disposition: form-data; filename=x.txt; name=plain',
        '',
        'v',
        '--b',
        'CONTENT-DISPOSITION:form-data;name="q";filename*=UTF-8\'\'%C3%A9.txt;filename="fallback"',
        'content-type:   text/html  ',
        '',
        '<p>',
        '--b--',
        'epilogue',
      ].join('\r\n'),
    );
    expect(resolve(body, parseMultipart(body, 'b'))).toEqual(['plain', { file: 'x.txt', type: 'text/plain', bytes: 'v' }, 'q', { file: 'é.txt', type: 'text/html', bytes: '<p>' }]);
  });

  test('malformed bodies are TypeErrors naming what is wrong', () => {
    const cd = 'Content-Disposition: form-data; name="a"';
    const cases: [string, RegExp][] = [
      ['', /no boundary found/],
      [`--b\r\n${cd}\r\n\r\nv`, /final boundary is missing/],
      [`--b\r\n${cd}\r\n\r\nv\r\n--b`, /final boundary is missing/],
      [`--b\r\n${cd}\r\n\r\nv\r\n--bx`, /expected CRLF after a boundary/],
      [`--b\r\nX-A: 1\r\n\r\nv\r\n--b--`, /a part without a name/],
      [`--b\r\n${cd}\nX: y\r\n\r\nv\r\n--b--`, /bare LF/],
      [`--b\r\n${cd}\r\nNo colon here\r\n\r\nv\r\n--b--`, /without a colon/],
      [`--b\r\n${cd}\r\nBad Name: x\r\n\r\nv\r\n--b--`, /invalid header name/],
      [`--b\r\nContent-Disposition: inline; name="a"\r\n\r\nv\r\n--b--`, /not form-data/],
      [`--b\r\nContent-Disposition: form-data; name="a\r\n\r\nv\r\n--b--`, /unterminated quoted string/],
    ];
    for (const [body, message] of cases) expect(thrown(() => parseMultipart(enc(body), 'b'))).toMatch(new RegExp(`^TypeError: Failed to parse body as FormData: .*${message.source}`));
    for (const boundary of ['', 'x'.repeat(71), 'a\r\nb', 'é']) expect(thrown(() => parseMultipart(enc('--x'), boundary))).toMatch(/^TypeError: .*boundary must be 1 to 70 printable ASCII/);
  });

  test('fields: short ones decoded (a BOM dropped, invalid UTF-8 as U+FFFD), long ones as byte ranges', () => {
    const long = 'é'.repeat(INLINE_FIELD_BYTES);
    const body = Buffer.concat([
      Buffer.from('--b\r\nContent-Disposition: form-data; name="bom"\r\n\r\n\ufeffhi\r\n--b\r\nContent-Disposition: form-data; name="bad"\r\n\r\n'),
      Buffer.from([0xff, 0x61]),
      Buffer.from(`\r\n--b\r\nContent-Disposition: form-data; name="long"\r\n\r\n${long}\r\n--b--`),
    ]);
    const out = parseMultipart(new Uint8Array(body), 'b');
    expect(out.slice(0, 4)).toEqual(['bom', 'hi', 'bad', '\ufffda']);
    const [start, end] = out[5] as [number, number];
    expect(body.subarray(start, end).toString('utf8')).toBe(long);
  });

  test('through the op table: the pure op takes bytes and the boundary', () => {
    const out = pureOps.multipartParse(enc('--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b--'), 'b');
    expect(out).toEqual(['a', '1']);
  });
});
