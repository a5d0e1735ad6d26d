import { api, enc } from '../api.ts';
import { NAME_PATTERN, field, fmtBytes, fmtNumber, fmtTime, h, replace, scroller, table, uid, type Child } from '../dom.ts';
import { announce } from '../status.ts';

interface Tenant {
  name: string;
  createdAt: string;
  quota: Record<string, number>;
  functions: number;
  kvBytes: number;
}
interface Token {
  id: string;
  tenant: string;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}
interface Health {
  phase: string;
  uptimeSeconds: number;
  functions: number;
  instances: number;
  guestMemoryBytes: number;
  queueDepth: number;
  inflight: number;
  background: number;
  maxConcurrent: number;
  maxQueue: number;
  workers: { worker: number; state: string; inflight: number; invocations: number; restarts: number; warm: number }[];
  workerRestarts: number;
  process: { rssBytes: number; heapUsedBytes: number };
  window: { t: number[]; requests: number[]; errors: number[]; shed: number[]; queueDepth: number[]; inflight: number[]; instances: number[]; shedTotal: number; intervalMs: number };
}
interface AuditEntry {
  id: number;
  at: string;
  tenant: string | null;
  token: string | null;
  action: string;
  target: string | null;
  outcome: string;
  detail: Record<string, unknown> | null;
}
type Figures = { invocations: number; errors: number; cpuMs: number; wallMs: number; egressBytes: number; kvOps: number };

const QUOTAS: [string, string][] = [
  ['functions', 'Functions'],
  ['memoryMb', 'Memory (MB, summed)'],
  ['cpuMs', 'CPU ms (per function)'],
  ['timeoutMs', 'Timeout ms (per function)'],
  ['kvBytes', 'KV bytes'],
  ['requestsPerSecond', 'Requests per second'],
  ['burst', 'Burst'],
];

