import { describe, expect, test } from 'vitest';
import '../../test/helpers/primordials.ts';
import { fastUrlParts, FIELDS } from './guest/url-fast.ts';
import { allLogs, deploySource, invoke, invokeSource, sharedRuntime } from '../../test/helpers/sandbox.ts';

/**
 * The warm request path's shortcuts (lazy headers, string bodies handed over unencoded, the compact
 * dispatch, canonical URLs split in the guest, synchronous handlers answered without a promise) must
 * be invisible: each is checked here against the behaviour it replaces.
 */

async function guest(body: string, request = {}) {
  const r = await invokeSource(`export default { async fetch(request, env, ctx) { ${body} } }`, request);
  if (r.status !== 200) throw new Error(`guest failed: ${r.status} ${r.text}`);
  return r.json();
}

/** The raw response the runtime hands the gateway (header pairs in order, body bytes). */
async function raw(source: string, request: { method?: string; url?: string; headers?: [string, string][]; body?: ArrayBuffer | null } = {}) {
  const name = await deploySource(source);
  const rt = await sharedRuntime();
  const r = await rt.invoke(name, {
    method: request.method ?? 'GET',
    url: request.url ?? 'http://localhost/',
    headers: request.headers ?? [],
    body: request.body ?? null,
  });
  await r.background;
  return { status: r.response.status, headers: r.response.headers, bytes: r.response.body ? [...new Uint8Array(r.response.body)] : null };
}

const utf8 = (s: string) => [...new TextEncoder().encode(s)];

describe('response bodies leave the guest exactly', () => {
  test('strings are UTF-8 encoded on the host; lone surrogates become U+FFFD', async () => {
    for (const text of ['Hello from faas!', 'héllo ✓ 😀 ∑', 'a\ud800b', '\udc00', 'x\ud83d', 'nul\u0000byte', '\u00ff\u0100', '', `${'é'.repeat(50000)}!`]) {
      const r = await raw(`export default { fetch() { return new Response(${JSON.stringify(text)}); } }`);
      expect(r.bytes).toEqual(utf8(text));
      expect(r.headers).toEqual([['content-type', 'text/plain;charset=UTF-8']]);
    }
  });

  test('binary bodies: ArrayBuffer, views on part of a buffer, JSON, null', async () => {
    const view = await raw(`export default { async fetch() {
      const b = new Uint8Array([9, 1, 2, 3, 9]);
      return new Response(b.subarray(1, 4));
    } }`);
    expect(view.bytes).toEqual([1, 2, 3]);
    const ab = await raw(`export default { fetch() { return new Response(new Uint8Array([0, 128, 255]).buffer); } }`);
    expect(ab.bytes).toEqual([0, 128, 255]);
    const json = await raw(`export default { fetch() { return Response.json({ é: '✓' }); } }`);
    expect(json.bytes).toEqual(utf8('{"é":"✓"}'));
    expect(json.headers).toEqual([['content-type', 'application/json']]);
    const none = await raw(`export default { fetch() { return new Response(null, { status: 204 }); } }`);
    expect(none).toEqual({ status: 204, headers: [], bytes: null });
  });
});

