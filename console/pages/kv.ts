import { api, currentSession, enc } from '../api.ts';
import { NAME_PATTERN, field, fmtBytes, fmtTime, h, replace, scroller, table } from '../dom.ts';
import { announce } from '../status.ts';

interface Namespaces {
  tenant: string;
  namespaces: { name: string; functions: string[]; stored: boolean }[];
}
interface ListResult {
  keys: { name: string; expiration?: number; metadata?: unknown }[];
  list_complete: boolean;
  cursor?: string;
}
interface Entry {
  key: string;
  value: string;
  encoding: 'utf8' | 'base64';
  bytes: number;
  metadata: unknown;
  expiration: number | null;
}

const PAGE = 50;

/** Browse a namespace's keys by prefix, page by page; view, edit and delete values and their metadata. */
export async function renderKv(main: HTMLElement, params: Record<string, string>): Promise<void> {
  const root = currentSession()?.principal.kind === 'root';
  const tenant = h('input', { type: 'text', name: 'tenant', value: params.tenant ?? 'default', autocomplete: 'off', pattern: NAME_PATTERN });
  const ns = h('select', { name: 'namespace' });
  const prefix = h('input', { type: 'search', name: 'prefix', autocomplete: 'off', spellcheck: 'false' });
  const listing = scroller('Keys');
  const pager = h('div', { class: 'pager' });
  const key = h('input', { type: 'text', name: 'key', autocomplete: 'off', spellcheck: 'false', required: true });
  const value = h('textarea', { name: 'value', rows: 8, spellcheck: 'false', class: 'mono' });
  const metadata = h('textarea', { name: 'metadata', rows: 3, spellcheck: 'false', class: 'mono', placeholder: '{"tag": "…"}' });
  const ttl = h('input', { type: 'number', name: 'ttl', min: 1, step: 1, placeholder: 'none' });
  const entryInfo = h('p', { class: 'muted', role: 'status' });
  let cursors: (string | undefined)[] = [undefined];
  let pageIndex = 0;
  let encoding: 'utf8' | 'base64' = 'utf8';

  const q = (extra: Record<string, string> = {}) => {
    const p = new URLSearchParams(extra);
    if (root && tenant.value.trim()) p.set('tenant', tenant.value.trim());
    return p.toString();
  };

  const loadNamespaces = async () => {
    const res = await api<Namespaces>('GET', `/admin/kv?${q()}`);
    const current = ns.value || params.ns;
    replace(
      ns,
      res.namespaces.length === 0 ? h('option', { value: '' }, 'no namespaces') : res.namespaces.map((n) => h('option', { value: n.name, selected: n.name === current }, `${n.name}${n.functions.length ? ` (${n.functions.join(', ')})` : ''}`)),
    );
  };

  const list = async () => {
    if (!ns.value) {
      replace(listing, h('p', { class: 'muted' }, 'This tenant has no KV namespace yet: bind one in a function’s config ("kv": ["NAME"]).'));
      pager.replaceChildren();
      return;
    }
    const res = await api<ListResult>('GET', `/admin/kv/${enc(ns.value)}/keys?${q({ prefix: prefix.value, limit: String(PAGE), ...(cursors[pageIndex] ? { cursor: cursors[pageIndex]! } : {}) })}`);
    cursors = cursors.slice(0, pageIndex + 1);
    if (!res.list_complete) cursors.push(res.cursor);
    replace(
      listing,
      table(
        `Keys in ${ns.value}${prefix.value ? ` starting with "${prefix.value}"` : ''}`,
        ['Key', 'Expires', 'Metadata', 'Action'],
        res.keys.map((k) => [
          h('code', null, k.name),
          k.expiration ? fmtTime(k.expiration * 1000) : 'never',
          k.metadata === undefined ? '—' : h('code', null, JSON.stringify(k.metadata)),
          h('button', { type: 'button', class: 'small secondary', 'aria-label': `Open ${k.name}`, onclick: () => void open(k.name) }, 'Open'),
        ]),
        { empty: 'No keys.' },
      ),
    );
    replace(
      pager,
      h('button', { type: 'button', class: 'secondary', disabled: pageIndex === 0, onclick: () => void ((pageIndex = Math.max(0, pageIndex - 1)), list()) }, 'Previous page'),
      h('span', { class: 'muted' }, ` page ${pageIndex + 1} `),
      h('button', { type: 'button', class: 'secondary', disabled: res.list_complete, onclick: () => void ((pageIndex += 1), list()) }, 'Next page'),
    );
  };

  const open = async (k: string) => {
    try {
      const e = await api<Entry>('GET', `/admin/kv/${enc(ns.value)}/value?${q({ key: k })}`);
      key.value = e.key;
      value.value = e.value;
      encoding = e.encoding;
      metadata.value = e.metadata === null || e.metadata === undefined ? '' : JSON.stringify(e.metadata, null, 2);
      ttl.value = '';
      entryInfo.textContent = `${fmtBytes(e.bytes)}${e.encoding === 'base64' ? ', binary (shown as base64)' : ''}${e.expiration ? `, expires ${fmtTime(e.expiration * 1000)}` : ''}`;
      value.focus();
    } catch (err) {
      announce((err as Error).message, 'error');
    }
  };

  const save = async (e: Event) => {
    e.preventDefault();
    let meta: unknown;
    if (metadata.value.trim()) {
      try {
        meta = JSON.parse(metadata.value);
      } catch (err) {
        announce(`Metadata is not valid JSON: ${(err as Error).message}`, 'error');
        return;
      }
    }
    try {
      await api('PUT', `/admin/kv/${enc(ns.value)}/value?${q({ key: key.value })}`, {
        value: value.value,
        encoding,
        ...(meta === undefined ? {} : { metadata: meta }),
        ...(ttl.value ? { expirationTtl: Number(ttl.value) } : {}),
      });
      announce(`Saved ${key.value}.`);
      await Promise.all([list(), open(key.value)]);
    } catch (err) {
      announce((err as Error).message, 'error');
    }
  };

  const remove = async () => {
    if (!key.value || !confirm(`Delete key ${key.value}?`)) return;
    try {
      await api('DELETE', `/admin/kv/${enc(ns.value)}/value?${q({ key: key.value })}`);
      announce(`Deleted ${key.value}.`);
      key.value = value.value = metadata.value = '';
      entryInfo.textContent = '';
      await list();
    } catch (err) {
      announce((err as Error).message, 'error');
    }
  };

  const restart = () => {
    cursors = [undefined];
    pageIndex = 0;
    void list().catch((err) => announce((err as Error).message, 'error'));
  };
  ns.addEventListener('change', restart);

  replace(
    main,
    h('h1', null, 'KV'),
    h(
      'form',
      { class: 'toolbar card', 'aria-label': 'Choose keys', onsubmit: (e: Event) => (e.preventDefault(), restart()) },
      root ? field('Tenant', tenant) : null,
      root ? h('button', { type: 'button', class: 'secondary', onclick: () => void loadNamespaces().then(restart) }, 'Load namespaces') : null,
      field('Namespace', ns),
      field('Key prefix', prefix),
      h('button', { type: 'submit' }, 'List keys'),
    ),
    h('div', { class: 'side-by-side' }, h('section', { class: 'card', 'aria-labelledby': 'kv-keys' }, h('h2', { id: 'kv-keys' }, 'Keys'), listing, pager), h(
      'section',
      { class: 'card', 'aria-labelledby': 'kv-entry' },
      h('h2', { id: 'kv-entry' }, 'Selected key'),
      h(
        'form',
        { onsubmit: save },
        field('Key', key),
        field('Value', value),
        field('Metadata (JSON)', metadata),
        field('Expire after (seconds)', ttl),
        entryInfo,
        h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save'), h('button', { type: 'button', class: 'danger', onclick: () => void remove() }, 'Delete')),
      ),
    )),
  );
  await loadNamespaces();
  await list();
}
