import { expect, test } from 'vitest';
import type { BoundOp } from '../../runtime/index.ts';
import { allLogs, deploySource, invokeSource, sharedRuntime } from '../../test/helpers/sandbox.ts';

/** In-memory stand-ins for the host's KV and fetch ops (the real ones are tested with the gateway). */
const store = new Map<string, { value: ArrayBuffer; metadata: unknown }>();
const fetched: unknown[] = [];
const ops: Record<string, BoundOp> = {
  kvGet: async ([ns, key]) => store.get(`${ns}/${key}`) ?? null,
  kvPut: async ([ns, key, value, opts]) => {
    const v = value instanceof ArrayBuffer ? value : (value as Uint8Array).slice().buffer;
    store.set(`${ns}/${key}`, { value: v, metadata: (opts as { metadata?: unknown }).metadata ?? null });
  },
  kvDelete: async ([ns, key]) => void store.delete(`${ns}/${key}`),
  kvList: async ([ns, opts]) => ({
    keys: [...store.keys()].filter((k) => k.startsWith(`${ns}/${(opts as { prefix?: string }).prefix ?? ''}`)).map((k) => ({ name: k.slice(String(ns).length + 1) })),
    list_complete: true,
  }),
  fetch: async ([init]) => {
    const i = init as { method: string; url: string; headers: [string, string][]; body: ArrayBuffer | null; redirect: string };
    fetched.push({ ...i, body: i.body ? Buffer.from(i.body as ArrayBuffer).toString() : null });
    if (i.url.includes('/slow')) await new Promise((r) => setTimeout(r, 200));
    if (i.url.includes('/fail')) throw new TypeError('fetch failed: connection refused');
    return { status: 200, statusText: 'OK', url: i.url, redirected: false, headers: [['content-type', 'text/plain'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']], body: new TextEncoder().encode(`upstream ${i.method}`).buffer };
  },
};
const options = { ops };

test('KV namespace: put/get in every type, metadata, list, delete', async () => {
  const r = await invokeSource(
    `export default { async fetch(request, env) {
      await env.STORE.put('greeting', 'héllo', { metadata: { by: 'test' }, expirationTtl: 60 });
      await env.STORE.put('obj', JSON.stringify({ a: 1 }));
      await env.STORE.put('bin', new Uint8Array([1, 2, 3]));
      const out = {
        text: await env.STORE.get('greeting'), json: await env.STORE.get('obj', 'json'), typeOpt: await env.STORE.get('obj', { type: 'json' }),
        buf: Array.from(new Uint8Array(await env.STORE.get('bin', 'arrayBuffer'))), missing: await env.STORE.get('nope'),
        meta: await env.STORE.getWithMetadata('greeting'), missingMeta: await env.STORE.getWithMetadata('nope'),
        list: (await env.STORE.list({ prefix: 'g' })).keys.map((k) => k.name),
        stream: await new Response(await env.STORE.get('greeting', 'stream')).text(),
        badType: await env.STORE.get('x', 'blob').then(() => 'resolved', (e) => e.constructor.name),
        badValue: await env.STORE.put('x', { a: 1 }).then(() => 'resolved', (e) => e.constructor.name),
      };
      await env.STORE.delete('greeting');
      out.afterDelete = await env.STORE.get('greeting');
      out.otherNs = typeof env.OTHER.get;
      return Response.json(out);
    } }`,
    {},
    { kv: ['STORE', 'OTHER'] },
    options,
  );
  expect(r.json()).toEqual({
    text: 'héllo',
    json: { a: 1 },
    typeOpt: { a: 1 },
    buf: [1, 2, 3],
    missing: null,
    meta: { value: 'héllo', metadata: { by: 'test' } },
    missingMeta: { value: null, metadata: null },
    list: ['greeting'],
    stream: 'héllo',
    badType: 'TypeError',
    badValue: 'TypeError',
    afterDelete: null,
    otherNs: 'function',
  });
});

test('fetch: Request or URL plus init reaches the host op; the response is immutable and readable', async () => {
  fetched.length = 0;
  const r = await invokeSource(
    `export default { async fetch() {
      const a = await fetch('https://api.example/x?y=1', { method: 'POST', body: JSON.stringify({ k: 1 }), headers: { 'x-token': 't' } });
      const b = await fetch(new Request('https://api.example/r', { method: 'PUT', body: 'b' }), { redirect: 'manual' });
      const c = await fetch(new URL('https://api.example/u'));
      let immutable; try { a.headers.set('x', 'y'); } catch (e) { immutable = e.message; }
      const failed = await fetch('https://api.example/fail').then(() => 'resolved', (e) => [e.constructor.name, e.message]);
      const invalid = await fetch('not a url').then(() => 'resolved', (e) => e.constructor.name);
      return Response.json({ a: [a.status, a.statusText, a.ok, a.url, a.type, await a.text(), a.headers.getSetCookie()], b: await b.text(), c: c.url, immutable, failed, invalid,
        mutableCopy: new Response(c.body, c).headers.get('content-type') });
    } }`,
    {},
    {},
    options,
  );
  expect(r.json()).toEqual({
    a: [200, 'OK', true, 'https://api.example/x?y=1', 'basic', 'upstream POST', ['a=1', 'b=2']],
    b: 'upstream PUT',
    c: 'https://api.example/u',
    immutable: "Can't modify immutable headers.",
    failed: ['TypeError', 'fetch failed: connection refused'],
    invalid: 'TypeError',
    mutableCopy: 'text/plain',
  });
  expect(fetched).toEqual([
    { method: 'POST', url: 'https://api.example/x?y=1', headers: [['content-type', 'text/plain;charset=UTF-8'], ['x-token', 't']], body: '{"k":1}', redirect: 'follow' },
    { method: 'PUT', url: 'https://api.example/r', headers: [['content-type', 'text/plain;charset=UTF-8']], body: 'b', redirect: 'manual' },
    { method: 'GET', url: 'https://api.example/u', headers: [], body: null, redirect: 'follow' },
    { method: 'GET', url: 'https://api.example/fail', headers: [], body: null, redirect: 'follow' },
  ]);
});

test('fetch honours an AbortSignal', async () => {
  const r = await invokeSource(
    `export default { async fetch() {
      const early = await fetch('https://api.example/x', { signal: AbortSignal.abort() }).then(() => 'resolved', (e) => e.name);
      const c = new AbortController();
      setTimeout(() => c.abort(), 10);
      const late = await fetch('https://api.example/slow', { signal: c.signal }).then(() => 'resolved', (e) => [e.name, e instanceof DOMException]);
      const timeout = await fetch('https://api.example/slow', { signal: AbortSignal.timeout(10) }).then(() => 'resolved', (e) => e.name);
      return Response.json({ early, late, timeout });
    } }`,
    {},
    {},
    options,
  );
  expect(r.json()).toEqual({ early: 'AbortError', late: ['AbortError', true], timeout: 'TimeoutError' });
});

test('scheduled() gets the controller, env and a ctx', async () => {
  const name = await deploySource(
    `export default {
      fetch() { return new Response('x'); },
      async scheduled(controller, env, ctx) {
        ctx.waitUntil(Promise.resolve().then(() => console.log('waited')));
        console.log('cron', controller.cron, typeof controller.scheduledTime, env.V, typeof controller.noRetry);
      },
    }`,
    { env: { V: 'v' } },
    options,
  );
  const rt = await sharedRuntime(options);
  await rt.scheduled(name, { cron: '*/5 * * * *', scheduledTime: Date.now() }, { requestId: 'cron-1' });
  expect(allLogs().filter((l) => l.requestId === 'cron-1').map((l) => l.text)).toEqual(['cron */5 * * * * number v function', 'waited']);
});