describe('headers are made on first touch and behave as before', () => {
  test('incoming headers: case-insensitive, immutable, one object, a real Headers', async () => {
    const out = await guest(
      `const h = request.headers;
       let err; try { h.set('x', 'y'); } catch (e) { err = e.message; }
       return Response.json({ same: h === request.headers, ua: h.get('User-Agent'), all: [...h], err,
         isHeaders: h instanceof Headers, tag: Object.prototype.toString.call(h), clone: [...request.clone().headers] });`,
      { headers: { 'User-Agent': 'test/1', Accept: '*/*', 'x-b': '1' } },
    );
    expect(out).toEqual({
      same: true,
      ua: 'test/1',
      all: [['accept', '*/*'], ['user-agent', 'test/1'], ['x-b', '1']],
      err: "Can't modify immutable headers.",
      isHeaders: true,
      tag: '[object Headers]',
      clone: [['accept', '*/*'], ['user-agent', 'test/1'], ['x-b', '1']],
    });
  });

  test('response headers: changes after construction are sent; the list goes out sorted and combined', async () => {
    const changed = await raw(`export default { fetch() {
      const r = new Response('x', { headers: { 'X-B': '2' } });
      r.headers.append('x-a', '1');
      r.headers.delete('content-type');
      return r;
    } }`);
    expect(changed.headers).toEqual([['x-a', '1'], ['x-b', '2']]);
    const combined = await raw(`export default { fetch() {
      return new Response('x', { headers: [['x-b', '1'], ['X-A', ' 2 '], ['x-a', '3'], ['set-cookie', 'a=1'], ['Set-Cookie', 'b=2']] });
    } }`);
    expect(combined.headers).toEqual([
      ['content-type', 'text/plain;charset=UTF-8'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['x-a', '2, 3'],
      ['x-b', '1'],
    ]);
    const fromHeaders = await raw(`export default { fetch(request) {
      return new Response('x', { headers: new Headers({ 'content-type': 'text/html', 'x-z': 'z' }) });
    } }`);
    expect(fromHeaders.headers).toEqual([['content-type', 'text/html'], ['x-z', 'z']]);
  });

  test('the Headers global is usable before any request touches headers', async () => {
    const out = await guest(`
      const h = new Headers([['b', '2'], ['a', '1']]);
      return Response.json({ name: Headers.name, keys: [...h.keys()], fromRes: new Response('', { headers: h }).headers.get('a') });
    `);
    expect(out).toEqual({ name: 'Headers', keys: ['a', 'b'], fromRes: '1' });
  });
});

describe('Request and Response keep their Web IDL shape', () => {
  test('constructor arity, brand checks, prototype chain', async () => {
    const out = await guest(`
      const errs = [];
      for (const f of [() => new Request(), () => Object.getOwnPropertyDescriptor(Response.prototype, 'status').get.call({}),
                       () => Object.getOwnPropertyDescriptor(Request.prototype, 'url').get.call(new Response(''))]) {
        try { f(); errs.push('no error'); } catch (e) { errs.push(e.constructor.name + (e.message.includes('1 argument') ? ':arity' : '')); }
      }
      const rejected = await Response.prototype.text.call({}).catch((e) => e.constructor.name);
      const proto = Object.getPrototypeOf(Response.prototype) === Object.getPrototypeOf(Request.prototype);
      return Response.json({ errs, rejected, proto, length: Request.length,
        keys: Object.keys(new Response('x')), own: Object.getOwnPropertyNames(new Request('https://a.b/')) });
    `);
    expect(out).toEqual({
      errs: ['TypeError:arity', 'TypeError', 'TypeError'],
      rejected: 'TypeError',
      proto: true,
      length: 1,
      keys: [],
      own: [],
    });
  });

  test('new Request(url) with a canonical and a non-canonical URL', async () => {
    const out = await guest(`
      return Response.json([new Request('https://example.com/a?b=1#c').url, new Request('HTTPS://Example.com:443/./a/../b c').url,
        new Request('http://127.0.0.1:8080/x').url, new Request('http://0x7f.1/').url]);
    `);
    expect(out).toEqual(['https://example.com/a?b=1#c', 'https://example.com/b%20c', 'http://127.0.0.1:8080/x', 'http://127.0.0.1/']);
  });
});

describe('URLs in canonical form are split in the guest, exactly as the host would', () => {
  test('random URLs: the guest fast path never disagrees with Node', () => {
    const alphabet = [...'abcXYZ019-._~!$&\'()*+,;=:@/?#[]%|^`{}\\" <>\t', 'é', 'xn--', '%2e', '%2E', '..', '/./', '0x', '%41'];
    const hosts = ['localhost', '127.0.0.1', '255.255.255.255', 'example.com', 'a-b.c', '1.2.3', '0x7f.1', '256.1.1.1', '01.2.3.4', 'xn--bcher-kva.de', 'a..b', 'a.', '1.2.3.4.5', '1a.2', 'exa_mple.com', 'EXAMPLE.com'];
    let seed = 42; // mulberry32: reproducible
    const rand = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
    };
    const str = (k: number) => Array.from({ length: rand(k) }, () => alphabet[rand(alphabet.length)]).join('');
    let hits = 0;
    for (let i = 0; i < 80000; i++) {
      const scheme = ['http', 'https', 'http', 'https', 'ws', 'HTTP', 'file'][rand(7)];
      const host = rand(2) ? hosts[rand(hosts.length)] : str(8);
      const port = rand(3) === 0 ? `:${['80', '443', '8080', '0', '65535', '65536', '080', ''][rand(8)]}` : '';
      const input = `${scheme}://${host}${port}${rand(10) ? '/' : ''}${str(12)}`;
      const fast = fastUrlParts(input);
      if (!fast) continue;
      hits++;
      const u = new URL(input);
      expect(Object.fromEntries(FIELDS.map((f, j) => [f, fast[j]])), input).toEqual(Object.fromEntries(FIELDS.map((f) => [f, u[f]])));
    }
    expect(hits).toBeGreaterThan(1000);
  });

  test('in the guest: URL components, searchParams, and the host path for everything else', async () => {
    const inputs = [
      'http://127.0.0.1:8080/fn/json-api/todos?done=false&limit=10',
      'https://example.com/a/b?x=1&y=%20z&y=2+3#frag',
      'https://example.com/?',
      'https://example.com/p#',
      'HTTP://EXAMPLE.com/a/./b/../c?q#h',
      'https://user:pw@example.com:443/x',
      'https://bücher.de/ä?ö=1',
      'http://[::1]:80/',
    ];
    const out = await guest(`
      const inputs = ${JSON.stringify(inputs)};
      return Response.json(inputs.map((s) => { const u = new URL(s);
        return [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash, [...u.searchParams]]; }));
    `);
    expect(out).toEqual(
      inputs.map((s) => {
        const u = new URL(s);
        return [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash, [...u.searchParams]];
      }),
    );
  });
});