/** The operator's view: gateway health, tenants and their quotas and usage, tokens, the audit log. */
export async function renderOperator(main: HTMLElement): Promise<() => void> {
  const health = h('div');
  const charts = h('div', { class: 'charts' });
  const tenants = h('div');
  const tokens = h('div');
  const usage = scroller('Usage');
  const audit = scroller('Audit log');
  replace(
    main,
    h('h1', null, 'Operator'),
    section('Gateway health', health, charts),
    section('Tenants and quotas', tenants),
    section('Tokens', tokens),
    section('Usage (last 24 hours)', usage),
    section('Audit log', audit),
  );

  const { chart } = await import('../charts.ts');
  let made: ReturnType<typeof chart>[] | undefined;
  const loadHealth = async () => {
    const hs = await api<Health>('GET', '/admin/health');
    replace(
      health,
      h(
        'dl',
        { class: 'pairs grid-pairs' },
        pairs([
          ['Phase', hs.phase],
          ['Uptime', `${fmtNumber(hs.uptimeSeconds)} s`],
          ['Functions', fmtNumber(hs.functions)],
          ['Resident instances', fmtNumber(hs.instances)],
          ['Guest memory', fmtBytes(hs.guestMemoryBytes)],
          ['Queue depth', `${hs.queueDepth} of ${hs.maxQueue}`],
          ['In flight', `${hs.inflight} of ${hs.maxConcurrent} (${hs.background} background)`],
          ['Shed requests (since start)', fmtNumber(hs.window.shedTotal)],
          ['Worker threads', hs.workers.length ? `${hs.workers.length} (${hs.workerRestarts} restarts)` : 'none: guests run on the gateway thread'],
          ['Gateway RSS', fmtBytes(hs.process.rssBytes)],
        ]),
      ),
      hs.workers.length
        ? scroller('Worker threads', table('Worker threads', ['Worker', 'State', 'In flight', 'Invocations', 'Restarts', 'Warm functions'], hs.workers.map((w) => [String(w.worker), w.state, String(w.inflight), fmtNumber(w.invocations), String(w.restarts), String(w.warm)])))
        : null,
    );
    const w = hs.window;
    const per = `per ${w.intervalMs / 1000} s`;
    const series: [string, string, { label: string; values: number[] }[]][] = [
      ['Requests', per, [{ label: 'requests', values: w.requests }, { label: 'errors', values: w.errors }, { label: 'shed', values: w.shed }]],
      ['Queue and slots', 'requests', [{ label: 'queue depth', values: w.queueDepth }, { label: 'in flight', values: w.inflight }]],
      ['Resident instances', 'instances', [{ label: 'instances', values: w.instances }]],
    ];
    if (!made) {
      made = series.map(([title, unit, lines]) => chart(title, unit, w.t, lines));
      replace(charts, made.map((c) => c.el));
    } else series.forEach(([, , lines], i) => made![i]!.update(w.t, lines));
  };

  const loadTenants = async () => {
    const list = await api<Tenant[]>('GET', '/admin/tenants');
    const name = h('input', { type: 'text', name: 'tenant', required: true, pattern: NAME_PATTERN, autocomplete: 'off' });
    replace(
      tenants,
      scroller(
        'Tenants',
        table(
          'Tenants',
          ['Tenant', 'Functions', 'KV bytes', 'Quota', 'Created', 'Edit quota'],
          list.map((t) => [t.name, String(t.functions), fmtBytes(t.kvBytes), quotaText(t.quota), fmtTime(t.createdAt), quotaForm(t, loadTenants)]),
          { captionHidden: true },
        ),
      ),
      h(
        'form',
        {
          class: 'inline',
          'aria-label': 'Create a tenant',
          onsubmit: async (e: Event) => {
            e.preventDefault();
            try {
              await api('POST', '/admin/tenants', { name: name.value.trim() });
              announce(`Tenant ${name.value} created.`);
              await Promise.all([loadTenants(), loadTokens()]);
            } catch (err) {
              announce((err as Error).message, 'error');
            }
          },
        },
        field('New tenant', name),
        h('button', { type: 'submit' }, 'Create tenant'),
      ),
    );
    return list;
  };

  const tokenTenant = h('select', { name: 'token-tenant' });
  const loadTokens = async () => {
    const list = await api<Tenant[]>('GET', '/admin/tenants');
    const chosen = tokenTenant.value || list[0]?.name || 'default';
    replace(tokenTenant, list.map((t) => h('option', { value: t.name, selected: t.name === chosen }, t.name)));
    const issued = h('div', { role: 'status' });
    const label = h('input', { type: 'text', name: 'label', maxlength: 128, autocomplete: 'off' });
    const rows = (await api<Token[]>('GET', `/admin/tenants/${enc(chosen)}/tokens`)).map((tk) => [
      h('code', null, tk.id),
      tk.label ?? '—',
      fmtTime(tk.createdAt),
      tk.revokedAt ? `revoked ${fmtTime(tk.revokedAt)}` : 'live',
      tk.revokedAt
        ? ''
        : h(
            'button',
            {
              type: 'button',
              class: 'danger small',
              'aria-label': `Revoke token ${tk.id}`,
              onclick: async () => {
                if (!confirm(`Revoke token ${tk.id} of ${chosen}? It stops working at once.`)) return;
                try {
                  await api('DELETE', `/admin/tenants/${enc(chosen)}/tokens/${enc(tk.id)}`);
                  announce(`Token ${tk.id} revoked.`);
                  await loadTokens();
                } catch (err) {
                  announce((err as Error).message, 'error');
                }
              },
            },
            'Revoke',
          ),
    ]);
    replace(
      tokens,
      h('div', { class: 'toolbar' }, field('Tenant', tokenTenant)),
      scroller(`Tokens of ${chosen}`, table(`Tokens of ${chosen}`, ['Id', 'Label', 'Issued', 'State', 'Action'], rows, { empty: 'No tokens.' })),
      h(
        'form',
        {
          class: 'inline',
          'aria-label': 'Issue a token',
          onsubmit: async (e: Event) => {
            e.preventDefault();
            try {
              const t = await api<{ token: string; id: string }>('POST', `/admin/tenants/${enc(chosen)}/tokens`, label.value ? { label: label.value } : {});
              replace(issued, h('p', null, `Token ${t.id} for ${chosen}, shown this once: copy it now.`), h('output', { class: 'secret-once' }, t.token));
              announce(`Token ${t.id} issued.`);
            } catch (err) {
              announce((err as Error).message, 'error');
            }
          },
        },
        field('Label', label),
        h('button', { type: 'submit' }, 'Issue token'),
      ),
      issued,
    );
  };
  tokenTenant.addEventListener('change', () => void loadTokens());

  const loadUsage = async () => {
    const from = new Date(Date.now() - 24 * 3600_000).toISOString();
    const u = await api<{ tenants: Record<string, Figures>; functions: Record<string, Figures> }>('GET', `/admin/usage?from=${enc(from)}`);
    const row = (k: string, f: Figures): Child[] => [k, fmtNumber(f.invocations), fmtNumber(f.errors), fmtNumber(f.cpuMs, 1), fmtNumber(f.wallMs, 0), fmtBytes(f.egressBytes), fmtNumber(f.kvOps)];
    replace(
      usage,
      table('Usage per tenant', ['Tenant', 'Invocations', 'Errors', 'CPU ms', 'Wall ms', 'Egress', 'KV ops'], Object.entries(u.tenants).map(([k, f]) => row(k, f)), { empty: 'No usage in the last 24 hours.' }),
      table('Usage per function', ['Tenant/function', 'Invocations', 'Errors', 'CPU ms', 'Wall ms', 'Egress', 'KV ops'], Object.entries(u.functions).map(([k, f]) => row(k, f)), { empty: 'No usage in the last 24 hours.' }),
    );
  };

  const loadAudit = async () => {
    const entries = await api<AuditEntry[]>('GET', '/admin/audit?limit=100');
    replace(
      audit,
      table(
        'The last 100 admin actions',
        ['Time', 'Tenant', 'Token', 'Action', 'Target', 'Outcome', 'Detail'],
        entries.map((e) => [fmtTime(e.at), e.tenant ?? '—', e.token ?? '—', e.action, e.target ?? '—', h('span', { class: e.outcome === 'ok' ? null : 'bad' }, e.outcome), e.detail ? h('code', null, JSON.stringify(e.detail).slice(0, 200)) : '—']),
      ),
    );
  };

  const fail = (where: HTMLElement) => (err: unknown) => replace(where, h('p', { class: 'error', role: 'alert' }, (err as Error).message));
  await Promise.all([loadHealth().catch(fail(health)), loadTenants().catch(fail(tenants)), loadTokens().catch(fail(tokens)), loadUsage().catch(fail(usage)), loadAudit().catch(fail(audit))]);
  const timer = setInterval(() => void loadHealth().catch(() => {}), 5000);
  return () => {
    clearInterval(timer);
    for (const c of made ?? []) c.destroy();
  };
}

