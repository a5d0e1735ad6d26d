import { describe, expect, test } from 'vitest';
import { deploySource, invoke, invokeSource } from '../../test/helpers/sandbox.ts';

/** Runs `body` as a fetch handler that returns Response.json(<value of body>). */
async function guest(body: string, request = {}) {
  const r = await invokeSource(`export default { async fetch(request, env, ctx) { ${body} } }`, request);
  if (r.status !== 200) throw new Error(`guest failed: ${r.status} ${r.text}`);
  return r.json();
}

describe('Headers', () => {
  test('case-insensitive, combined with ", ", sorted iteration, set-cookie kept apart', async () => {
    const out = await guest(`
      const h = new Headers({ 'X-B': '2', 'x-a': ' 1 ' });
      h.append('X-A', 'one');
      h.append('Set-Cookie', 'a=1');
      h.append('set-cookie', 'b=2');
      const before = [...h];
      h.set('x-b', '3');
      h.delete('X-A');
      return Response.json({
        before, get: new Headers(before).get('x-a'), after: [...h.entries()], keys: [...h.keys()],
        cookies: h.getSetCookie(), has: [h.has('X-B'), h.has('x-a')], cookieGet: h.get('set-cookie'),
        fromPairs: [...new Headers([['a', 'b']])], fromHeaders: [...new Headers(h)].length,
        tag: Object.prototype.toString.call(h), name: Headers.name,
        // any iterable of pairs (a Map, a generator, pairs that are themselves iterables), in the core
        // (a Response init, before the Headers class is loaded) as in the class; the iterator is entries()
        iterables: [
          new Response(null, { headers: new Map([['x-m', 'm']]) }).headers.get('x-m'),
          new Response(null, { headers: (function* () { yield new Set(['x-g', 'g']); })() }).headers.get('x-g'),
          new Headers(new Map([['x-n', 'n']])).get('x-n'),
          Headers.prototype[Symbol.iterator] === Headers.prototype.entries,
        ],
      });
    `);
    expect(out).toEqual({
      before: [['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-a', '1, one'], ['x-b', '2']],
      get: '1, one',
      after: [['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-b', '3']],
      keys: ['set-cookie', 'set-cookie', 'x-b'],
      cookies: ['a=1', 'b=2'],
      has: [true, false],
      cookieGet: 'a=1, b=2',
      fromPairs: [['a', 'b']],
      fromHeaders: 3,
      tag: '[object Headers]',
      name: 'Headers',
      iterables: ['m', 'g', 'n', true],
    });
  });

  test('rejects invalid names and values; incoming request headers are immutable', async () => {
    const out = await guest(`
      const errs = [];
      for (const f of [() => new Headers({ 'bad name': 'x' }), () => new Headers({ a: 'x\\ny' }), () => new Headers([['a']]), () => request.headers.set('x', 'y')]) {
        try { f(); errs.push('no error'); } catch (e) { errs.push(e.constructor.name + ': ' + e.message); }
      }
      return Response.json(errs);
    `);
    expect(out).toEqual([
      'TypeError: Invalid header name: "bad name"',
      'TypeError: Invalid header value: "x\ny"',
      'TypeError: Headers init pairs must have exactly two items',
      "TypeError: Can't modify immutable headers.",
    ]);
  });
});

