/**
 * The faas web console: a shell (header, navigation, main landmark, status region) and hash routes,
 * each a page module that renders into <main>. The playground (CodeMirror) and the charts (uPlot)
 * are separate chunks, loaded when a page needs them.
 */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { currentSession, loadSession, signOut, whenSignedOut, type Session } from './api.ts';
import { h, replace } from './dom.ts';
import { announce, statusRegion } from './status.ts';
import { renderSignIn } from './pages/signin.ts';

export interface Page {
  /** Renders into `main`; the returned function (if any) runs when the page is left. */
  (main: HTMLElement, params: Record<string, string>): void | (() => void) | Promise<void | (() => void)>;
}

interface Route {
  pattern: RegExp;
  title: string;
  nav?: string;
  rootOnly?: boolean;
  load: () => Promise<Page>;
}

const ROUTES: Route[] = [
  { pattern: /^\/functions\/?$/, title: 'Functions', nav: 'functions', load: async () => (await import('./pages/functions.ts')).renderFunctions },
  { pattern: /^\/functions\/(?<name>[a-z0-9][a-z0-9-]{0,62})\/?$/, title: 'Function', nav: 'functions', load: async () => (await import('./pages/function.ts')).renderFunction },
  { pattern: /^\/playground\/?$/, title: 'Playground', nav: 'playground', load: async () => (await import('./pages/playground.ts')).renderPlayground },
  { pattern: /^\/kv\/?$/, title: 'KV', nav: 'kv', load: async () => (await import('./pages/kv.ts')).renderKv },
  { pattern: /^\/operator\/?$/, title: 'Operator', nav: 'operator', rootOnly: true, load: async () => (await import('./pages/operator.ts')).renderOperator },
];

let leave: (() => void) | undefined;
let main: HTMLElement;
let nav: HTMLElement;
let who: HTMLElement;

function shell(): void {
  main = h('main', { id: 'main', tabindex: '-1' });
  nav = h('nav', { 'aria-label': 'Main' });
  who = h('div', { class: 'who' });
  document.body.replaceChildren(
    h('a', { class: 'skip', href: '#main', onclick: (e: Event) => (e.preventDefault(), main.focus()) }, 'Skip to content'),
    h('header', { class: 'top' }, h('a', { class: 'brand', href: '#/functions' }, 'faas console'), nav, who),
    main,
    statusRegion(),
  );
}

function renderChrome(s: Session | null, active?: string): void {
  const links: [string, string][] = [
    ['functions', 'Functions'],
    ['playground', 'Playground'],
    ['kv', 'KV'],
  ];
  if (s?.principal.kind === 'root') links.push(['operator', 'Operator']);
  replace(
    nav,
    s ? h('ul', null, links.map(([id, label]) => h('li', null, h('a', { href: `#/${id}`, 'aria-current': id === active ? 'page' : null }, label)))) : null,
  );
  replace(
    who,
    s
      ? [
          h('span', { class: 'principal' }, s.principal.kind === 'root' ? 'operator (root)' : `tenant ${s.principal.tenant}`),
          h('button', { type: 'button', class: 'secondary', onclick: () => void signOut().then(route) }, 'Sign out'),
        ]
      : null,
  );
}

async function route(): Promise<void> {
  leave?.();
  leave = undefined;
  const s = currentSession();
  if (!s) {
    renderChrome(null);
    document.title = 'Sign in · faas console';
    renderSignIn(main, () => void route());
    return;
  }
  const hash = location.hash.replace(/^#/, '') || '/functions';
  const [path, query = ''] = hash.split('?', 2) as [string, string?];
  const r = ROUTES.find((x) => x.pattern.test(path));
  if (!r || (r.rootOnly && s.principal.kind !== 'root')) {
    renderChrome(s);
    document.title = 'Not found · faas console';
    replace(main, h('h1', null, 'Not found'), h('p', null, 'No console page here. ', h('a', { href: '#/functions' }, 'Back to functions')));
    return;
  }
  const params: Record<string, string> = { ...(r.pattern.exec(path)?.groups ?? {}) };
  for (const [k, v] of new URLSearchParams(query)) params[k] = v;
  renderChrome(s, r.nav);
  document.title = `${params.name ?? r.title} · faas console`;
  replace(main, h('p', { class: 'loading' }, 'Loading…'));
  try {
    const page = await r.load();
    main.replaceChildren();
    const cleanup = await page(main, params);
    if (typeof cleanup === 'function') leave = cleanup;
  } catch (err) {
    replace(main, h('h1', null, r.title), h('p', { class: 'error', role: 'alert' }, (err as Error).message));
  }
}

async function start(): Promise<void> {
  shell();
  whenSignedOut(() => {
    announce('Your session ended: sign in again.');
    void route();
  });
  await loadSession();
  window.addEventListener('hashchange', () => void route());
  await route();
}

void start();
