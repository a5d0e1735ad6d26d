import { describe, expect, it } from 'vitest';
import { deploySource, invoke, invokeSource, sharedRuntime } from '../test/helpers/sandbox.ts';

const ok = `export default { fetch() { return new Response('fine'); } };`;

/** After every fault the same function, and a neighbour, must answer normally. */
async function expectHealthyAfter(name: string) {
  const again = await invoke(name, { path: '/?mode=ok' });
  expect(again.text).toBe('fine');
  const neighbour = await invokeSource(ok);
  expect(neighbour.text).toBe('fine');
}

const faulty = (body: string) => `
export default {
  async fetch(request) {
    if (new URL(request.url).searchParams.get('mode') === 'ok') return new Response('fine');
    ${body}
  },
};`;

describe('limits', () => {
  it('stops a synchronous infinite loop with cpu_limit_exceeded', async () => {
    const name = await deploySource(faulty('while (true) {}'), { cpuMs: 50 });
    await expect(invoke(name)).rejects.toMatchObject({ code: 'cpu_limit_exceeded', status: 503 });
    await expectHealthyAfter(name);
  });

  it('stops a loop inside a promise job', async () => {
    const name = await deploySource(faulty('await Promise.resolve(); await new Promise(() => { Promise.resolve().then(() => { for (;;) {} }); });'), { cpuMs: 50 });
    await expect(invoke(name)).rejects.toMatchObject({ code: 'cpu_limit_exceeded' });
    await expectHealthyAfter(name);
  });

  it('stops a loop inside a timer callback', async () => {
    const name = await deploySource(faulty('return await new Promise((r) => setTimeout(() => { for (;;) {} }, 1));'), { cpuMs: 50 });
    await expect(invoke(name)).rejects.toMatchObject({ code: 'cpu_limit_exceeded' });
    await expectHealthyAfter(name);
  });

  it('a module load stopped by its limits while its top-level await is pending leaves no handle behind', async () => {
    // The host job (PBKDF2) is charged to the load and settles after the load already failed: the
    // module namespace it resolves must not outlive the disposed sandbox (a leaked value makes
    // JS_FreeRuntime assert, which retires a whole shared WASM instance with its neighbours).
    const faults = async () => {
      const factories = ((await sharedRuntime()) as unknown as { factories: Map<string, { stats?(): { faults?: number } }> }).factories;
      return Math.max(0, ...[...factories.values()].map((f) => f.stats?.().faults ?? 0));
    };
    const before = await faults();
    const name = await deploySource(
      `const pw = await crypto.subtle.importKey('raw', new Uint8Array(8), 'PBKDF2', false, ['deriveBits']);
      await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-512', salt: new Uint8Array(8), iterations: 300000 }, pw, 512);
      export default { fetch() { return new Response('never'); } };`,
      { cpuMs: 20 },
    );
    await expect(invoke(name)).rejects.toMatchObject({ code: 'cpu_limit_exceeded' });
    await new Promise((r) => setTimeout(r, 50));
    expect(await faults()).toBe(before);
    expect((await invokeSource(ok)).text).toBe('fine');
  });

  it('the guest cannot catch the CPU interrupt', async () => {
    const name = await deploySource(faulty('try { while (true) {} } catch (e) { return new Response("caught"); }'), { cpuMs: 50 });
    await expect(invoke(name)).rejects.toMatchObject({ code: 'cpu_limit_exceeded' });
  });

  it('caps the guest heap: a memory bomb gets memory_limit_exceeded', async () => {
    const name = await deploySource(faulty('const a = []; for (let i = 0; ; i++) a.push("x".repeat(64) + i);'), { memoryMb: 1 });
    await expect(invoke(name)).rejects.toMatchObject({ code: 'memory_limit_exceeded', status: 503 });
    await expectHealthyAfter(name);
  });

  it('a single huge allocation fails with memory_limit_exceeded', async () => {
    const name = await deploySource(faulty('const big = new Uint8Array(64 * 1024 * 1024); return new Response(String(big.length));'), { memoryMb: 1 });
    await expect(invoke(name)).rejects.toMatchObject({ code: 'memory_limit_exceeded' });
    await expectHealthyAfter(name);
  });

  it('unbounded recursion is a stack_overflow, not a crash', async () => {
    const name = await deploySource(faulty('const f = (n) => f(n + 1) + 1; return new Response(String(f(0)));'));
    await expect(invoke(name)).rejects.toMatchObject({ code: 'stack_overflow' });
    await expectHealthyAfter(name);
  });

  it('enforces wall time while awaiting (timeout)', async () => {
    const name = await deploySource(faulty('await new Promise(() => {});'), { timeoutMs: 150 });
    await expect(invoke(name)).rejects.toMatchObject({ code: 'timeout', status: 504 });
    await expectHealthyAfter(name);
  });

  it('an uncaught exception is a function_error with the stack mapped to the source', async () => {
    const source = `
function explode(): never {
  throw new TypeError('kaboom');
}
export default {
  fetch() {
    explode();
  },
};`;
    const err = await invokeSource(source).catch((e) => e);
    expect(err).toMatchObject({ code: 'function_error', status: 500 });
    expect(err.message).toContain('TypeError: kaboom');
    expect(String(err.detail?.stack)).toMatch(/fn-\d+-\d+\.ts:3:\d+/);
  });

  it('a rejected promise from the handler is a function_error', async () => {
    const err = await invokeSource(`export default { async fetch() { await null; throw new RangeError('later'); } };`).catch((e) => e);
    expect(err).toMatchObject({ code: 'function_error' });
    expect(err.message).toContain('RangeError: later');
  });

  it('a handler that returns something else than a Response is a function_error', async () => {
    const err = await invokeSource(`export default { fetch() { return 'hello'; } };`).catch((e) => e);
    expect(err).toMatchObject({ code: 'function_error' });
    expect(err.message).toMatch(/must return a Response/);
  });

  it('top-level code that throws fails the invocation clearly', async () => {
    const err = await invokeSource(`throw new Error('bad init'); export default { fetch() { return new Response(''); } };`).catch((e) => e);
    expect(err).toMatchObject({ code: 'function_error' });
    expect(err.message).toContain('bad init');
  });
});
