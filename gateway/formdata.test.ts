/**
 * A multipart upload end to end: a client (Node's FormData and fetch, and a body laid out the way
 * curl's -F writes it) posts to the gateway; the function reads it with `request.formData()` and
 * reports each file's name, type, size and a digest of its bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../test/helpers/gateway.ts';

const UPLOAD = `export default { async fetch(request) {
  const form = await request.formData();
  const out = [];
  for (const [name, value] of form) {
    if (typeof value === 'string') { out.push({ name, value }); continue; }
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await value.arrayBuffer()));
    out.push({ name, file: value.name, type: value.type, size: value.size, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''), head: await value.slice(0, 16).text() });
  }
  return Response.json(out);
} };`;

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

describe('multipart uploads through the gateway', () => {
  let t: TestGateway;

  beforeAll(async () => {
    t = await startTestGateway();
    // a 600 KiB upload is held twice in the guest (the body and the digest's copy): 8 MiB of heap
    expect((await t.deploy('upload', UPLOAD, { memoryMb: 8 })).status).toBe(201);
  });
  afterAll(() => t?.close());

  it("Node's FormData and fetch: fields and files arrive with their names, types, sizes and bytes", async () => {
    const big = randomBytes(600 * 1024);
    const fd = new FormData();
    fd.append('title', 'Quarterly report – ünïcode ✓');
    fd.append('report', new File([big], 'report 2024.bin', { type: 'application/octet-stream' }));
    fd.append('notes', new File(['first line\r\nsecond line\n'], 'notes.txt', { type: 'text/plain' }));
    fd.append('empty', new File([], 'empty.dat'));
    const res = await t.fn('upload', '', { method: 'POST', body: fd, signal: AbortSignal.timeout(20_000) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([
      { name: 'title', value: 'Quarterly report – ünïcode ✓' },
      { name: 'report', file: 'report 2024.bin', type: 'application/octet-stream', size: big.length, sha256: sha256(big), head: new TextDecoder().decode(big.subarray(0, 16)) },
      { name: 'notes', file: 'notes.txt', type: 'text/plain', size: 24, sha256: sha256('first line\r\nsecond line\n'), head: 'first line\r\nseco' },
      // Node sends an untyped File as application/octet-stream
      { name: 'empty', file: 'empty.dat', type: 'application/octet-stream', size: 0, sha256: sha256(''), head: '' },
    ]);
  });

  it("a body laid out as curl's -F writes it (its boundary, its headers), and an urlencoded form", async () => {
    const boundary = '------------------------' + randomBytes(8).toString('hex');
    const image = randomBytes(4096);
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="user"\r\n\r\nalice\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="avatar"; filename="me.png"\r\nContent-Type: image/png\r\n\r\n`),
      image,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await t.fn('upload', '', { method: 'POST', body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, signal: AbortSignal.timeout(20_000) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([
      { name: 'user', value: 'alice' },
      { name: 'avatar', file: 'me.png', type: 'image/png', size: 4096, sha256: sha256(image), head: new TextDecoder().decode(image.subarray(0, 16)) },
    ]);
    const form = await t.fn('upload', '', { method: 'POST', body: new URLSearchParams({ q: 'a b', lang: 'fr' }), signal: AbortSignal.timeout(20_000) });
    expect(await form.json()).toEqual([
      { name: 'q', value: 'a b' },
      { name: 'lang', value: 'fr' },
    ]);
  });

  it('a malformed upload is the function\'s TypeError (500 function_error), and an oversized one is refused before it runs (413)', async () => {
    const bad = await t.fn('upload', '', { method: 'POST', body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end', headers: { 'content-type': 'multipart/form-data; boundary=x' } });
    expect(bad.status).toBe(500);
    const err = await bad.json();
    expect(err.error).toBe('function_error');
    expect(err.message).toMatch(/TypeError: Failed to parse body as FormData: the final boundary is missing/);
    const fd = new FormData();
    fd.append('huge', new File([new Uint8Array(1024 * 1024 + 1)], 'huge.bin'));
    const huge = await t.fn('upload', '', { method: 'POST', body: fd, signal: AbortSignal.timeout(20_000) }).catch((e: Error) => e);
    // the gateway answers 413 and may close the connection while the client is still sending
    if (huge instanceof Response) expect(huge.status).toBe(413);
    else expect(String(huge)).toMatch(/fetch failed|socket|ECONNRESET|EPIPE/);
  });
});