function section(title: string, ...body: HTMLElement[]): HTMLElement {
  const id = uid('s');
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), body);
}

function pairs(items: [string, string][]): Child[] {
  return items.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v)));
}

function quotaText(q: Record<string, number>): string {
  const set = QUOTAS.filter(([k]) => q[k] !== undefined).map(([k]) => `${k} ${fmtNumber(q[k])}`);
  return set.length ? set.join(', ') : 'unlimited';
}

function quotaForm(t: Tenant, reload: () => Promise<unknown>): HTMLElement {
  const inputs = QUOTAS.map(([k, label]) => [k, h('input', { type: 'number', min: 0, step: 'any', name: k, value: t.quota[k] ?? '', placeholder: 'unlimited', 'aria-label': `${label} for ${t.name}` })] as const);
  return h(
    'details',
    null,
    h('summary', null, `Quota of ${t.name}`),
    h(
      'form',
      {
        class: 'quota',
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const quota: Record<string, number> = {};
          for (const [k, input] of inputs) if (input.value !== '') quota[k] = Number(input.value);
          try {
            await api('PUT', `/admin/tenants/${enc(t.name)}/quota`, quota);
            announce(`Quota of ${t.name} saved.`);
            await reload();
          } catch (err) {
            announce((err as Error).message, 'error');
          }
        },
      },
      inputs.map(([k, input]) => h('label', { class: 'quota-field' }, QUOTAS.find(([q]) => q === k)![1], input)),
      h('button', { type: 'submit', class: 'small' }, 'Save quota'),
    ),
  );
}
