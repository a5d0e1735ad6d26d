/**
 * A real headless Chromium (the system's, driven by playwright-core) for the console's browser tests:
 * a page that records console errors, page errors and CSP violations, signs in through the form,
 * runs axe-core and takes screenshots at a fixed viewport.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from './gateway.ts';

export const CHROMIUM = process.env.FAAS_CHROMIUM ?? '/usr/bin/chromium';
export const VIEWPORT = { width: 1280, height: 860 };
export const SCREENSHOTS = join(REPO_ROOT, 'docs/console');

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install chromium; .ci/run does) or set FAAS_CHROMIUM`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

export interface WatchedPage {
  page: Page;
  /** Console errors, uncaught page errors and CSP violations seen so far. */
  problems: string[];
  /** Dialogs (alert) the page opened, by message; confirm() is accepted. */
  dialogs: string[];
}

export async function openPage(browser: Browser, baseUrl: string): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, baseURL: baseUrl, reducedMotion: 'reduce' });
  const page = await context.newPage();
  const problems: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void (d.type() === 'confirm' ? d.accept() : d.dismiss());
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  return { page, problems, dialogs };
}

export async function signInThroughForm(page: Page, token: string): Promise<void> {
  await page.goto('/console');
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

const AXE_SOURCE = () => readFileSync(join(REPO_ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's violations of impact serious or critical on the page as it is now. The script is put
 * in through the DevTools protocol (page.evaluate), which the page's CSP does not govern.
 */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE());
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.targets.join(', ')}`);
}

/**
 * The page at the fixed viewport's width (the whole page's height with `fullPage`, cut at `maxHeight`
 * pixels when given: a long table need not be pictured to its end), without a passing notice.
 */
export async function screenshot(page: Page, name: string, fullPage = false, maxHeight?: number): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.evaluate(() => document.querySelector('.toast')?.classList.remove('visible'));
  const height = fullPage && maxHeight ? Math.min(maxHeight, await page.evaluate(() => document.documentElement.scrollHeight)) : undefined;
  const clip = height === undefined ? undefined : { x: 0, y: 0, width: VIEWPORT.width, height };
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage, clip, animations: 'disabled', caret: 'hide' });
}
