import { describe, expect, it } from 'vitest';
import { QuickJSWasiFactory } from './factory.ts';
import type { WasiSandbox } from './sandbox.ts';
import { GuestFault } from '../types.ts';
import { buildPrelude } from '../../prelude/build.ts';
import { createBox, echoSource, faultOf, invokeBox, load, neighboursAnswer, type DrivenBox } from '../../../test/helpers/engine-driver.ts';

/**
 * Isolation "shared": tenants side by side in ONE WASM instance. Every fault test puts the culprit
 * next to neighbours in the same instance and checks the neighbours afterwards.
 */

const prelude = await buildPrelude();
const factory = (runtimesPerInstance = 8) => new QuickJSWasiFactory('shared', prelude, { runtimesPerInstance });
const instanceOf = (d: DrivenBox) => (d.box as unknown as WasiSandbox).instanceId;

async function trio(f: QuickJSWasiFactory): Promise<[DrivenBox, DrivenBox, DrivenBox]> {
  const boxes = [await createBox(f), await createBox(f), await createBox(f)] as const;
  expect(new Set(boxes.map(instanceOf)).size).toBe(1);
  await load(boxes[1], echoSource('b'));
  await load(boxes[2], echoSource('c'));
  return [...boxes];
}



describe('isolation "shared" (many runtimes in one WASM instance)', () => {
  it('runs functions side by side in one instance, with module state of their own', async () => {
    const f = factory();
    const [a, b, c] = await trio(f);
    await load(a, `export default { async fetch(req) {
      const u = new URL(req.url);
      const bytes = new TextEncoder().encode(u.searchParams.get('q') ?? '');
      return new Response(u.pathname + ':' + bytes.length);
    } };`);
    expect(await invokeBox(a, '/p?q=h%C3%A9')).toEqual({ status: 200, text: '/p:3' });
    expect((await invokeBox(b)).text).toBe('b:1:undefined');
    expect((await invokeBox(b)).text).toBe('b:2:undefined');
    expect((await invokeBox(c)).text).toBe('c:1:undefined');
    expect(f.stats()).toMatchObject({ instances: 1, runtimes: 3, retired: 0 });
    for (const d of [a, b, c]) d.box.dispose();
  });

  it('a global set in one runtime is invisible to a neighbour', async () => {
    const f = factory();
    const [a, b] = await trio(f);
    await load(a, `globalThis.leak = 'from-a'; Object.prototype.polluted = 1;
      export default { fetch() { return new Response(String(globalThis.leak) + String(({}).polluted)); } };`);
    expect((await invokeBox(a)).text).toBe('from-a1');
    expect((await invokeBox(b)).text).toBe('b:1:undefined');
    await load(b, `export default { fetch() { return new Response(typeof leak + ':' + String(({}).polluted) + ':' + typeof __faas_host); } };`);
    expect((await invokeBox(b)).text).toBe('undefined:undefined:undefined');
  });

  it('async host operations settle into the right runtime', async () => {
    const f = factory();
    const [a, b] = await trio(f);
    const src = (tag: string) => `export default { async fetch(req, env) {
      const [x, y] = await Promise.all([env.KV.get('${tag}1'), env.KV.get('${tag}2')]);
      return new Response(x + '|' + y);
    } };`;
    await load(a, src('a'));
    await load(b, src('b'));
    const [ra, rb] = await Promise.all([invokeBox(a, '/', { kv: ['KV'] }), invokeBox(b, '/', { kv: ['KV'] })]);
    expect(ra.text).toBe('v-a1|v-a2');
    expect(rb.text).toBe('v-b1|v-b2');
  });

  it('an OOM in one runtime leaves its neighbours answering, and is an out_of_memory fault', async () => {
    const f = factory();
    const [a, b, c] = await trio(f);
    await load(a, `export default { fetch() { const x = []; for (let i = 0; ; i++) x.push('y'.repeat(64) + i); } };`);
    a.box.setMemoryLimit(1024 * 1024);
    const fault = await faultOf(invokeBox(a));
    expect(fault.kind).toBe('out_of_memory');
    expect(fault.message).toMatch(/out of memory/);
    await neighboursAnswer(b, c);
    // a neighbour can still allocate far more than the culprit's cap
    await load(b, `export default { fetch() { const x = []; for (let i = 0; i < 40000; i++) x.push('z'.repeat(64) + i); return new Response(String(x.length)); } };`);
    expect((await invokeBox(b)).text).toBe('40000');
    a.box.dispose();
    expect(f.stats()).toMatchObject({ instances: 1, retired: 0 });
  });

  it('a CPU interrupt (while(true)) in one runtime does not touch its neighbours', async () => {
    const f = factory();
    const [a, b, c] = await trio(f);
    await load(a, `export default { fetch() { for (;;) {} } };`);
    a.cpuMs = 30;
    const fault = await faultOf(invokeBox(a));
    expect(fault.kind).toBe('interrupted');
    await neighboursAnswer(b, c);
    // the interrupt is per runtime: a busy neighbour with budget left runs to completion
    await load(b, `export default { fetch() { let s = 0; for (let i = 0; i < 3e5; i++) s += i; return new Response(String(s)); } };`);
    expect((await invokeBox(b)).text).toBe(String((3e5 * (3e5 - 1)) / 2));
    a.box.dispose();
    expect(f.stats().retired).toBe(0);
  });

  it('a guest stack overflow is a stack_overflow fault; neighbours answer and the instance stays', async () => {
    const f = factory();
    const [a, b, c] = await trio(f);
    await load(a, `const r = (n) => r(n + 1) + 1; export default { fetch() { return new Response(String(r(0))); } };`);
    const fault = await faultOf(invokeBox(a));
    expect(fault.kind).toBe('stack_overflow');
    await neighboursAnswer(b, c);
    expect(f.stats().retired).toBe(0);
    // the runtime itself survives a caught overflow
    await load(a, `const r = (n) => r(n + 1); export default { fetch() { try { r(0); } catch (e) { return new Response(e.name); } } };`);
    expect((await invokeBox(a)).text).toBe('RangeError');
  });

  it('a host-side stack overflow retires the instance: neighbours drain, new tenants go elsewhere', async () => {
    const f = factory();
    const [a, b, c] = await trio(f);
    const first = instanceOf(a);
    // the JSON parser recurses on the host (WASM) stack faster than QuickJS's own stack check notices
    await load(a, `export default { fetch() { return new Response(String(JSON.parse('['.repeat(200000)))); } };`);
    const fault = await faultOf(invokeBox(a));
    expect(['stack_overflow', 'engine_trap']).toContain(fault.kind);
    expect(f.stats().retired).toBe(1);
    await neighboursAnswer(b, c);
    const d = await createBox(f);
    expect(instanceOf(d)).not.toBe(first);
    await load(d, echoSource('d'));
    expect((await invokeBox(d)).text).toBe('d:1:undefined');
    for (const x of [a, b, c]) x.box.dispose();
    expect(f.stats()).toMatchObject({ instances: 1, retired: 0 });
    d.box.dispose();
  });

  it('accounts memory per runtime', async () => {
    const f = factory();
    const [a, b] = await trio(f);
    await load(a, `let keep = []; export default { fetch(req) {
      if (req.url.endsWith('/grow')) for (let i = 0; i < 4; i++) keep.push(new Uint8Array(512 * 1024));
      else keep = [];
      return new Response(String(keep.length));
    } };`);
    await invokeBox(a);
    const a0 = a.box.heapBytes();
    const b0 = b.box.heapBytes();
    expect(a0).toBeGreaterThan(50_000);
    expect((await invokeBox(a, '/grow')).text).toBe('4');
    const a1 = a.box.heapBytes();
    expect(a1 - a0).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    expect(a1 - a0).toBeLessThan(2.2 * 1024 * 1024);
    expect(b.box.heapBytes()).toBe(b0);
    // a neighbour's limit is its own: 3 MiB here holds although "a" already holds more than 2 MiB
    b.box.setMemoryLimit(3 * 1024 * 1024);
    await load(b, `export default { fetch() { const k = []; for (let i = 0; i < 4; i++) k.push(new Uint8Array(512 * 1024)); return new Response('ok'); } };`);
    expect((await invokeBox(b)).text).toBe('ok');
    await invokeBox(a, '/drop');
    expect(a.box.heapBytes()).toBeLessThan(a0 + 64 * 1024);
  });

  it('shards tenants over instances and drops emptied ones', async () => {
    const f = factory(3);
    const boxes: DrivenBox[] = [];
    for (let i = 0; i < 7; i++) boxes.push(await createBox(f));
    expect(f.stats()).toMatchObject({ instances: 3, runtimes: 7 });
    for (const d of boxes.slice(0, 6)) d.box.dispose();
    expect(f.stats().instances).toBe(1);
    expect(f.stats().runtimes).toBe(1);
    boxes[6]!.box.dispose();
    expect(f.stats()).toMatchObject({ instances: 1, runtimes: 0, retired: 0 });
  });

  it('disposes cleanly after faults and in-flight async work (no leaked values in a freed runtime)', async () => {
    const f = factory(4);
    for (let round = 0; round < 3; round++) {
      const [a, b, c] = await trio(f);
      await load(a, `export default { async fetch(req, env) { await env.KV.get('x'); throw new TypeError('late'); } };`);
      const late = faultOf(invokeBox(a, '/', { kv: ['KV'] }));
      await load(c, `export default { fetch() { null.boom; } };`);
      expect((await faultOf(invokeBox(c))).kind).toBe('exception');
      expect((await late).message).toBe('late');
      await load(b, `export default { async fetch(req, env) { return new Response(await env.KV.get('y')); } };`);
      void invokeBox(b, '/', { kv: ['KV'] }).catch(() => {}); // still awaiting the host when b is disposed
      for (const d of [a, b, c]) d.box.dispose();
    }
    expect(f.stats().retired).toBe(0);
  });
});