describe('dispatch', () => {
  test('synchronous and asynchronous handlers, and errors from either', async () => {
    expect((await invokeSource(`export default { fetch() { return new Response('sync'); } }`)).text).toBe('sync');
    expect((await invokeSource(`export default { async fetch() { await null; return new Response('async'); } }`)).text).toBe('async');
    expect((await invokeSource(`export default { fetch() { return Promise.resolve(new Response('promise')); } }`)).text).toBe('promise');
    expect((await invokeSource(`export default { fetch() { return { then(r) { r(new Response('thenable')); } }; } }`)).text).toBe('thenable');
    await expect(invokeSource(`export default { fetch() { throw new TypeError('sync boom'); } }`)).rejects.toThrow(/Uncaught TypeError: sync boom/);
    await expect(invokeSource(`export default { async fetch() { throw new RangeError('async boom'); } }`)).rejects.toThrow(/Uncaught RangeError: async boom/);
    await expect(invokeSource(`export default { fetch() { return Response.error(); } }`)).rejects.toThrow(/Response.error\(\)/);
    await expect(invokeSource(`export default { fetch() { return null; } }`)).rejects.toThrow(/must return a Response \(got null\)/);
  });

  test('a body already read cannot be sent', async () => {
    await expect(invokeSource(`export default { async fetch() { const r = new Response('x'); await r.text(); return r; } }`)).rejects.toThrow(
      /Body has already been used/,
    );
  });

  test('the instance keeps serving after errors; env stays one object; request bodies arrive', async () => {
    const name = await deploySource(
      `let last; export default { async fetch(request, env) {
        if (request.method === 'DELETE') throw new Error('nope');
        const same = last === env; last = env;
        return Response.json({ same, v: env.V, body: await request.text(), m: request.method });
      } }`,
      { env: { V: 'v' } },
    );
    expect((await invoke(name, { method: 'POST', body: 'a' })).json()).toEqual({ same: false, v: 'v', body: 'a', m: 'POST' });
    await expect(invoke(name, { method: 'DELETE' })).rejects.toThrow(/nope/);
    expect((await invoke(name, { method: 'PUT', body: 'é' })).json()).toEqual({ same: true, v: 'v', body: 'é', m: 'PUT' });
    expect((await invoke(name, { method: 'GET' })).json()).toEqual({ same: true, v: 'v', body: '', m: 'GET' });
  });

  test('a waitUntil after the response was sent is not awaited, and its rejection is still reported', async () => {
    const name = await deploySource(`let saved; export default { fetch(request, env, ctx) {
      if (saved) saved.waitUntil(Promise.reject(new Error('too late')));
      saved = ctx;
      return new Response('ok');
    } }`);
    expect((await invoke(name)).text).toBe('ok');
    expect((await invoke(name)).text).toBe('ok');
    await new Promise((r) => setTimeout(r, 10));
    expect(allLogs().some((l) => l.fn === name && l.level === 'error' && /too late/.test(l.text))).toBe(true);
  });
});
