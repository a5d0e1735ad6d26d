import { expect, test } from 'vitest';
import { invokeSource } from '../../test/helpers/sandbox.ts';

async function guest(body: string) {
  const r = await invokeSource(`export default { async fetch(request, env, ctx) { ${body} } }`);
  if (r.status !== 200) throw new Error(`guest failed: ${r.status} ${r.text}`);
  return r.json();
}

test('URL parses like Node (WHATWG) and its setters work', async () => {
  const out = await guest(`
    const u = new URL('../p/q?x=1&y=%20z#frag', 'https://user:pw@Example.COM:8443/a/b/c');
    const parts = { href: u.href, origin: u.origin, protocol: u.protocol, username: u.username, password: u.password,
      host: u.host, hostname: u.hostname, port: u.port, pathname: u.pathname, search: u.search, hash: u.hash };
    u.pathname = '/new path';
    u.port = '443';
    u.hash = '';
    u.protocol = 'http';
    let invalid; try { new URL('not a url'); } catch (e) { invalid = e.constructor.name; }
    return Response.json({ parts, after: u.href, json: JSON.stringify({ u }), str: String(u), invalid,
      canParse: [URL.canParse('https://a'), URL.canParse('/x'), URL.canParse('/x', 'https://a')], parse: URL.parse('nope'),
      idn: new URL('https://bücher.de/').host, typeofURL: typeof URL, instance: u instanceof URL });
  `);
  const ref = new URL('../p/q?x=1&y=%20z#frag', 'https://user:pw@Example.COM:8443/a/b/c');
  const { href, origin, protocol, username, password, host, hostname, port, pathname, search, hash } = ref;
  expect(out.parts).toEqual({ href, origin, protocol, username, password, host, hostname, port, pathname, search, hash });
  const after = new URL(ref.href);
  after.pathname = '/new path';
  after.port = '443';
  after.hash = '';
  after.protocol = 'http';
  expect(out.after).toBe(after.href);
  expect(out.json).toBe(JSON.stringify({ u: ref.href }).replace(ref.href, out.after));
  expect(out).toMatchObject({ str: out.after, invalid: 'TypeError', canParse: [true, false, true], parse: null, idn: 'xn--bcher-kva.de', typeofURL: 'function', instance: true });
});

test('searchParams stay in sync with the URL in both directions', async () => {
  const out = await guest(`
    const u = new URL('https://a.example/p?b=2&a=1&a=3');
    const sp = u.searchParams;
    const steps = [[...sp], sp.getAll('a'), sp.get('zz'), sp.has('b'), sp.size];
    sp.append('c', 'x y&z=é');
    steps.push(u.search);
    sp.sort();
    steps.push(u.href);
    u.search = '?q=1';
    steps.push([...sp]);
    sp.delete('q');
    steps.push(u.href);
    sp.set('k', 'v');
    u.href = 'https://b.example/?m=n';
    steps.push([...sp], sp === u.searchParams);
    return Response.json(steps);
  `);
  const u = new URL('https://a.example/p?b=2&a=1&a=3');
  const sp = u.searchParams;
  const steps: unknown[] = [[...sp], sp.getAll('a'), sp.get('zz'), sp.has('b'), sp.size];
  sp.append('c', 'x y&z=é');
  steps.push(u.search);
  sp.sort();
  steps.push(u.href);
  u.search = '?q=1';
  steps.push([...sp]);
  sp.delete('q');
  steps.push(u.href);
  sp.set('k', 'v');
  u.href = 'https://b.example/?m=n';
  steps.push([...sp], true);
  expect(out).toEqual(steps);
});

test('URLSearchParams construction, serialisation and odd escapes match Node', async () => {
  const inputs = ['a=1&b=2&a=3', '?x=%zz&y=%E9&z=%C3%A9+%2B', 'only', '=v&k=&&', "sp ace=!'()~*-._"];
  const out = await guest(`
    const inputs = ${JSON.stringify(inputs)};
    return Response.json({
      parsed: inputs.map((s) => [...new URLSearchParams(s)]),
      serialised: inputs.map((s) => new URLSearchParams(s).toString()),
      record: new URLSearchParams({ a: 'b c', 'é': '☃' }).toString(),
      pairs: new URLSearchParams([['x', '1'], ['x', '2']]).getAll('x'),
      deleteValue: (() => { const p = new URLSearchParams('a=1&a=2&b=1'); p.delete('a', '2'); return p.toString(); })(),
      hasValue: new URLSearchParams('a=1').has('a', '2'),
      forEach: (() => { const r = []; new URLSearchParams('a=1&b=2').forEach((v, k) => r.push(k + v)); return r; })(),
    });
  `);
  expect(out).toEqual({
    parsed: inputs.map((s) => [...new URLSearchParams(s)]),
    serialised: inputs.map((s) => new URLSearchParams(s).toString()),
    record: new URLSearchParams({ a: 'b c', é: '☃' }).toString(),
    pairs: ['1', '2'],
    deleteValue: 'a=1&b=1',
    hasValue: false,
    forEach: ['a1', 'b2'],
  });
});
