import { api, currentSession, enc, type FunctionView, type Summary } from '../api.ts';
import { NAME_PATTERN, field, fmtMs, fmtNumber, h, replace, scroller, table } from '../dom.ts';
import { sparkline } from '../sparkline.ts';
import { announce } from '../status.ts';

/** The tenant's functions (all of them for the operator) with the last hour's figures; refreshed every 10 s. */
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
  replace(main, h('h1', null, 'Functions'), create, h('section', { 'aria-labelledby': 'fn-list' }, h('h2', { id: 'fn-list', class: 'visually-hidden' }, 'Deployed functions'), holder));

  const load = async () => {
    const [fns, stats] = await Promise.all([api<FunctionView[]>('GET', '/admin/functions'), api<{ functions: Record<string, Summary> }>('GET', '/admin/stats')]);
    fns.sort((a, b) => a.name.localeCompare(b.name));
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
                await load();
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
  void load().catch((err) => replace(holder, h('p', { class: 'error', role: 'alert' }, (err as Error).message)));
  const timer = setInterval(() => void load().catch(() => {}), 10_000);
  return () => clearInterval(timer);
}
