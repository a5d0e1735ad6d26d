/**
 * The web console as an attacker sees it: cross-site requests riding the session cookie (CSRF),
 * session fixation, the cookie's flags, the console's own headers (CSP, framing, sniffing), path
 * traversal on its asset route, the admin KV routes across tenants, the ephemeral runner under
 * hostile code, the console host, and markup planted in function output, log lines, KV entries and
 * token labels, which must reach the page as text (checked in a real Chromium). After each: the
 * gateway and a neighbour function still answer.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openPage, signInThroughForm } from '../helpers/browser.ts';
import { engineUnderTest } from '../helpers/sandbox.ts';
import { testWorkers } from '../helpers/gateway.ts';
import { bounded, startAttackGateway, type AttackGateway } from './harness.ts';
import { rawHttp } from './raw-http.ts';

let t: AttackGateway;
let victim: string;
let attacker: string;

interface Signed {
  cookie: string;
  csrf: string;
}

async function signIn(token: string): Promise<Signed> {
  const res = await fetch(`${t.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  expect(res.status).toBe(201);
  return { cookie: res.headers.get('set-cookie')!.split(';')[0]!, csrf: (await res.json()).csrf };
}

const withCookie = (s: Signed, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
  fetch(`${t.url}${path}`, {
    method,
    headers: { cookie: s.cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

beforeAll(async () => {
  t = await startAttackGateway();
  for (const name of ['victim', 'attacker']) expect((await t.admin('POST', '/admin/tenants', { name, quota: { kvBytes: 4096 } })).status).toBe(201);
  victim = (await (await t.admin('POST', '/admin/tenants/victim/tokens', {})).json()).token;
  attacker = (await (await t.admin('POST', '/admin/tenants/attacker/tokens', {})).json()).token;
  const store = `export default { async fetch(req: Request, env: any) { return new Response(String(await env.SECRETS.get('k'))); } };`;
  expect((await t.admin('PUT', '/admin/functions/victim-store', { source: store, config: { kv: ['SECRETS'] } }, victim)).status).toBe(201);
  expect((await t.admin('PUT', '/admin/kv/SECRETS/value?key=k', { value: 'victim-data' }, victim)).status).toBe(204);
}, 120_000);
afterAll(() => t?.close());

describe('CSRF', () => {
  it('refuses every state-changing admin call on a session cookie without the right CSRF token', async () => {
    const s = await signIn(t.token);
    const other = await signIn(t.token);
    const calls: [string, string, unknown?][] = [
      ['PUT', '/admin/functions/csrf-made', { source: `export default { fetch() { return new Response('x'); } };` }],
      ['DELETE', `/admin/functions/neighbour`],
      ['POST', '/admin/functions/neighbour/rollback', {}],
      ['PUT', '/admin/functions/neighbour/deployment', { split: [{ version: 1, percent: 100 }] }],
      ['POST', '/admin/tenants', { name: 'csrf-tenant' }],
      ['POST', '/admin/tenants/victim/tokens', {}],
      ['PUT', '/admin/tenants/victim/quota', {}],
      ['PUT', '/admin/kv/SECRETS/value?key=k&tenant=victim', { value: 'pwned' }],
      ['DELETE', '/admin/kv/SECRETS/value?key=k&tenant=victim'],
      ['POST', '/admin/run', { source: `export default { fetch() { return new Response('x'); } };` }],
      ['DELETE', '/admin/session'],
    ];
    const variants: Record<string, string>[] = [{}, { 'x-faas-csrf': '' }, { 'x-faas-csrf': 'guess' }, { 'x-faas-csrf': other.csrf }, { 'x-faas-csrf': `${s.csrf}x` }, { 'X-FAAS-CSRF': s.csrf.toUpperCase() }];
    for (const [method, path, body] of calls) {
      for (const headers of variants) {
        const res = await withCookie(s, method, path, headers, body);
        expect([method, path, JSON.stringify(headers), res.status]).toEqual([method, path, JSON.stringify(headers), 403]);
      }
    }
    expect((await t.admin('GET', '/admin/functions/csrf-made')).status).toBe(404);
    expect((await t.admin('GET', '/admin/tenants/csrf-tenant')).status).toBe(404);
    expect(await (await t.fn('victim-store')).text()).toBe('victim-data');
    // the session still works for reads, and with its token for writes
    expect((await withCookie(s, 'GET', '/admin/functions')).status).toBe(200);
    await t.assertHealthy();
  });

  it('refuses a session request from another origin or site even with the token', async () => {
    const s = await signIn(t.token);
    const foreign: Record<string, string>[] = [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }];
    for (const headers of foreign) {
      const res = await withCookie(s, 'POST', '/admin/tenants', { 'x-faas-csrf': s.csrf, ...headers }, { name: 'cross-origin' });
      expect(res.status).toBe(403);
      expect((await withCookie(s, 'GET', '/admin/functions', headers)).status).toBe(403);
    }
    expect((await t.admin('GET', '/admin/tenants/cross-origin')).status).toBe(404);
    await t.assertHealthy();
  });

  it('a form or text body cannot sign anyone in (no login CSRF), nor can another origin', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x', '']) {
      const res = await fetch(`${t.url}/admin/session`, { method: 'POST', headers: type ? { 'content-type': type } : {}, body: JSON.stringify({ token: attacker }) });
      expect(res.status).toBe(400);
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    const cross = await fetch(`${t.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example' }, body: JSON.stringify({ token: attacker }) });
    expect(cross.status).toBe(403);
    expect(cross.headers.get('set-cookie')).toBeNull();
    await t.assertHealthy();
  });
});

describe('sessions', () => {
  it('never adopts a session id the client chose (fixation), and issues a new one on every sign-in', async () => {
    const planted = 'faas_session=' + 'A'.repeat(43);
    const res = await fetch(`${t.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: planted }, body: JSON.stringify({ token: t.token }) });
    const issued = res.headers.get('set-cookie')!.split(';')[0]!;
    expect(issued).not.toBe(planted);
    expect((await fetch(`${t.url}/admin/functions`, { headers: { cookie: planted } })).status).toBe(401);
    // a second sign-in over a live session ends the old id
    const again = await fetch(`${t.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: issued }, body: JSON.stringify({ token: t.token }) });
    const second = again.headers.get('set-cookie')!.split(';')[0]!;
    expect(second).not.toBe(issued);
    expect((await fetch(`${t.url}/admin/functions`, { headers: { cookie: issued } })).status).toBe(401);
    expect((await fetch(`${t.url}/admin/functions`, { headers: { cookie: second } })).status).toBe(200);
    await t.assertHealthy();
  });

  it('the cookie is HttpOnly, SameSite=Strict, scoped to /admin (never sent to /fn/*), Secure behind https', async () => {
    const res = await fetch(`${t.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' }, body: JSON.stringify({ token: t.token }) });
    const c = res.headers.get('set-cookie')!;
    expect(c).toMatch(/^__Secure-faas_session=[\w-]+; Max-Age=\d+; Path=\/admin; HttpOnly; Secure; SameSite=Strict$/);
    expect(c).not.toMatch(/Domain=/i);
    await t.assertHealthy();
  });

  it('bearer auth is not weakened: a bad bearer fails even with a good cookie; a junk cookie never passes', async () => {
    const s = await signIn(t.token);
    expect((await fetch(`${t.url}/admin/functions`, { headers: { cookie: s.cookie, authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${t.url}/admin/functions`, { headers: { cookie: s.cookie, authorization: '' } })).status).toBe(401);
    for (const cookie of ['faas_session=', 'faas_session=%00', `faas_session=${'x'.repeat(4000)}`, 'faas_session=a; faas_session=b', '__Secure-faas_session=zzz']) {
      expect((await fetch(`${t.url}/admin/functions`, { headers: { cookie } })).status).toBe(401);
    }
    // a tenant's session is that tenant: no operator routes, no other tenant's function
    const a = await signIn(attacker);
    expect((await withCookie(a, 'GET', '/admin/tenants')).status).toBe(403);
    expect((await withCookie(a, 'GET', '/admin/functions/victim-store')).status).toBe(404);
    expect((await withCookie(a, 'GET', '/admin/functions/victim-store/source')).status).toBe(404);
    expect((await withCookie(a, 'GET', '/admin/functions/victim-store/stats')).status).toBe(404);
    expect((await withCookie(a, 'GET', '/admin/health')).status).toBe(403);
    await t.assertHealthy();
  });

  it('a session ends when its tenant is deleted or its token revoked', async () => {
    expect((await t.admin('POST', '/admin/tenants', { name: 'doomed' })).status).toBe(201);
    const issued = await (await t.admin('POST', '/admin/tenants/doomed/tokens', {})).json();
    const s = await signIn(issued.token);
    expect((await withCookie(s, 'GET', '/admin/functions')).status).toBe(200);
    expect((await t.admin('DELETE', '/admin/tenants/doomed')).status).toBe(204);
    expect((await withCookie(s, 'GET', '/admin/functions')).status).toBe(401);
    await t.assertHealthy();
  });
});

describe('console responses and assets', () => {
  it('carry a strict CSP, refuse framing and sniffing, on pages, assets and errors alike', async () => {
    const page = await fetch(`${t.url}/console`);
    const asset = /\/console\/assets\/[\w.-]+/.exec(await page.text())![0];
    for (const path of ['/console', '/console/', asset, '/console/assets/nope.js', '/console/whatever']) {
      const res = await fetch(`${t.url}${path}`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect([path, csp]).toEqual([path, expect.stringContaining("script-src 'self'")]);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe|\*/);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      await res.arrayBuffer();
    }
    await t.assertHealthy();
  });

  it('the asset route serves only the bundle: no traversal, no file by a chosen name', async () => {
    const names = [
      '..%2f..%2fpackage.json',
      '%2e%2e%2f%2e%2e%2fpackage.json',
      '..%5c..%5cpackage.json',
      '%2fetc%2fpasswd',
      'manifest.json',
      'index.html',
      'app.js',
      '.',
      'app-X.js%00.css',
      'x'.repeat(5000),
    ];
    for (const name of names) {
      const res = await fetch(`${t.url}/console/assets/${name}`);
      expect([name.slice(0, 40), res.status]).toEqual([name.slice(0, 40), 404]);
      const body = await res.text();
      expect(body).not.toContain('"devDependencies"');
      expect(body).not.toContain('root:');
    }
    for (const target of ['/console/assets/../../package.json', '/console/../admin/functions', '/console/assets/%2e%2e/%2e%2e/package.json']) {
      const raw = await rawHttp(t.url, [`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`], { timeoutMs: 3000 });
      expect(raw.statuses[0]).toBeGreaterThanOrEqual(400);
      expect(raw.text).not.toContain('"devDependencies"');
    }
    await t.assertHealthy();
  });
});

