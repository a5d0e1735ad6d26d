import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KvStore } from './store.ts';
import { kvOps } from './ops.ts';
import { deploySource, invoke } from '../../test/helpers/sandbox.ts';

let clock = Date.now();
const store = new KvStore(join(mkdtempSync(join(tmpdir(), 'faas-kv-')), 'kv.db'), undefined, () => clock);
const options = { ops: kvOps(store) };
afterAll(() => store.close());

const run = async (body: string, config: object = {}) => {
  const name = await deploySource(`export default { async fetch(request, env) { ${body} } };`, { kv: ['NS'], ...config }, options);
  return invoke(name, {}, options);
};

describe('KV binding (runtime level)', () => {
  it('put/get text, json and arrayBuffer; getWithMetadata; delete', async () => {
    const res = await run(`
      await env.NS.put('a', 'héllo', { metadata: { v: 1 } });
      await env.NS.put('j', JSON.stringify({ x: [1, 2] }));
      await env.NS.put('b', new Uint8Array([1, 2, 3]));
      const out = {
        text: await env.NS.get('a'),
        json: await env.NS.get('j', 'json'),
        bytes: Array.from(new Uint8Array(await env.NS.get('b', { type: 'arrayBuffer' }))),
        meta: await env.NS.getWithMetadata('a'),
        missing: await env.NS.get('nope'),
      };
      await env.NS.delete('a');
      out.deleted = await env.NS.get('a');
      return Response.json(out);`);
    expect(res.json()).toEqual({
      text: 'héllo',
      json: { x: [1, 2] },
      bytes: [1, 2, 3],
      meta: { value: 'héllo', metadata: { v: 1 } },
      missing: null,
      deleted: null,
    });
  });

  it('lists with prefix and pagination by cursor', async () => {
    const res = await run(`
      for (let i = 0; i < 7; i++) await env.NS.put('page:' + i, String(i));
      await env.NS.put('other', 'x');
      const pages = [];
      let cursor;
      do {
        const page = await env.NS.list({ prefix: 'page:', limit: 3, cursor });
        pages.push(page.keys.map((k) => k.name));
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
      return Response.json(pages);`);
    expect(res.json()).toEqual([['page:0', 'page:1', 'page:2'], ['page:3', 'page:4', 'page:5'], ['page:6']]);
  });

  it('never returns expired keys', async () => {
    const name = await deploySource(
      `export default { async fetch(request, env) {
        if (request.method === 'POST') { await env.NS.put('ttl', 'v', { expirationTtl: 60 }); return new Response('ok'); }
        return Response.json({ value: await env.NS.get('ttl'), listed: (await env.NS.list({ prefix: 'ttl' })).keys.length });
      } };`,
      { kv: ['NS'] },
      options,
    );
    await invoke(name, { method: 'POST' }, options);
    expect((await invoke(name, {}, options)).json()).toEqual({ value: 'v', listed: 1 });
    clock += 61_000;
    expect((await invoke(name, {}, options)).json()).toEqual({ value: null, listed: 0 });
  });

  it('rejects oversized keys and values and bad list limits with clear errors', async () => {
    const res = await run(`
      const errors = [];
      for (const f of [
        () => env.NS.put('k'.repeat(513), 'v'),
        () => env.NS.put('big', 'x'.repeat(1024 * 1024 + 1)),
        () => env.NS.list({ limit: 5000 }),
        () => env.NS.get(''),
      ]) { try { await f(); errors.push('no error'); } catch (e) { errors.push(e.name + ': ' + e.message); } }
      return Response.json(errors);`, { memoryMb: 8 });
    const errors = res.json() as string[];
    expect(errors[0]).toMatch(/RangeError: KV key of 513 bytes exceeds the limit of 512 bytes/);
    expect(errors[1]).toMatch(/RangeError: .*exceeds the limit of 1048576 bytes/);
    expect(errors[2]).toMatch(/limit must be an integer from 1 to 1000/);
    expect(errors[3]).toMatch(/must not be empty/);
  });

  it('a function cannot reach a namespace it does not declare', async () => {
    const res = await run(`
      try { await globalThis.__faas_kv_probe; } catch {}
      return Response.json({ bound: typeof env.OTHER });`);
    expect(res.json()).toEqual({ bound: 'undefined' });
  });
});

describe('KV store background purge', () => {
  it('frees expired rows’ bytes exactly, and a purge that fails (file locked or gone) never throws out of its timer', async () => {
    const { vi } = await import('vitest');
    const Database = (await import('better-sqlite3')).default;
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let now = Date.UTC(2026, 10, 30);
    const path = join(mkdtempSync(join(tmpdir(), 'faas-kv-purge-')), 'kv.db');
    const kv = new KvStore(path, undefined, () => now);
    try {
      kv.put('acme/NS', 'a', new Uint8Array(100), { expirationTtl: 60, metadata: { m: 1 } });
      kv.put('acme/NS', 'b', new Uint8Array(10));
      expect(kv.bytesOf('acme')).toBe(1 + 100 + 7 + 1 + 10);
      now += 120_000;
      vi.advanceTimersByTime(60_000);
      expect(kv.bytesOf('acme')).toBe(1 + 10);
      kv.put('acme/NS', 'c', new Uint8Array(5), { expirationTtl: 60 });
      now += 120_000;
      const other = new Database(path);
      other.exec('ALTER TABLE kv RENAME TO kv_away');
      expect(() => vi.advanceTimersByTime(60_000)).not.toThrow();
      other.exec('ALTER TABLE kv_away RENAME TO kv');
      other.close();
      vi.advanceTimersByTime(60_000);
      expect(kv.bytesOf('acme')).toBe(1 + 10);
    } finally {
      vi.useRealTimers();
      kv.close();
    }
  });
});
