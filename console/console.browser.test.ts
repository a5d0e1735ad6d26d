/**
 * The console end to end: a real gateway on loopback, a real headless Chromium (playwright-core and
 * the system's Chromium). Every page is checked with axe-core (no serious or critical violations),
 * must raise no console error, page error or CSP violation, and is photographed at a fixed viewport
 * into docs/console/ (the README shows those pictures).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openPage, screenshot, seriousA11yViolations, signInThroughForm, type WatchedPage } from '../test/helpers/browser.ts';
import { startTestGateway, waitFor, type TestGateway } from '../test/helpers/gateway.ts';

let t: TestGateway;
let browser: Browser;
let root: WatchedPage;

const HELLO = `export default {
  async fetch(request: Request) {
    const url = new URL(request.url);
    console.log('greeting', url.searchParams.get('name') ?? 'world');
    return Response.json({ hello: url.searchParams.get('name') ?? 'world' });
  },
};
`;

beforeAll(async () => {
  t = await startTestGateway({ sampler: { intervalMs: 1000, points: 3600 } });
  // the bundle is built on the first request (from source): before the browser's clock starts
  expect((await fetch(`${t.url}/console`)).status).toBe(200);
  browser = await launchBrowser();
  root = await openPage(browser, t.url);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function checkPage(w: WatchedPage, name: string, fullPage = false, maxHeight?: number) {
  expect(await seriousA11yViolations(w.page)).toEqual([]);
  expect(w.problems).toEqual([]);
  await screenshot(w.page, name, fullPage, maxHeight);
}

describe('console in a browser', () => {
  it('signs in with the root token (and the sign-in page is accessible)', async () => {
    const { page } = root;
    await page.goto('/console');
    await page.getByLabel('Token').waitFor();
    await checkPage(root, 'sign-in');
    await page.getByLabel('Token').fill('wrong-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('invalid or revoked token');
    root.problems.length = 0; // the refused sign-in's 401 shows as a failed resource load
    await page.getByLabel('Token').fill(t.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Functions', exact: true }).waitFor();
    expect(await page.getByText('operator (root)').count()).toBe(1);
    // the cookie is HttpOnly: the page's script cannot read it
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it('playground: creates a function, deploys it, invokes it and shows its output and its logs', async () => {
    const { page } = root;
    await page.goto('/console#/playground?fn=hello-pg&new=1');
    const editor = page.getByRole('textbox', { name: 'Function source (TypeScript)' });
    await editor.waitFor();
    await replaceEditorText(editor, HELLO);
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await expect.poll(() => page.locator('.deploy-info').textContent()).toContain('Deployed hello-pg v1');
    await page.getByLabel('Path').fill('/?name=browser');
    await page.getByRole('button', { name: 'Send request' }).click();
    await expect.poll(() => page.locator('.status-code').textContent()).toBe('200');
    await expect.poll(() => page.locator('pre.body').textContent()).toBe('{"hello":"browser"}');
    await expect.poll(() => page.locator('code.server-timing').textContent()).toMatch(/queue;dur=.*exec;dur=/);
    await expect.poll(() => page.locator('.request-logs').textContent()).toContain('greeting browser');
    await checkPage(root, 'playground', true);
  });

  it('shows a compile error at its line', async () => {
    const { page } = root;
    const editor = page.getByRole('textbox', { name: 'Function source (TypeScript)' });
    await replaceEditorText(editor, 'export default {\n  fetch() {\n    return new Response(;\n  },\n};\n');
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    const alert = page.locator('.compile-error');
    await expect.poll(() => alert.textContent()).toContain('Compile error at line 3');
    // the line itself is marked in the editor
    await expect.poll(() => page.locator('.cm-lintRange-error').count()).toBeGreaterThan(0);
    await screenshot(page, 'playground-compile-error');
    // the refused deploy's 422 is the only thing the browser logged
    expect(root.problems).toEqual([expect.stringContaining('422')]);
    root.problems.length = 0;
  });

  it('ephemeral mode runs code in a fresh sandbox without deploying it', async () => {
    const { page } = root;
    const editor = page.getByRole('textbox', { name: 'Function source (TypeScript)' });
    await replaceEditorText(editor, `export default { fetch(req: Request) { console.log('ephemeral', req.method); return new Response('ran ' + new URL(req.url).pathname); } };\n`);
    await page.getByLabel('Ephemeral (run once, never deployed)').check();
    await page.getByLabel('Method').selectOption('POST');
    await page.getByLabel('Path').fill('/once');
    await page.getByRole('button', { name: 'Run ephemeral' }).click();
    await expect.poll(() => page.locator('pre.body').textContent()).toBe('ran /once');
    await expect.poll(() => page.locator('.request-logs').textContent()).toContain('ephemeral POST');
    // nothing was deployed: the function list still has only hello-pg
    const names = ((await (await t.admin('GET', '/admin/functions')).json()) as { name: string }[]).map((f) => f.name);
    expect(names).toEqual(['hello-pg']);
    expect(root.problems).toEqual([]);
  });

  it('functions table lists the function with its last hour (and is accessible)', async () => {
    for (let i = 0; i < 5; i++) await t.fn('hello-pg', '/?name=table');
    await t.gw.sampler.sample();
    const { page } = root;
    await page.goto('/console#/functions');
    const row = page.getByRole('row').filter({ hasText: 'hello-pg' });
    await row.waitFor();
    await expect.poll(async () => (await row.getByRole('cell').nth(4).textContent())?.trim()).not.toBe('—');
    await checkPage(root, 'functions');
  });

  it('functions table pages by name: a prefix filter, and "Show more" past the first hundred', async () => {
    const names = Array.from({ length: 101 }, (_, i) => `page-${String(i).padStart(3, '0')}`);
    const source = `export default { fetch() { return new Response('p'); } };`;
    for (let i = 0; i < names.length; i += 8) {
      await Promise.all(names.slice(i, i + 8).map(async (n) => expect((await t.deploy(n, source)).status).toBe(201)));
    }
    const { page } = root;
    await page.goto('/console#/functions');
    await page.getByRole('searchbox', { name: 'Filter' }).fill('page-');
    const rows = page.getByRole('row').filter({ hasText: 'page-' });
    await expect.poll(() => rows.count()).toBe(100);
    await page.getByRole('button', { name: 'Show more' }).click();
    await expect.poll(() => rows.count()).toBe(101);
    await expect.poll(() => page.getByRole('button', { name: 'Show more' }).isHidden()).toBe(true);
    await page.getByRole('searchbox', { name: 'Filter' }).fill('page-01');
    await expect.poll(() => rows.count()).toBe(10);
    await Promise.all(names.map((n) => t.admin('DELETE', `/admin/functions/${n}`)));
    await page.getByRole('searchbox', { name: 'Filter' }).fill('');
    await expect.poll(() => rows.count()).toBe(0);
  });

  it('a log line printed by an invocation appears in the live logs within a second', async () => {
    const { page } = root;
    await page.goto('/console#/functions/hello-pg');
    await page.getByRole('heading', { name: 'Live logs' }).waitFor();
    await expect.poll(() => page.locator('.stream-state').textContent(), { timeout: 10_000 }).toBe('live');
    const marker = `live-${Date.now()}`;
    expect((await t.fn('hello-pg', `/?name=${marker}`)).status).toBe(200);
    const started = Date.now();
    await page.locator('ol.log-list').getByText(`greeting ${marker}`).waitFor({ timeout: 1000 });
    expect(Date.now() - started).toBeLessThan(1000);
    await checkPage(root, 'function', true);
  });

  it('rolling back to the previous version changes the answer', async () => {
    expect((await t.deploy('versions-pg', `export default { fetch() { return new Response('one'); } };`)).status).toBe(201);
    expect((await t.deploy('versions-pg', `export default { fetch() { return new Response('two'); } };`)).status).toBe(201);
    expect(await (await t.fn('versions-pg')).text()).toBe('two');
    const { page } = root;
    await page.goto('/console#/functions/versions-pg');
    await page.getByRole('button', { name: 'Roll back to v1' }).click();
    await expect.poll(async () => (await t.fn('versions-pg')).text()).toBe('one');
    await page.getByRole('button', { name: 'Roll back to v2' }).waitFor();
    expect(root.problems).toEqual([]);
  });

  it('edits a KV value', async () => {
    const reader = `export default { async fetch(req: Request, env: any) { return new Response(String(await env.STORE.get('greeting'))); } };`;
    expect((await t.deploy('kv-pg', reader, { kv: ['STORE'] })).status).toBe(201);
    expect((await t.admin('PUT', '/admin/kv/STORE/value?key=greeting', { value: 'before', metadata: { by: 'test' } })).status).toBe(204);
    for (let i = 0; i < 60; i++) expect((await t.admin('PUT', `/admin/kv/STORE/value?key=${`item-${String(i).padStart(2, '0')}`}`, { value: `v${i}` })).status).toBe(204);
    expect(await (await t.fn('kv-pg')).text()).toBe('before');
    const { page } = root;
    await page.goto('/console#/kv');
    await page.getByRole('button', { name: 'List keys' }).click();
    // 61 keys: a second page
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByLabel('Key prefix').fill('gree');
    await page.getByRole('button', { name: 'List keys' }).click();
    await page.getByRole('button', { name: 'Open greeting' }).click();
    await expect.poll(() => page.getByRole('textbox', { name: 'Value', exact: true }).inputValue()).toBe('before');
    expect(await page.getByLabel('Metadata (JSON)').inputValue()).toContain('"by": "test"');
    await page.getByRole('textbox', { name: 'Value', exact: true }).fill('after');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => (await t.fn('kv-pg')).text()).toBe('after');
    await checkPage(root, 'kv');
  });

  it('operator view: tenants, quotas, tokens issued once, audit log, gateway health (and is accessible)', async () => {
    const { page } = root;
    await page.goto('/console#/operator');
    await page.getByRole('heading', { name: 'Gateway health' }).waitFor();
    await page.getByLabel('New tenant').fill('acme');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.getByRole('cell', { name: 'acme', exact: true }).waitFor();
    await page.getByLabel('Label').fill('console-test');
    await page.getByRole('button', { name: 'Issue token' }).click();
    await expect.poll(() => page.locator('output.secret-once').textContent()).toMatch(/^faas_/);
    await page.reload();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    const audit = page.locator('table').filter({ hasText: 'The last 100 admin actions' });
    await expect.poll(() => audit.textContent()).toContain('token.issue');
    expect(await audit.textContent()).toContain('tenant.create');
    await checkPage(root, 'operator', true, 2200); // cut: the audit log below runs on through the KV test's 60 writes
  });

  it('a tenant token sees only that tenant’s functions', async () => {
    const token = (await (await t.admin('POST', '/admin/tenants/acme/tokens', { label: 'browser' })).json()).token as string;
    expect((await t.admin('PUT', '/admin/functions/acme-only', { source: `export default { fetch() { return new Response('acme'); } };`, tenant: 'acme' })).status).toBe(201);
    const tenant = await openPage(browser, t.url);
    await signInThroughForm(tenant.page, token);
    await tenant.page.getByRole('link', { name: 'acme-only' }).waitFor();
    const text = await tenant.page.locator('main').textContent();
    expect(text).not.toContain('hello-pg');
    expect(text).not.toContain('versions-pg');
    expect(await tenant.page.getByRole('link', { name: 'Operator' }).count()).toBe(0);
    expect(await tenant.page.getByText('tenant acme').count()).toBe(1);
    // another tenant's function page is not found
    await tenant.page.goto('/console#/functions/hello-pg');
    await expect.poll(() => tenant.page.getByRole('alert').first().textContent()).toContain('not deployed');
    tenant.problems.length = 0; // that 404 is logged by the browser as a failed load
    await tenant.page.context().close();
  });

  it('a request without the CSRF token is refused, with the session cookie and all', async () => {
    const { page } = root;
    await page.goto('/console#/functions');
    await page.getByRole('link', { name: 'hello-pg' }).waitFor();
    const status = await page.evaluate(async () => (await fetch('/admin/functions/hello-pg', { method: 'DELETE', credentials: 'same-origin' })).status);
    expect(status).toBe(403);
    const withToken = await page.evaluate(async () => {
      const s = await (await fetch('/admin/session')).json();
      return (await fetch('/admin/functions/hello-pg/rollback', { method: 'POST', headers: { [s.csrfHeader]: 'not-the-token' } })).status;
    });
    expect(withToken).toBe(403);
    expect((await t.fn('hello-pg')).status).toBe(200);
    root.problems.length = 0;
  });

  it('deletes a function from the table', async () => {
    const { page } = root;
    await page.goto('/console#/functions');
    await page.getByRole('button', { name: 'Delete versions-pg' }).click();
    await expect.poll(async () => (await t.admin('GET', '/admin/functions/versions-pg')).status).toBe(404);
    expect(root.dialogs.some((d) => d.includes('Delete function versions-pg'))).toBe(true);
  });

  it('signs out: the session is gone on the server too', async () => {
    const { page } = root;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token').waitFor();
    const status = await page.evaluate(async () => (await fetch('/admin/functions')).status);
    expect(status).toBe(401);
    await waitFor(() => true);
  });
});

/** Replaces the CodeMirror document by typing, as a user would (select all, then type). */
async function replaceEditorText(editor: import('playwright-core').Locator, text: string) {
  await editor.click();
  await editor.press('ControlOrMeta+a');
  await editor.press('Delete');
  // insertText skips auto-indent and bracket closing, which typing would add to a pasted program
  await editor.page().keyboard.insertText(text);
}
