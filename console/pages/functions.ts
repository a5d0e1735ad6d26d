import { api, currentSession, enc, raw, type FunctionView, type Summary } from '../api.ts';
import { NAME_PATTERN, field, fmtMs, fmtNumber, h, replace, scroller, table } from '../dom.ts';
import { sparkline } from '../sparkline.ts';
import { announce } from '../status.ts';

/** Rows asked for at a time: the listing is paged by name, so a tenant with 100,000 functions loads a page, not all. */
const PAGE = 100;
/** The admin API's largest page: a refresh re-reads what is shown in one request. */
const MAX_PAGE = 1000;

/**
 * The tenant's functions (all of them for the operator) with the last hour's figures, a page at a
 * time ("Show more" follows the listing's cursor; a name prefix filters on the server); refreshed
 * every 10 s.
 */
export function renderFunctions(main: HTMLElement): () => void {
  const root = currentSession()?.principal.kind === 'root';
  const holder = scroller('Deployed functions');
  const name = h('input', { type: 'text', name: 'name', pattern: NAME_PATTERN, required: true, placeholder: 'my-function', autocomplete: 'off' });
  const create = h(
    'form',
    {
      class: 'inline',
      'aria-label': 'New function',
      onsubmit: (e: Event) => {
        e.preventDefault();
        location.hash = `#/playground?fn=${enc(name.value.trim())}&new=1`;
      },
    },
    field('New function', name, 'lower-case letters, digits and "-"'),
    h('button', { type: 'submit' }, 'Create in playground'),
  );
  const filter = h('input', { type: 'search', name: 'prefix', autocomplete: 'off', placeholder: 'name starts with…', oninput: () => void reload() });
  const more = h('button', { type: 'button', class: 'small', hidden: true, onclick: () => void showMore() }, 'Show more');
  replace(
    main,
    h('h1', null, 'Functions'),
    create,
    h(
      'section',
      { 'aria-labelledby': 'fn-list' },
      h('h2', { id: 'fn-list', class: 'visually-hidden' }, 'Deployed functions'),
      h('form', { class: 'inline', role: 'search', 'aria-label': 'Filter functions', onsubmit: (e: Event) => e.preventDefault() }, field('Filter', filter)),
      holder,
      more,
    ),
  );

  let shown: FunctionView[] = [];
  let next: string | undefined;
  // Typing in the filter starts reads that may answer out of order: only the latest one is shown.
  let generation = 0;
  const page = async (after: string | undefined, limit: number): Promise<{ rows: FunctionView[]; next: string | undefined }> => {
    const q = new URLSearchParams({ limit: String(limit) });
    const prefix = filter.value.trim();
    if (prefix) q.set('prefix', prefix);
    if (after) q.set('cursor', after);
    const res = await raw('GET', `/admin/functions?${q}`);
    return { rows: (await res.json()) as FunctionView[], next: res.headers.get('x-faas-next-cursor') ?? undefined };
  };
  const showMore = async () => {
    const g = generation;
    try {
      const got = await page(next, PAGE);
      if (g !== generation) return;
      shown = [...shown, ...got.rows];
      next = got.next;
      await render();
    } catch (err) {
      announce((err as Error).message, 'error');
    }
  };
  // A refresh (or a new filter) reads again as many rows as are shown, from the first.
  const reload = async () => {
    const g = ++generation;
    const got = await page(undefined, Math.min(MAX_PAGE, Math.max(PAGE, shown.length)));
    if (g !== generation) return;
    shown = got.rows;
    next = got.next;
    await render();
  };

  const render = async () => {
    const stats = await api<{ functions: Record<string, Summary> }>('GET', '/admin/stats');
    const fns = [...shown].sort((a, b) => a.name.localeCompare(b.name));
    more.hidden = next === undefined;
    const head = ['Name', 'Version', ...(root ? ['Tenant'] : []), 'Routes', 'Invocations (1 h)', 'Errors (1 h)', 'p50', 'p99', 'Requests per minute', 'Actions'];
    const rows = fns.map((f) => {
      const s = stats.functions[f.name];
      return [
        h('a', { href: `#/functions/${enc(f.name)}` }, f.name),
        f.split ? `v${f.version} (split: ${f.split.map((x) => `v${x.version} ${x.percent}%`).join(', ')})` : `v${f.version}`,
        ...(root ? [f.tenant] : []),
        f.config.routes.length ? h('ul', { class: 'plain' }, f.config.routes.map((r) => h('li', null, h('code', null, r)))) : h('code', null, `/fn/${f.name}`),
        fmtNumber(s?.invocations),
        h('span', { class: s && s.errors > 0 ? 'bad' : null }, fmtNumber(s?.errors)),
        fmtMs(s?.p50Ms),
        fmtMs(s?.p99Ms),
        sparkline(s?.perMinute ?? [], `${f.name}: ${fmtNumber(s?.invocations)} requests in the last hour`),
        h(
          'button',
          {
            type: 'button',
            class: 'danger small',
            'aria-label': `Delete ${f.name}`,
            onclick: async () => {
              if (!confirm(`Delete function ${f.name}? Its versions go with it.`)) return;
              try {
                await api('DELETE', `/admin/functions/${enc(f.name)}`);
                announce(`Deleted ${f.name}.`);
                await reload();
              } catch (err) {
                announce((err as Error).message, 'error');
              }
            },
          },
          'Delete',
        ),
      ];
    });
    replace(holder, table('Deployed functions', head, rows, { empty: 'No functions yet: create one in the playground.', captionHidden: true }));
  };
  void reload().catch((err) => replace(holder, h('p', { class: 'error', role: 'alert' }, (err as Error).message)));
  const timer = setInterval(() => void reload().catch(() => {}), 10_000);
  return () => clearInterval(timer);
}