describe('admin KV routes across tenants', () => {
  it('a tenant reaches no other tenant’s namespaces by query, name tricks or key tricks', async () => {
    const as = (method: string, path: string, body?: unknown) => t.admin(method, path, body, attacker);
    const attempts: [string, string, unknown?][] = [
      ['GET', '/admin/kv/SECRETS/value?key=k&tenant=victim'],
      ['GET', '/admin/kv/SECRETS/keys?tenant=victim'],
      ['PUT', '/admin/kv/SECRETS/value?key=k&tenant=victim', { value: 'pwned' }],
      ['DELETE', '/admin/kv/SECRETS/value?key=k&tenant=victim'],
      ['GET', '/admin/kv?tenant=victim'],
      ['GET', '/admin/kv/victim%2FSECRETS/value?key=k'],
      ['GET', '/admin/kv/..%2Fvictim%2FSECRETS/value?key=k'],
      ['GET', '/admin/kv/SECRETS/value?key=..%2Fvictim%2FSECRETS%2Fk'],
      ['GET', '/admin/kv/SECRETS/value?key=k&tenant=victim&tenant=attacker'],
      ['GET', '/admin/kv/SECRETS/keys?prefix=&cursor=' + Buffer.from('victim/SECRETS').toString('base64url')],
    ];
    for (const [method, path, body] of attempts) {
      const res = await as(method, path, body);
      const text = await res.text();
      expect([method, path, text.includes('victim-data')]).toEqual([method, path, false]);
      expect(res.status === 204).toBe(false);
    }
    // what the attacker does see is its own (empty) namespace of the same name
    expect((await as('GET', '/admin/kv/SECRETS/value?key=k')).status).toBe(404);
    expect(await (await t.fn('victim-store')).text()).toBe('victim-data');
    await t.assertHealthy();
  });

  it('writes stay within the tenant’s quota and the store’s limits, whatever the body', async () => {
    const as = (method: string, path: string, body?: unknown) => t.admin(method, path, body, attacker);
    expect((await as('PUT', '/admin/kv/FILL/value?key=a', { value: 'x'.repeat(5000) })).status).toBe(403);
    expect((await as('PUT', '/admin/kv/FILL/value?key=a', { value: 'x'.repeat(2 * 1024 * 1024) })).status).toBe(413);
    expect((await as('PUT', '/admin/kv/FILL/value?key=a', { value: 'x', metadata: { big: 'y'.repeat(2000) } })).status).toBe(400);
    expect((await as('PUT', '/admin/kv/FILL/value?key=a', { value: 'x', expirationTtl: -5 })).status).toBe(400);
    expect((await as('PUT', '/admin/kv/FILL/value?key=a', '{"value": "x", "__proto__": {"polluted": 1}}')).status).toBe(400);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const tenant = await (await t.admin('GET', '/admin/tenants/attacker')).json();
    expect(tenant.kvBytes).toBeLessThanOrEqual(4096);
    await t.assertHealthy();
  });
});

