/**
 * The console over HTTP: its page and assets (security headers, compression, caching, the size of
 * the first load), and signing in: the session cookie, the CSRF token, signing out, and sessions
 * ending with their token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/helpers/gateway.ts';

let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway();
}, 120_000);
afterAll(() => t?.close());

async function signIn(token = t.token, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ token }) });
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { res, setCookie, cookie: setCookie.split(';')[0]!, body: res.ok ? ((await res.json()) as { csrf: string; csrfHeader: string; principal: { kind: string } }) : undefined };
}

describe('console page and assets', () => {
  it('serves the page with a strict CSP, no framing and nosniff; assets compressed, hashed and immutable', async () => {
    const page = await fetch(`${t.url}/console`, { headers: { 'accept-encoding': 'gzip' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    expect(html).not.toMatch(/<script>|<style|\sstyle=|\son\w+=/i);
    const script = /src="\/console\/assets\/(app-[A-Z0-9]+\.js)"/.exec(html)![1]!;
    const style = /href="\/console\/assets\/(app-[A-Z0-9]+\.css)"/.exec(html)![1]!;

    const plain = await fetch(`${t.url}/console/assets/${script}`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    const text = await plain.text();
    expect(text.length).toBeGreaterThan(100);
    for (const encoding of ['br', 'gzip']) {
      const res = await fetch(`${t.url}/console/assets/${script}`, { headers: { 'accept-encoding': `${encoding}, identity;q=0.5` } });
      expect(res.headers.get('content-encoding')).toBe(encoding);
      expect(Number(res.headers.get('content-length'))).toBeLessThan(Buffer.byteLength(text));
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toBe(csp);
      // fetch() undoes the encoding: what arrives is the same script
      expect(await res.text()).toBe(text);
    }
    const css = await fetch(`${t.url}/console/assets/${style}`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('answers a matching If-None-Match with 304 and HEAD without a body', async () => {
    const first = await fetch(`${t.url}/console/`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await fetch(`${t.url}/console/`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const head = await fetch(`${t.url}/console`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('the first load (page, stylesheet, entry script and the chunks it imports) is under 300 KB compressed', async () => {
    const html = await (await fetch(`${t.url}/console`)).text();
    const wanted = [...html.matchAll(/\/console\/assets\/([\w.-]+)/g)].map((m) => m[1]!);
    const sizes = { br: Buffer.byteLength(html), gzip: Buffer.byteLength(html), raw: Buffer.byteLength(html) };
    const seen = new Set<string>();
    while (wanted.length) {
      const name = wanted.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const raw = Buffer.from(await (await fetch(`${t.url}/console/assets/${name}`, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer());
      sizes.raw += raw.byteLength;
      for (const enc of ['br', 'gzip'] as const) {
        const res = await fetch(`${t.url}/console/assets/${name}`, { headers: { 'accept-encoding': enc } });
        sizes[enc] += Number(res.headers.get('content-length'));
        await res.arrayBuffer();
      }
      // static imports of an entry or chunk are loaded with it; dynamic import() chunks are not
      if (name.endsWith('.js')) for (const m of raw.toString().matchAll(/(?:^|[;}])\s*import\s*(?:[\w${},\s*]+from\s*)?"\.\/([\w.-]+\.js)"/g)) wanted.push(m[1]!);
    }
    console.info(`console first load: ${seen.size} files, ${sizes.raw} bytes, ${sizes.gzip} gzip, ${sizes.br} brotli`);
    expect(sizes.br).toBeLessThan(300 * 1024);
    expect(sizes.gzip).toBeLessThan(300 * 1024);
  });

  it('refuses other methods and unknown paths under /console with its security headers', async () => {
    const post = await fetch(`${t.url}/console`, { method: 'POST' });
    expect(post.status).toBe(405);
    const missing = await fetch(`${t.url}/console/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-security-policy')).toContain("default-src 'none'");
  });
});

describe('console sessions', () => {
  it('signing in sets an HttpOnly, SameSite=Strict cookie scoped to /admin holding no token', async () => {
    const { res, setCookie, body } = await signIn();
    expect(res.status).toBe(201);
    expect(setCookie).toMatch(/^faas_session=[\w-]{43}; /);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/admin');
    expect(setCookie).not.toContain('Secure');
    expect(setCookie).not.toContain(t.token);
    expect(body!.principal).toEqual({ kind: 'root' });
    expect(body!.csrfHeader).toBe('x-faas-csrf');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('behind https the cookie is Secure and __Secure- prefixed', async () => {
    const { setCookie } = await signIn(t.token, { 'x-forwarded-proto': 'https' });
    expect(setCookie).toMatch(/^__Secure-faas_session=/);
    expect(setCookie).toContain('Secure');
  });

  it('the session authenticates admin calls; state-changing ones need the CSRF token', async () => {
    const { cookie, body } = await signIn();
    const list = await fetch(`${t.url}/admin/functions`, { headers: { cookie } });
    expect(list.status).toBe(200);
    const deploy = (headers: Record<string, string>) =>
      fetch(`${t.url}/admin/functions/via-cookie`, {
        method: 'PUT',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ source: `export default { fetch() { return new Response('ok'); } };` }),
      });
    const refused = await deploy({});
    expect(refused.status).toBe(403);
    expect((await refused.json()).message).toMatch(/CSRF/);
    expect((await deploy({ 'x-faas-csrf': body!.csrf })).status).toBe(201);
    const audit = await (await t.admin('GET', '/admin/audit?limit=5')).json();
    expect(audit.map((e: { action: string }) => e.action)).toContain('console.signin');
  });

  it('GET /admin/session tells the page whether it is signed in', async () => {
    expect(await (await fetch(`${t.url}/admin/session`)).json()).toEqual({ signedIn: false });
    const { cookie, body } = await signIn();
    const s = await (await fetch(`${t.url}/admin/session`, { headers: { cookie } })).json();
    expect(s.signedIn).toBe(true);
    expect(s.csrf).toBe(body!.csrf);
  });

  it('signing out ends the session on the server and clears the cookie', async () => {
    const { cookie, body } = await signIn();
    expect((await fetch(`${t.url}/admin/session`, { method: 'DELETE', headers: { cookie } })).status).toBe(403);
    const out = await fetch(`${t.url}/admin/session`, { method: 'DELETE', headers: { cookie, 'x-faas-csrf': body!.csrf } });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().join('\n')).toMatch(/faas_session=; Max-Age=0/);
    expect((await fetch(`${t.url}/admin/functions`, { headers: { cookie } })).status).toBe(401);
  });

  it('a tenant token’s session ends as soon as the token is revoked', async () => {
    expect((await t.admin('POST', '/admin/tenants', { name: 'sess' })).status).toBe(201);
    const issued = await (await t.admin('POST', '/admin/tenants/sess/tokens', {})).json();
    const { cookie, body } = await signIn(issued.token);
    expect(body!.principal).toMatchObject({ kind: 'tenant', tenant: 'sess' });
    expect((await fetch(`${t.url}/admin/functions`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${t.url}/admin/tenants`, { headers: { cookie } })).status).toBe(403);
    expect((await t.admin('DELETE', `/admin/tenants/sess/tokens/${issued.id}`)).status).toBe(204);
    expect((await fetch(`${t.url}/admin/functions`, { headers: { cookie } })).status).toBe(401);
  });

  it('refuses a sign-in that is not JSON, comes from another origin, or carries a bad token', async () => {
    const form = await fetch(`${t.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${t.token}` });
    expect(form.status).toBe(400);
    expect(form.headers.get('set-cookie')).toBeNull();
    expect((await signIn(t.token, { origin: 'https://evil.example' })).res.status).toBe(403);
    const bad = await signIn('nope');
    expect(bad.res.status).toBe(401);
    expect(bad.setCookie).toBe('');
  });
});

describe('console sessions in the store', () => {
  it('a gateway restarted on the same data directory accepts the old cookie and CSRF token', async () => {
    const first = await startTestGateway({ keepData: true });
    let second: TestGateway | undefined;
    try {
      const res = await fetch(`${first.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: first.token }) });
      const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
      const { csrf } = (await res.json()) as { csrf: string };
      await first.close();
      second = await startTestGateway({ dataDir: first.dataDir, adminToken: first.token });
      expect((await fetch(`${second.url}/admin/functions`, { headers: { cookie } })).status).toBe(200);
      expect(await (await fetch(`${second.url}/admin/session`, { headers: { cookie } })).json()).toMatchObject({ signedIn: true, csrf });
      const out = await fetch(`${second.url}/admin/session`, { method: 'DELETE', headers: { cookie, 'x-faas-csrf': csrf } });
      expect(out.status).toBe(204);
      expect((await fetch(`${second.url}/admin/functions`, { headers: { cookie } })).status).toBe(401);
    } finally {
      await first.close();
      await second?.close();
    }
  });

  it('idle expiry and the cap follow the gateway’s clock (injected), over HTTP', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const g = await startTestGateway({ sessions: { idleMs: 60_000, maxAgeMs: 600_000, maxSessions: 2, now: () => now } });
    try {
      const signInHere = async () => {
        const res = await fetch(`${g.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: g.token }) });
        expect(res.status).toBe(201);
        now += 1;
        return res.headers.get('set-cookie')!.split(';')[0]!;
      };
      const get = async (cookie: string) => (await fetch(`${g.url}/admin/functions`, { headers: { cookie } })).status;
      const [a, b] = [await signInHere(), await signInHere()];
      now += 30_000;
      expect(await get(a)).toBe(200); // a is now the most recently used
      const c = await signInHere(); // the cap (2) ends b, the least recently used
      expect([await get(a), await get(b), await get(c)]).toEqual([200, 401, 200]);
      now += 59_000;
      expect(await get(c)).toBe(200);
      now += 61_000; // a unused for over a minute (its idle limit); c used 61 s ago, too
      expect([await get(a), await get(c)]).toEqual([401, 401]);
    } finally {
      await g.close();
    }
  });
});
