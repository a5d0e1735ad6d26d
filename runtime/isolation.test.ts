import { describe, expect, it } from 'vitest';
import { deploySource, invoke, sharedRuntime } from '../test/helpers/sandbox.ts';

describe('isolation', () => {
  it('a global set by one function is invisible to another', async () => {
    const a = await deploySource(`export default { fetch() { globalThis.leak = 'from-a'; return new Response('set'); } };`);
    const b = await deploySource(`export default { fetch() { return new Response(String(globalThis.leak)); } };`);
    expect((await invoke(a)).text).toBe('set');
    expect((await invoke(b)).text).toBe('undefined');
  });

  it('module state persists across invocations of a warm instance, not across instances', async () => {
    const src = `let n = 0; export default { fetch() { n++; return new Response(String(n)); } };`;
    const a = await deploySource(src);
    const b = await deploySource(src);
    expect((await invoke(a)).text).toBe('1');
    expect((await invoke(a)).text).toBe('2');
    expect((await invoke(b)).text).toBe('1');
  });

  it('a faulted instance is replaced by a fresh one (state does not survive the fault)', async () => {
    const name = await deploySource(`
      let n = 0;
      export default { fetch(req) { n++; if (new URL(req.url).searchParams.has('spin')) for (;;) {} return new Response(String(n)); } };`, { cpuMs: 30 });
    expect((await invoke(name)).text).toBe('1');
    expect((await invoke(name)).text).toBe('2');
    await expect(invoke(name, { path: '/?spin' })).rejects.toMatchObject({ code: 'cpu_limit_exceeded' });
    const after = await invoke(name);
    expect(after.text).toBe('1');
    expect(after.cold).toBe(true);
  });

  it('one instance serves concurrent async requests and keeps their data apart', async () => {
    const name = await deploySource(`
      export default { async fetch(req) {
        const id = new URL(req.url).searchParams.get('id');
        await new Promise((r) => setTimeout(r, 20 - Number(id)));
        return new Response(id);
      } };`);
    const results = await Promise.all([1, 2, 3, 4, 5].map((id) => invoke(name, { path: `/?id=${id}` })));
    expect(results.map((r) => r.text)).toEqual(['1', '2', '3', '4', '5']);
    const rt = await sharedRuntime();
    const stats = rt.stats().find((s) => s.name === name)!;
    expect(stats.instances).toBe(1);
  });

  it('secrets and env arrive on env, never on globalThis', async () => {
    const name = await deploySource(
      `export default { fetch(req, env) {
        const leaked = Object.getOwnPropertyNames(globalThis).filter((k) => String(globalThis[k]).includes('s3cr3t'));
        return Response.json({ token: env.TOKEN, mode: env.MODE, leaked, hostHidden: typeof globalThis.__faas_host });
      } };`,
      { env: { MODE: 'test' }, secrets: { TOKEN: 's3cr3t' } },
    );
    expect((await invoke(name)).json()).toEqual({ token: 's3cr3t', mode: 'test', leaked: [], hostHidden: 'undefined' });
  });
});
