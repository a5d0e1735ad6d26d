import { expect, test } from 'vitest';
import { invokeSource } from '../../test/helpers/sandbox.ts';

/** URLPattern (the URL Pattern Standard), from the standard's own examples and its syntax errors. */

async function guest(body: string) {
  const r = await invokeSource(`export default { async fetch(request, env, ctx) { ${body} } }`);
  if (r.status !== 200) throw new Error(`guest failed: ${r.status} ${r.text}`);
  return r.json();
}

test('URLPattern matches and extracts groups: named, wildcard, regexp, optional, base URLs, ignoreCase', async () => {
  const out = await guest(`
    const books = new URLPattern({ pathname: '/books/:id' });
    const full = new URLPattern('https://:sub.example.com/api/:version(v\\\\d+)/*');
    const optional = new URLPattern({ pathname: '/products/:id?' });
    const repeated = new URLPattern({ pathname: '/files/:path+' });
    const group = new URLPattern({ pathname: '/blog/{:year/}?:slug' });
    const relative = new URLPattern('/users/:name', 'https://example.com');
    const noCase = new URLPattern({ pathname: '/About' }, { ignoreCase: true });
    const m = full.exec('https://api.example.com/api/v2/users/42?x=1');
    return Response.json({
      books: [books.test('https://example.com/books/123'), books.exec('https://example.com/books/123').pathname.groups, books.test('https://example.com/books/')],
      full: [m.hostname.groups, m.pathname.groups, m.search.input, full.test('https://api.example.com/api/latest/x'), full.hasRegExpGroups],
      optional: [optional.test('https://x.org/products'), optional.test('https://x.org/products/9'), optional.exec('https://x.org/products').pathname.groups],
      repeated: repeated.exec('https://x.org/files/a/b/c.txt').pathname.groups,
      group: [group.exec('https://x.org/blog/2024/hello').pathname.groups, group.exec('https://x.org/blog/hello').pathname.groups],
      relative: [relative.test('https://example.com/users/ann'), relative.test('https://other.com/users/ann'), relative.protocol, relative.hostname, relative.pathname],
      init: books.test({ pathname: '/books/5' }),
      baseArg: books.test('/books/6', 'https://example.com'),
      noCase: [noCase.test('https://x.org/about'), new URLPattern({ pathname: '/About' }).test('https://x.org/about')],
      components: ['protocol', 'username', 'password', 'hostname', 'port', 'pathname', 'search', 'hash'].map((k) => books[k]),
      noMatch: books.exec('https://example.com/authors/1'),
      tag: Object.prototype.toString.call(books),
    });
  `);
  expect(out).toEqual({
    books: [true, { id: '123' }, false],
    full: [{ sub: 'api' }, { version: 'v2', 0: 'users/42' }, 'x=1', false, true],
    optional: [true, true, { id: undefined }].map((x) => (typeof x === 'object' ? {} : x)),
    repeated: { path: 'a/b/c.txt' },
    group: [{ year: '2024', slug: 'hello' }, { slug: 'hello' }],
    relative: [true, false, 'https', 'example.com', '/users/:name'],
    init: true,
    baseArg: true,
    noCase: [true, false],
    components: ['*', '*', '*', '*', '*', '/books/:id', '*', '*'],
    noMatch: null,
    tag: '[object URLPattern]',
  });
});

test('URLPattern syntax errors are TypeErrors', async () => {
  const out = await guest(`
    const bad = ['/(', '/:id(\\\\d+', '/(?<x>a)', '/:', '/((a)', '/**(', 'https://{', '/:id(a|)(', '/:a/:a'];
    return Response.json(bad.map((p) => { try { new URLPattern({ pathname: p }); return 'no error'; } catch (e) { return e.constructor.name; } })
      .concat([(() => { try { new URLPattern('/relative'); return 'no error'; } catch (e) { return e.constructor.name; } })(),
        (() => { try { new URLPattern({ pathname: '/x' }, 'https://base'); return 'no error'; } catch (e) { return e.constructor.name; } })()]));
  `);
  expect(out).toEqual(['TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError', 'TypeError']);
});