describe('Request', () => {
  test('incoming request: method, url, headers, body readers', async () => {
    const out = await guest(
      `return Response.json({ method: request.method, url: request.url, ct: request.headers.get('content-type'),
        json: await request.json(), used: request.bodyUsed, again: await request.text().catch(e => e.message) });`,
      { method: 'POST', path: '/a/b?c=d', headers: { 'content-type': 'application/json' }, body: '{"x":[1,"é"]}' },
    );
    expect(out).toEqual({ method: 'POST', url: 'http://localhost/a/b?c=d', ct: 'application/json', json: { x: [1, 'é'] }, used: true, again: 'Body has already been used' });
  });

  test('constructed requests: normalisation, body rules, clone, Request as input', async () => {
    const out = await guest(`
      const r = new Request('https://example.com/x/../y?q=1#h', { method: 'post', body: 'hi', headers: { 'x-k': 'v' } });
      const c = r.clone();
      const copy = new Request(r, { headers: { 'x-other': '1' } });
      const errs = [];
      for (const f of [() => new Request('/relative'), () => new Request('https://a.b', { method: 'GET', body: 'x' }),
                       () => new Request('https://a.b', { method: 'TRACE' }), () => new Request('https://a.b', { redirect: 'nope' })]) {
        try { f(); errs.push('no error'); } catch (e) { errs.push(e.constructor.name); }
      }
      return Response.json({
        url: r.url, method: r.method, patch: new Request('https://a.b', { method: 'patch' }).method,
        ct: r.headers.get('content-type'), cloneText: await c.text(), copyUsedOriginal: r.bodyUsed,
        copyText: await copy.text(), copyHeaders: [...copy.headers], redirect: r.redirect,
        fromUrl: new Request(new URL('https://a.b/p')).url, errs,
        bytes: Array.from(await new Request('https://a.b', { method: 'PUT', body: new Uint8Array([1, 2, 3]) }).bytes()),
      });
    `);
    expect(out).toEqual({
      url: 'https://example.com/y?q=1#h',
      method: 'POST',
      patch: 'patch',
      ct: 'text/plain;charset=UTF-8',
      cloneText: 'hi',
      copyUsedOriginal: true,
      copyText: 'hi',
      copyHeaders: [['x-other', '1']],
      redirect: 'follow',
      fromUrl: 'https://a.b/p',
      errs: ['TypeError', 'TypeError', 'TypeError', 'TypeError'],
      bytes: [1, 2, 3],
    });
  });

  test('a URL with credentials is a TypeError (Fetch: Request constructor), and so is fetch() of one', async () => {
    const out = await guest(`
      const err = (f) => { try { f(); return 'no error'; } catch (e) { return e.constructor.name; } };
      return Response.json({
        plain: err(() => new Request('https://u:p@h.com/')),
        userOnly: err(() => new Request('https://u@h.com/path')),
        passwordOnly: err(() => new Request('http://:secret@h.com/')),
        relative: err(() => new Request('/no-base')),
        fine: new Request('https://h.com/a@b').url,
        atInPath: new Request('https://h.com/%40/x?y=@').url,
        fetch: await fetch('https://u:p@h.com/').then(() => 'resolved', (e) => e.constructor.name),
      });
    `);
    expect(out).toEqual({ plain: 'TypeError', userOnly: 'TypeError', passwordOnly: 'TypeError', relative: 'TypeError', fine: 'https://h.com/a@b', atInPath: 'https://h.com/%40/x?y=@', fetch: 'TypeError' });
  });

  test('signal is an AbortSignal created on first touch', async () => {
    const out = await guest(`
      const c = new AbortController();
      const r = new Request('https://a.b', { signal: c.signal });
      return Response.json({ own: r.signal === c.signal, incoming: request.signal instanceof AbortSignal, aborted: request.signal.aborted });
    `);
    expect(out).toEqual({ own: true, incoming: true, aborted: false });
  });
});

