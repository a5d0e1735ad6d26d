import { describe, expect, it } from 'vitest';
import { QuickJSEmscriptenFactory } from './factory.ts';
import { GuestFault } from '../types.ts';
import { buildPreludeSources } from '../../prelude/build.ts';
import { createBox, echoSource, faultOf, invokeBox, load, neighboursAnswer, type DrivenBox } from '../../../test/helpers/engine-driver.ts';

/**
 * Engine "emscripten" (stock quickjs-emscripten, Bellard's QuickJS, source only). With isolation
 * "shared" its runtimes live in one WASM module; the fault tests check neighbours in that module.
 */

const sources = await buildPreludeSources();
const shared = (runtimesPerInstance = 8) => new QuickJSEmscriptenFactory('shared', sources, { runtimesPerInstance });

async function trio(f: QuickJSEmscriptenFactory): Promise<[DrivenBox, DrivenBox, DrivenBox]> {
  const boxes: [DrivenBox, DrivenBox, DrivenBox] = [await createBox(f), await createBox(f), await createBox(f)];
  expect(f.stats()).toMatchObject({ instances: 1, runtimes: 3 });
  await load(boxes[1], echoSource('b'));
  await load(boxes[2], echoSource('c'));
  return boxes;
}



describe('engine "emscripten"', () => {
  it('runs the bundled source with the prelude, and says it cannot run bytecode', async () => {
    const f = shared();
    expect(f.runsBytecode).toBe(false);
    const [a, b] = await trio(f);
    await load(a, `export default { async fetch(req) {
      const u = new URL(req.url);
      const bytes = new TextEncoder().encode(u.searchParams.get('q') ?? '');
      const h = new Headers({ 'X-A': '1' });
      return Response.json({ path: u.pathname, n: bytes.length, h: h.get('x-a'), b64: btoa('hi'), p: typeof performance.now() });
    } };`);
    expect(JSON.parse((await invokeBox(a, '/p?q=h%C3%A9')).text)).toEqual({ path: '/p', n: 3, h: '1', b64: 'aGk=', p: 'number' });
    expect((await invokeBox(b)).text).toBe('b:1:undefined');
    expect((await invokeBox(b)).text).toBe('b:2:undefined');
  });

  it('top-level await in the module works (the namespace arrives as a promise)', async () => {
    const f = shared();
    const a = await createBox(f);
    await load(a, `const v = await Promise.resolve('tla'); export default { fetch() { return new Response(v); } };`);
    expect((await invokeBox(a)).text).toBe('tla');
  });

  it('binary bodies and async host operations cross the boundary intact', async () => {
    const f = shared();
    const [a, b] = await trio(f);
    await load(a, `export default { async fetch(req, env) {
      const v = await env.KV.get('k1');
      return new Response(new Uint8Array([0, 255, 7, ...new TextEncoder().encode(v)]));
    } };`);
    await load(b, `export default { async fetch(req, env) { return new Response(await env.KV.get('k2')); } };`);
    const [ra, rb] = await Promise.all([invokeBox(a, '/', { kv: ['KV'] }), invokeBox(b, '/', { kv: ['KV'] })]);
    expect([...new TextEncoder().encode(ra.text)].slice(0, 1)).toEqual([0]);
    expect(ra.text.endsWith('v-k1')).toBe(true);
    expect(rb.text).toBe('v-k2');
  });

  it('host strings with a NUL reach the guest whole (a C-string copy would end them there)', async () => {
    const f = shared();
    const a = await createBox(f);
    await load(a, `export default { fetch() {
      const decoded = new TextDecoder().decode(new Uint8Array([0x61, 0, 0x62]));
      const binary = atob('AP8A');
      return Response.json([decoded.length, decoded.charCodeAt(1), binary.length, binary.charCodeAt(1), new URL('http://h/\\u{1F600}').pathname]);
    } };`);
    expect(JSON.parse((await invokeBox(a)).text)).toEqual([3, 0, 3, 255, '/%F0%9F%98%80']);
  });

  it('a global set in one runtime is invisible to a neighbour in the same module', async () => {
    const f = shared();
    const [a, b] = await trio(f);
    await load(a, `globalThis.leak = 'from-a'; export default { fetch() { return new Response(String(globalThis.leak)); } };`);
    expect((await invokeBox(a)).text).toBe('from-a');
    expect((await invokeBox(b)).text).toBe('b:1:undefined');
  });

  it('OOM, interrupt and stack overflow in one runtime leave its neighbours answering', async () => {
    const f = shared();
    const [a, b, c] = await trio(f);
    a.box.setMemoryLimit(1024 * 1024);
    await load(a, `export default { fetch(req) {
      const p = new URL(req.url).pathname;
      if (p === '/oom') { const x = []; for (let i = 0; ; i++) x.push('y'.repeat(64) + i); }
      if (p === '/spin') for (;;) {}
      const r = (n) => r(n + 1) + 1; return new Response(String(r(0)));
    } };`);
    expect((await faultOf(invokeBox(a, '/oom'))).kind).toBe('out_of_memory');
    await neighboursAnswer(b, c);
    a.cpuMs = 30;
    expect((await faultOf(invokeBox(a, '/spin'))).kind).toBe('interrupted');
    await neighboursAnswer(b, c);
    a.cpuMs = 1000;
    expect((await faultOf(invokeBox(a, '/deep'))).kind).toBe('stack_overflow');
    await neighboursAnswer(b, c);
    a.box.dispose();
    expect(f.stats()).toMatchObject({ instances: 1, runtimes: 2, retired: 0 });
  });

  it('accounts memory per runtime', async () => {
    const f = shared();
    const [a, b] = await trio(f);
    await load(a, `let keep = []; export default { fetch(req) {
      if (req.url.endsWith('/grow')) for (let i = 0; i < 4; i++) keep.push(new Uint8Array(512 * 1024));
      return new Response(String(keep.length));
    } };`);
    await invokeBox(a);
    const a0 = a.box.heapBytes();
    const b0 = b.box.heapBytes();
    expect((await invokeBox(a, '/grow')).text).toBe('4');
    expect(a.box.heapBytes() - a0).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    expect(b.box.heapBytes()).toBe(b0);
  });

  it('isolation "instance" gives each sandbox a module of its own', async () => {
    const f = new QuickJSEmscriptenFactory('instance', sources);
    const boxes = [await createBox(f), await createBox(f)];
    expect(f.stats()).toMatchObject({ instances: 2, runtimes: 2 });
    await load(boxes[0]!, echoSource('x'));
    expect((await invokeBox(boxes[0]!)).text).toBe('x:1:undefined');
    for (const d of boxes) d.box.dispose();
    expect(f.stats().instances).toBe(0);
  });
});
