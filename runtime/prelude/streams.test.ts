import { describe, expect, test } from 'vitest';
import { invokeSource } from '../../test/helpers/sandbox.ts';

describe('scratch', () => {
  test('readable stream basics', async () => {
    const r = await invokeSource(`export default { async fetch() {
      const rs = new ReadableStream({ start(c) { c.enqueue('a'); c.enqueue('b'); c.close(); } });
      const out = [];
      for await (const x of rs) out.push(x);
      return new Response(out.join(','));
    } }`);
    expect(r.text).toBe('a,b');
  });
  test('streamed response', async () => {
    const r = await invokeSource(`export default { async fetch() {
      const enc = new TextEncoder();
      let i = 0;
      return new Response(new ReadableStream({ pull(c) { if (i < 3) c.enqueue(enc.encode('x' + i++)); else c.close(); } }));
    } }`);
    expect(r.text).toBe('x0x1x2');
  });
  test('request body stream', async () => {
    const r = await invokeSource(`export default { async fetch(req) {
      const chunks = [];
      for await (const c of req.body) chunks.push(c.length);
      return new Response(chunks.join(','));
    } }`, { method: 'POST', body: 'hello' });
    expect(r.text).toBe('5');
  });
  test('compression round trip', async () => {
    const r = await invokeSource(`export default { async fetch(req) {
      const data = new TextEncoder().encode('hello hello hello hello');
      const gz = await new Response(new Response(data).body.pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
      const back = await new Response(new Response(gz).body.pipeThrough(new DecompressionStream('gzip'))).text();
      return new Response(gz.byteLength + ':' + back);
    } }`);
    expect(r.text).toMatch(/^\d+:hello hello hello hello$/);
  });
});
