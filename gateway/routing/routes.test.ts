import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/helpers/gateway.ts';
import { claimConflicts, parseRoute, routesOverlap, RouteTable } from './routes.ts';

describe('route table', () => {
  const table = new RouteTable([
    { name: 'api', config: { routes: ['api.example.com/*'] } },
    { name: 'site', config: { routes: ['example.com/*'] } },
    { name: 'blog', config: { routes: ['example.com/blog/*'] } },
    { name: 'about', config: { routes: ['example.com/blog/about'] } },
    { name: 'wild', config: { routes: ['*.example.com/*'] } },
    { name: 'deep-wild', config: { routes: ['*.eu.example.com/*'] } },
  ]);

  it('picks the most specific claim: exact host, then exact path, then the longest prefix', () => {
    expect(table.match('api.example.com', '/v1/users')).toBe('api');
    expect(table.match('API.Example.com:8443', '/')).toBe('api');
    expect(table.match('example.com', '/')).toBe('site');
    expect(table.match('example.com', '/blog/post-1')).toBe('blog');
    expect(table.match('example.com', '/blog/about')).toBe('about');
    expect(table.match('example.com', '/blog/about/more')).toBe('blog');
    expect(table.match('example.com', '/blo')).toBe('site');
    expect(table.match('shop.example.com', '/cart')).toBe('wild');
    expect(table.match('fr.eu.example.com', '/')).toBe('deep-wild');
    expect(table.match('example.com.', '/')).toBe('site');
    expect(table.match('other.test', '/')).toBeUndefined();
    expect(table.match(undefined, '/')).toBeUndefined();
    // a wildcard is for subdomains only
    expect(new RouteTable([{ name: 'w', config: { routes: ['*.x.test/*'] } }]).match('x.test', '/')).toBeUndefined();
  });

  it('finds a wildcard claim among thousands by the request host’s own suffixes, the longest first', () => {
    const many = Array.from({ length: 500 }, (_, i) => ({ name: `f${i}`, config: { routes: Array.from({ length: 32 }, (_, j) => `*.h${i}-${j}.test/p/*`) } }));
    const big = new RouteTable([...many, { name: 'outer', config: { routes: ['*.test/*'] } }, { name: 'inner', config: { routes: ['*.b.h7-3.test/*'] } }]);
    expect(big.size).toBe(500 * 32 + 2);
    expect(big.match('a.h499-31.test', '/p/x')).toBe('f499');
    expect(big.match('a.b.h7-3.test', '/p/x')).toBe('inner');
    expect(big.match('a.h7-3.test', '/q')).toBe('outer');
    expect(big.match('h7-3.test', '/p/x')).toBe('outer');
    expect(big.match('a..h1-1.test', '/p/')).toBe('f1');
    expect(big.match('nobody.example', '/')).toBeUndefined();
  });

  it('knows when two claims can take the same request', () => {
    const o = (a: string, b: string) => routesOverlap(parseRoute(a), parseRoute(b));
    expect(o('example.com/*', 'example.com/blog/*')).toBe(true);
    expect(o('example.com/blog/*', 'example.com/shop/*')).toBe(false);
    expect(o('example.com/a', 'example.com/a*')).toBe(true);
    expect(o('*.example.com/*', 'api.example.com/x')).toBe(true);
    expect(o('*.example.com/*', 'example.com/x')).toBe(false);
    expect(o('a.test/*', 'b.test/*')).toBe(false);
  });

  it('refuses the same route twice, and any overlap with another tenant', () => {
    const live = [{ name: 'owner', tenant: 't1', config: { routes: ['example.com/*'] } }];
    expect(claimConflicts('mine', 't1', ['example.com/blog/*'], live)).toBeUndefined();
    expect(claimConflicts('mine', 't1', ['example.com/*'], live)).toMatch(/already claimed/);
    expect(claimConflicts('mine', 't2', ['example.com/blog/*'], live)).toMatch(/another tenant/);
    expect(claimConflicts('owner', 't1', ['example.com/*'], live)).toBeUndefined();
    expect(claimConflicts('mine', 't1', ['a.test/*', 'a.test/*'], [])).toMatch(/listed twice/);
  });
});

describe('routing by host and path through the gateway', () => {
  let t: TestGateway;
  const echo = (tag: string) => `export default { fetch(req: Request) { return new Response('${tag} ' + new URL(req.url).pathname); } };`;

  beforeAll(async () => {
    t = await startTestGateway();
    const fns: [string, string[]][] = [
      ['api-fn', ['api.example.test/*']],
      ['site-fn', ['example.test/*']],
      ['blog-fn', ['example.test/blog/*', 'blog.example.test/*']],
      ['any-fn', ['*.example.test/*']],
      ['port-fn', ['127.0.0.1/*']],
    ];
    for (const [name, routes] of fns) {
      const res = await t.deploy(name, echo(name), { routes });
      if (res.status !== 201) throw new Error(`${name}: ${await res.text()}`);
    }
  });
  afterAll(() => t?.close());

  const get = (host: string, path: string) =>
    new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
      const u = new URL(t.url);
      const req = request({ host: u.hostname, port: u.port, path, headers: { host } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      });
      req.on('error', reject);
      req.end();
    });

  it('serves functions at the root of their domains; the most specific claim wins; the path is left as sent', async () => {
    expect(await get('api.example.test', '/v1/users?x=1')).toMatchObject({ status: 200, body: 'api-fn /v1/users' });
    expect(await get('example.test', '/')).toMatchObject({ status: 200, body: 'site-fn /' });
    expect(await get('example.test:8080', '/blog/hello')).toMatchObject({ status: 200, body: 'blog-fn /blog/hello' });
    expect(await get('blog.example.test', '/x')).toMatchObject({ status: 200, body: 'blog-fn /x' });
    expect(await get('shop.example.test', '/cart')).toMatchObject({ status: 200, body: 'any-fn /cart' });
    const none = await get('nobody.test', '/');
    expect(none.status).toBe(404);
  });

  it('never takes the gateway’s own paths, whatever host claims them', async () => {
    const u = new URL(t.url);
    expect((await get(u.host, '/healthz')).body).toContain('ok');
    expect((await get('example.test', '/metrics')).body).toContain('faas_');
    expect((await get('example.test', '/admin/functions')).status).toBe(401);
    expect((await get(u.host, '/admin/functions')).status).toBe(401);
    expect((await get('example.test', '/fn/api-fn/x')).body).toBe('api-fn /x');
    // the claim on the gateway's own address takes everything else there
    expect((await get(u.host, '/anything')).body).toBe('port-fn /anything');
  });

  it('routes follow deploys and deletes', async () => {
    expect((await t.admin('DELETE', '/admin/functions/blog-fn')).status).toBe(204);
    expect((await get('example.test', '/blog/hello')).body).toBe('site-fn /blog/hello');
    expect((await get('blog.example.test', '/x')).body).toBe('any-fn /x');
    expect((await t.deploy('site-fn', echo('site-v2'), { routes: ['example.test/*'] })).status).toBe(201);
    expect((await get('example.test', '/')).body).toBe('site-v2 /');
  });

  it('refuses malformed routes', async () => {
    for (const routes of [['example.test'], ['http://example.test/*'], ['exa mple.test/*'], ['example.test/a*b'], Array(33).fill('x.test/*')]) {
      const res = await t.deploy('bad-route', echo('x'), { routes });
      expect(res.status).toBe(400);
    }
  });
});