describe('Response', () => {
  test('constructor, status rules, body sources, clone', async () => {
    const out = await guest(`
      const errs = [];
      for (const f of [() => new Response('x', { status: 204 }), () => new Response(null, { status: 99 }), () => new Response('', { statusText: 'a\\nb' })]) {
        try { f(); errs.push('no error'); } catch (e) { errs.push(e.constructor.name); }
      }
      const r = new Response('héllo', { status: 201, statusText: 'Created', headers: { 'x-a': '1' } });
      const c = r.clone();
      const buf = new Uint8Array([104, 105]);
      const fromBuf = new Response(buf);
      buf[0] = 0;
      return Response.json({
        status: r.status, ok: r.ok, statusText: r.statusText, ct: r.headers.get('content-type'), type: r.type, url: r.url,
        redirected: r.redirected, text: await r.text(), cloneBytes: Array.from(await c.bytes()), errs,
        fromBuf: await fromBuf.text(), ab: (await new Response('abc').arrayBuffer()).byteLength,
        empty: await new Response().text(), nullBody: new Response(null).body, defaults: [new Response().status, new Response().statusText],
        params: [await new Response(new URLSearchParams({ a: '1 2', b: 'é' })).text(), new Response(new URLSearchParams()).headers.get('content-type')],
        forwarded: await new Response(new Response('streamed').body).text(),
      });
    `);
    expect(out).toEqual({
      status: 201,
      ok: true,
      statusText: 'Created',
      ct: 'text/plain;charset=UTF-8',
      type: 'default',
      url: '',
      redirected: false,
      text: 'héllo',
      cloneBytes: [104, 195, 169, 108, 108, 111],
      errs: ['TypeError', 'RangeError', 'TypeError'],
      fromBuf: 'hi',
      ab: 3,
      empty: '',
      nullBody: null,
      defaults: [200, ''],
      params: ['a=1+2&b=%C3%A9', 'application/x-www-form-urlencoded;charset=UTF-8'],
      forwarded: 'streamed',
    });
  });

  test('Response.json, Response.redirect, Response.error', async () => {
    const out = await guest(`
      const j = Response.json({ a: [1, 'x'] }, { status: 202, headers: { 'x-y': 'z' } });
      const keep = Response.json(1, { headers: { 'content-type': 'application/vnd+json' } });
      const red = Response.redirect('https://example.com/next', 301);
      const e = Response.error();
      let bad; try { Response.redirect('https://a.b', 200); } catch (err) { bad = err.constructor.name; }
      let badJson; try { Response.json(undefined); } catch (err) { badJson = err.constructor.name; }
      return Response.json({
        j: [j.status, j.headers.get('content-type'), j.headers.get('x-y'), await j.json()], keep: keep.headers.get('content-type'),
        red: [red.status, red.headers.get('location')], e: [e.type, e.status], bad, badJson,
      });
    `);
    expect(out).toEqual({
      j: [202, 'application/json', 'z', { a: [1, 'x'] }],
      keep: 'application/vnd+json',
      red: [301, 'https://example.com/next'],
      e: ['error', 0],
      bad: 'RangeError',
      badJson: 'TypeError',
    });
  });

  test('body stream: reader and async iteration', async () => {
    const out = await guest(`
      const r = new Response('chunk');
      const chunks = [];
      for await (const c of r.body) chunks.push(Array.from(c));
      const r2 = new Response('x');
      const reader = r2.body.getReader();
      const locked = r2.body.locked;
      const lockedRead = await r2.text().catch(e => e.constructor.name);
      const first = await reader.read();
      const second = await reader.read();
      return Response.json({ chunks, used: r.bodyUsed, locked, lockedRead, first: [first.done, Array.from(first.value)], second: second.done });
    `);
    expect(out).toEqual({ chunks: [[99, 104, 117, 110, 107]], used: true, locked: true, lockedRead: 'TypeError', first: [false, [120]], second: true });
  });

  test('binary and empty responses reach the host intact', async () => {
    const r = await invokeSource(`export default { fetch() { return new Response(new Uint8Array([0, 255, 10]), { headers: { 'content-type': 'application/octet-stream' } }); } }`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.text).toBe('\u0000\ufffd\n');
    const empty = await invokeSource(`export default { fetch() { return new Response(null, { status: 204 }); } }`);
    expect(empty.status).toBe(204);
    expect(empty.text).toBe('');
  });
});

describe('dispatch', () => {
  test('a handler that returns something else is a TypeError naming the type', async () => {
    await expect(invokeSource(`export default { fetch() { return { status: 200 }; } }`)).rejects.toThrow(/fetch handler must return a Response \(got Object\)/);
    await expect(invokeSource(`export default { async fetch() { return 'hi'; } }`)).rejects.toThrow(/got string/);
  });

  test('errors thrown by the handler keep their name and message', async () => {
    await expect(invokeSource(`export default { fetch() { throw new RangeError('out of range'); } }`)).rejects.toThrow(/Uncaught RangeError: out of range/);
  });

  test('env carries vars and secrets, built once per instance', async () => {
    const name = await deploySource(
      `let seen; export default { fetch(req, env) { const same = seen === env; seen = env; return Response.json({ v: env.GREETING, s: env.TOKEN, same, onGlobal: typeof globalThis.TOKEN }); } }`,
      { env: { GREETING: 'hi' }, secrets: { TOKEN: 's3cret' } },
    );
    expect((await invoke(name)).json()).toEqual({ v: 'hi', s: 's3cret', same: false, onGlobal: 'undefined' });
    expect((await invoke(name)).json()).toEqual({ v: 'hi', s: 's3cret', same: true, onGlobal: 'undefined' });
  });
});