describe('ephemeral runs under hostile code', () => {
  const run = (source: string, extra: object = {}) =>
    bounded(20_000, 'ephemeral run', async () => t.admin('POST', '/admin/run', { source, ...extra }, attacker));

  it('stops loops, memory bombs and hangs at the run’s limits, and reaches nothing', async () => {
    const cases: [string, string[]][] = [
      ['export default { fetch() { for (;;) {} } };', ['cpu_limit_exceeded']],
      // 16 MB of heap at most; on a slow engine the 200 ms of CPU may run out first
      ['export default { fetch() { const a: string[] = []; for (let i = 0; ; i++) a.push("x".repeat(65536) + i); } };', ['memory_limit_exceeded', 'cpu_limit_exceeded']],
      ['export default { async fetch() { await new Promise(() => {}); return new Response("never"); } };', ['timeout']],
      ['export default { async fetch() { return fetch("http://127.0.0.1:1/"); } };', ['function_error']],
      ['export default { async fetch(r: Request, env: any) { return new Response(String(await env.SECRETS.get("k"))); } };', ['function_error']],
    ];
    for (const [source, codes] of cases) {
      const res = await run(source);
      expect(res.status).toBe(200);
      const r = await res.json();
      expect([source.slice(0, 50), codes.includes(r.error?.code)]).toEqual([source.slice(0, 50), true]);
    }
    expect(await (await t.fn('victim-store')).text()).toBe('victim-data');
    await t.assertHealthy();
  });

  it('is never reachable as a function, and a burst of runs is bounded, not queued without end', async () => {
    const slow = 'export default { async fetch() { await new Promise((r) => setTimeout(r, 500)); return new Response("done"); } };';
    const results = await Promise.all(Array.from({ length: 8 }, () => run(slow).then((r) => r.status)));
    expect(results.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    expect(results.every((s) => s === 200 || s === 503)).toBe(true);
    for (const path of ['/fn/~run-000000000000', '/fn/%7Erun-x']) expect((await fetch(`${t.url}${path}`)).status).toBe(400);
    expect((await (await t.admin('GET', '/admin/functions')).json()).map((f: { name: string }) => f.name).some((n: string) => n.includes('run'))).toBe(false);
    expect(t.gw.runtime.list().some((f) => f.name.startsWith('~'))).toBe(false);
    await t.assertHealthy();
  });

  it('refuses imports, secrets, oversized and malformed requests', async () => {
    const refusals: [unknown, number][] = [
      [{ source: 'import x from "fs"; export default { fetch() { return new Response(x) } };' }, 422],
      [{ source: 'export default {}', secrets: { A: 'b' } }, 400],
      [{ source: 'export default { fetch() { return new Response("") } }', filename: '../../etc/passwd.ts' }, 400],
      [{ source: 'export default { fetch() { return new Response("") } }', request: { method: 'CONNECT' } }, 400],
      [{ source: 'export default { fetch() { return new Response("") } }', request: { headers: [['x', 'a\r\nb']] } }, 400],
      [{ source: 'export default { fetch() { return new Response("") } }', request: { path: 'http://evil/' } }, 400],
      [{ source: 'x'.repeat(1024 * 1024 + 1) }, 400],
    ];
    for (const [body, status] of refusals) expect((await t.admin('POST', '/admin/run', body, attacker)).status).toBe(status);
    await t.assertHealthy();
  });
});

describe('console host', () => {
  it('with a console host, no function answers on it and the console answers nowhere else', async () => {
    const { startTestGateway } = await import('../helpers/gateway.ts');
    const g = await startTestGateway({ consoleHost: 'console.test' });
    try {
      const page = `export default { fetch() { return new Response('<script>steal()</script>', { headers: { 'content-type': 'text/html' } }); } };`;
      expect((await g.deploy('evil-page', page, { routes: ['console.test/*', 'app.test/*'] })).status).toBe(201);
      const get = (host: string, path: string) => rawHttp(g.url, [`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`], { timeoutMs: 5000 });
      expect((await get('console.test', '/fn/evil-page')).statuses[0]).toBe(404);
      expect((await get('console.test:8080', '/anything')).statuses[0]).toBe(404);
      expect((await get('CONSOLE.TEST', '/anything')).text).not.toContain('steal()');
      expect((await get('app.test', '/x')).text).toContain('steal()');
      expect((await get('other.test', '/console')).statuses[0]).toBe(404);
      expect((await get('console.test', '/console')).statuses[0]).toBe(200);
      expect((await get('console.test', '/healthz')).statuses[0]).toBe(200);
    } finally {
      await g.close();
    }
    await t.assertHealthy();
  });
});

// Rendering does not depend on the engine or threads: the browser part runs in one matrix entry.
const RENDER_ONCE = !engineUnderTest.engine || (engineUnderTest.engine === 'quickjs-wasi' && engineUnderTest.isolation !== 'instance');
describe.runIf(RENDER_ONCE && testWorkers() === 0)('markup planted in data renders as text in the console (Chromium)', () => {
  let browser: Browser;
  const PAYLOAD = `<img src=x onerror="window.__pwned=(window.__pwned||0)+1"><script>window.__pwned=1</script>`;

  beforeAll(async () => {
    browser = await launchBrowser();
  }, 60_000);
  afterAll(() => browser?.close());

  it('log lines, response bodies, KV keys, values and metadata, token labels and audit details stay text', async () => {
    const logger = `export default { fetch() { console.log(${JSON.stringify(PAYLOAD)}); return new Response(${JSON.stringify(PAYLOAD)}, { headers: { 'content-type': 'text/html', 'x-evil': '<b>bold</b>' } }); } };`;
    expect((await t.admin('PUT', '/admin/functions/xss-logger', { source: logger }, attacker)).status).toBe(201);
    expect((await t.admin('PUT', `/admin/kv/XSS/value?key=${encodeURIComponent(PAYLOAD)}`, { value: PAYLOAD, metadata: { html: PAYLOAD } }, attacker)).status).toBe(204);
    expect((await t.admin('POST', '/admin/tenants/attacker/tokens', { label: PAYLOAD })).status).toBe(201);

    const w = await openPage(browser, t.url);
    await signInThroughForm(w.page, t.token);
    const planted = async () => w.page.evaluate(() => ({ pwned: (window as unknown as { __pwned?: number }).__pwned ?? 0, imgs: document.querySelectorAll('img[src="x"]').length, scripts: document.querySelectorAll('main script').length }));

    // live logs of the function (the operator watches the attacker's function)
    await w.page.goto('/console#/functions/xss-logger');
    await w.page.getByRole('heading', { name: 'Live logs' }).waitFor();
    await waitLive(w.page);
    expect((await t.fn('xss-logger')).status).toBe(200);
    await w.page.locator('ol.log-list').getByText(PAYLOAD).first().waitFor({ timeout: 10_000 });
    expect(await planted()).toEqual({ pwned: 0, imgs: 0, scripts: 0 });

    // the playground shows the response body, its headers and the request's logs
    await w.page.goto('/console#/playground?fn=xss-logger');
    await w.page.getByRole('button', { name: 'Send request' }).click();
    await w.page.locator('pre.body').getByText(PAYLOAD).waitFor({ timeout: 10_000 });
    await w.page.locator('.request-logs').getByText(PAYLOAD).waitFor({ timeout: 10_000 });
    expect(await planted()).toEqual({ pwned: 0, imgs: 0, scripts: 0 });

    // the KV browser (the operator looks at the attacker's tenant)
    await w.page.goto('/console#/kv?tenant=attacker&ns=XSS');
    await w.page.getByRole('button', { name: 'List keys' }).click();
    await w.page.getByRole('button', { name: `Open ${PAYLOAD}` }).click();
    await expectPoll(async () => (await w.page.getByRole('textbox', { name: 'Value', exact: true }).inputValue()) === PAYLOAD);
    expect(await planted()).toEqual({ pwned: 0, imgs: 0, scripts: 0 });

    // token labels and the audit log (whose details carry the attacker's strings)
    await w.page.goto('/console#/operator');
    await w.page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await w.page.getByLabel('Tenant', { exact: true }).selectOption('attacker');
    await w.page.getByRole('cell', { name: PAYLOAD }).first().waitFor({ timeout: 10_000 });
    expect(await planted()).toEqual({ pwned: 0, imgs: 0, scripts: 0 });
    expect(w.problems.filter((p) => /CSP violation|pageerror/.test(p))).toEqual([]);
    await w.page.context().close();
    await t.assertHealthy();
  });
});

describe.runIf(RENDER_ONCE && testWorkers() === 0)('the token stays out of URLs, logs and the page (Chromium)', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  }, 60_000);
  afterAll(() => browser?.close());

  it('a signed-in tenant’s token and session id appear in no URL, Referer, storage, page, gateway log or audit entry', async () => {
    const wrong = `faas_wrong${victim.slice(10)}`;
    const w = await openPage(browser, t.url);
    const seen: string[] = [];
    w.page.on('request', (r) => seen.push(`${r.method()} ${r.url()} referer=${r.headers()['referer'] ?? ''}`));
    w.page.on('framenavigated', (f) => seen.push(`navigated ${f.url()}`));
    const logsBefore = t.logs.length;

    // a refused sign-in first (its token must not be kept anywhere either), then the real one
    await w.page.goto('/console');
    await w.page.getByLabel('Token').fill(wrong);
    await w.page.getByRole('button', { name: 'Sign in' }).click();
    await expectPoll(async () => ((await w.page.getByRole('alert').textContent()) ?? '').includes('invalid or revoked token'));
    await signInThroughForm(w.page, victim);
    const session = (await w.page.context().cookies()).find((c) => c.name === 'faas_session')?.value;
    expect(session).toMatch(/^[\w-]{20,}$/);

    // the pages a tenant uses, the live log stream among them
    for (const [route, ready] of [
      ['/console#/functions', 'Functions'],
      ['/console#/functions/victim-store', 'Live logs'],
      ['/console#/playground?fn=victim-store', 'Playground'],
      ['/console#/kv', 'KV'],
    ] as const) {
      await w.page.goto(route);
      await w.page.getByRole('heading', { name: ready, exact: true }).waitFor();
      if (ready === 'Live logs') {
        await waitLive(w.page);
        expect((await t.fn('victim-store')).status).toBe(200);
        await w.page.locator('ol.log-list li').first().waitFor({ timeout: 10_000 });
      }
    }
    const inPage = await w.page.evaluate(() => ({
      cookie: document.cookie,
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      html: document.documentElement.outerHTML,
      inputs: [...document.querySelectorAll('input, textarea')].map((e) => (e as HTMLInputElement).value).join('\n'),
      history: history.length,
    }));
    await w.page.context().close();

    const secrets = { token: victim, wrong, session: session! };
    const places = {
      requests: seen.join('\n'),
      page: JSON.stringify(inPage),
      gatewayLogs: JSON.stringify(t.logs.slice(logsBefore)),
      audit: await (await t.admin('GET', '/admin/audit?limit=1000')).text(),
      sessionView: await (await fetch(`${t.url}/admin/session`, { headers: { cookie: `faas_session=${session}` } })).text(),
    };
    expect(seen.length).toBeGreaterThan(5);
    for (const [place, text] of Object.entries(places)) {
      for (const [what, secret] of Object.entries(secrets)) expect([place, what, text.includes(secret)]).toEqual([place, what, false]);
    }
    await t.assertHealthy();
  });
});

async function waitLive(page: import('playwright-core').Page) {
  await expectPoll(async () => (await page.locator('.stream-state').textContent()) === 'live');
}

async function expectPoll(check: () => Promise<boolean>, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
