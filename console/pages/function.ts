import { api, enc, type FunctionView, type VersionView } from '../api.ts';
import { fmtBytes, fmtTime, h, replace, scroller, table, uid, type Child } from '../dom.ts';
import { liveLogs } from '../logs.ts';
import { announce } from '../status.ts';

interface Window {
  t: number[];
  requests: number[];
  errors: number[];
  errorsByCode: Record<string, number[]>;
  p50Ms: (number | null)[];
  p99Ms: (number | null)[];
  cpuMs: number[];
  memoryBytes: number[];
  intervalMs: number;
}

/** One function: its config, versions (rollback, split), charts of the last hour and live logs. */
export async function renderFunction(main: HTMLElement, params: Record<string, string>): Promise<() => void> {
  const name = params.name!;
  const overview = h('div');
  const versions = h('div');
  const charts = h('div', { class: 'charts' });
  const logs = liveLogs(name);
  replace(
    main,
    h('h1', null, name),
    h('p', { class: 'actions' }, h('a', { class: 'button secondary', href: `#/playground?fn=${enc(name)}` }, 'Open in playground')),
    section('Overview and config', overview),
    section('Versions', versions),
    section('Last hour', charts),
    section('Live logs', logs.el),
  );

  const loadFunction = async () => {
    const [fn, vs] = await Promise.all([api<FunctionView>('GET', `/admin/functions/${enc(name)}`), api<VersionView[]>('GET', `/admin/functions/${enc(name)}/versions`)]);
    replace(overview, configView(fn));
    replace(versions, versionsView(name, vs, loadFunction));
  };
  await loadFunction();

  const { chart } = await import('../charts.ts');
  type C = ReturnType<typeof chart>;
  let made: C[] | undefined;
  const loadCharts = async () => {
    const w = await api<Window>('GET', `/admin/functions/${enc(name)}/stats`);
    const per = `per ${w.intervalMs / 1000} s`;
    const series: [string, string, { label: string; values: (number | null)[] }[]][] = [
      ['Requests', per, [{ label: 'requests', values: w.requests }]],
      [
        'Errors by code',
        per,
        Object.keys(w.errorsByCode).length ? Object.entries(w.errorsByCode).map(([code, values]) => ({ label: code, values })) : [{ label: 'errors', values: w.errors }],
      ],
      ['Latency', 'ms', [{ label: 'p50', values: w.p50Ms }, { label: 'p99', values: w.p99Ms }]],
      ['Guest CPU time', `ms ${per}`, [{ label: 'cpu', values: w.cpuMs }]],
      ['Guest memory', 'bytes', [{ label: 'heap', values: w.memoryBytes }]],
    ];
    if (!made) {
      made = series.map(([title, unit, lines]) => chart(title, unit, w.t, lines));
      replace(charts, made.map((c) => c.el));
    } else series.forEach(([, , lines], i) => made![i]!.update(w.t, lines));
  };
  await loadCharts().catch((err) => replace(charts, h('p', { class: 'error', role: 'alert' }, (err as Error).message)));
  const timer = setInterval(() => void loadCharts().catch(() => {}), 5000);
  return () => {
    clearInterval(timer);
    logs.close();
    for (const c of made ?? []) c.destroy();
  };
}

function section(title: string, body: HTMLElement): HTMLElement {
  const id = uid('s');
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), body);
}

function configView(fn: FunctionView): HTMLElement {
  const c = fn.config;
  const dl = (pairs: [string, Child][]) => h('dl', { class: 'pairs' }, pairs.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
  const list = (items: string[], none = 'none') => (items.length ? h('ul', { class: 'plain' }, items.map((i) => h('li', null, h('code', null, i)))) : none);
  const secrets = fn.secretNames ?? [];
  return h(
    'div',
    { class: 'grid2' },
    dl([
      ['Version', `v${fn.version}`],
      ['Tenant', fn.tenant],
      ['Deployed', fmtTime(fn.deployedAt)],
      ['Origin', fn.origin],
      ['sha256', h('code', null, fn.sha256.slice(0, 16))],
      ['Bytecode', fmtBytes(fn.bytecodeBytes)],
      ['Traffic', fn.split ? fn.split.map((s) => `v${s.version}: ${s.percent}%`).join(', ') : `v${fn.version}: 100%`],
    ]),
    dl([
      ['Memory', `${c.memoryMb} MB`],
      ['CPU per invocation', `${c.cpuMs} ms`],
      ['Timeout', `${c.timeoutMs} ms`],
      ['Priority', String(c.priority)],
      ['Max concurrency', String(c.maxConcurrency)],
      ['Isolation', c.isolation ?? 'server default'],
      ['Rate limit', c.rateLimit ? `${c.rateLimit.requestsPerSecond}/s${c.rateLimit.burst ? `, burst ${c.rateLimit.burst}` : ''}` : 'none'],
    ]),
    dl([
      ['Routes', list([`/fn/${fn.name}`, ...c.routes])],
      ['Cron', list(c.crons)],
      ['Egress', list(c.allowedHosts, 'no hosts allowed')],
      ['KV namespaces', list(c.kv)],
      ['Env vars', list(Object.keys(c.env))],
      ['Secrets', secrets.length ? h('ul', { class: 'plain' }, secrets.map((s) => h('li', null, h('code', null, s), ' ', h('span', { class: 'badge' }, 'set')))) : 'none set'],
    ]),
  );
}

function versionsView(name: string, vs: VersionView[], reload: () => Promise<void>): HTMLElement {
  const percents = new Map<number, HTMLInputElement>();
  const rows = vs.map((v) => {
    const pct = h('input', { type: 'number', min: 0, max: 100, step: 1, value: v.percent, class: 'pct', 'aria-label': `Traffic percent for version ${v.version}` });
    percents.set(v.version, pct);
    return [
      `v${v.version}`,
      fmtTime(v.deployedAt),
      v.deployedBy ?? '—',
      v.origin,
      h('code', null, v.sha256.slice(0, 12)),
      v.percent > 0 ? h('strong', null, `${v.percent}%`) : '0%',
      pct,
      v.percent === 100
        ? h('span', { class: 'muted' }, 'live')
        : h(
            'button',
            {
              type: 'button',
              class: 'small',
              onclick: async () => {
                try {
                  await api('POST', `/admin/functions/${enc(name)}/rollback`, { version: v.version });
                  announce(`${name} now serves v${v.version} alone.`);
                  await reload();
                } catch (err) {
                  announce((err as Error).message, 'error');
                }
              },
            },
            `Roll back to v${v.version}`,
          ),
    ];
  });
  const applySplit = h(
    'button',
    {
      type: 'button',
      onclick: async () => {
        const split = [...percents].map(([version, input]) => ({ version, percent: Number(input.value) })).filter((s) => s.percent > 0);
        try {
          await api('PUT', `/admin/functions/${enc(name)}/deployment`, { split });
          announce(`Traffic split set: ${split.map((s) => `v${s.version} ${s.percent}%`).join(', ')}.`);
          await reload();
        } catch (err) {
          announce((err as Error).message, 'error');
        }
      },
    },
    'Apply split',
  );
  return h(
    'div',
    null,
    scroller(`Kept versions of ${name}`, table(`Kept versions of ${name}`, ['Version', 'Deployed', 'By', 'Origin', 'sha256', 'Traffic', 'New split %', 'Action'], rows, { captionHidden: true })),
    h('p', { class: 'hint' }, 'A gradual rollout: give kept versions percentages that sum to 100 and apply.'),
    applySplit,
  );
}
