// Turns one bench run into bench/results/latest.json, bench/results/cold-start.svg and BENCHMARKS.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { FootprintResult } from './footprint.ts';
import type { ColdHttpRow, Cores, Round, ThroughputRow } from './gateway.ts';
import type { PeerKind } from './peers/types.ts';

/**
 * faas as it ships (the Runtime's default engine and isolation, with the pre-warmed pool): ratios are
 * against it. The run finds the defaults out (Runtime.create) and records them in meta.defaults.
 */
export let REFERENCE_PEER = 'faas-bytecode-shared-pool';
let FOOTPRINT_REFERENCE = 'faas-bytecode-shared-nopool';
let DEFAULT_ISOLATION = 'shared';

export function useDefaults(d: { engine: string; isolation: string }): void {
  REFERENCE_PEER = `faas-${d.engine}-${d.isolation}-pool`;
  FOOTPRINT_REFERENCE = `faas-${d.engine}-${d.isolation}-nopool`;
  DEFAULT_ISOLATION = d.isolation;
}
const RESULTS_DIR = 'bench/results';

export interface ColdStats {
  status: string;
  n?: number;
  mean?: number;
  min?: number;
  p1?: number;
  p10?: number;
  p25?: number;
  p50?: number;
  p75?: number;
  p90?: number;
  p99?: number;
  max?: number;
  warmN?: number;
  warmP50?: number;
  warmP99?: number;
  /** The first response that differed from faas's (status or body). */
  mismatch?: string;
  /** Why the warm-invoke loop stopped (the cold-start figures stand). */
  warmError?: string;
}

export interface Target {
  name: string;
  target: string;
  value: string;
  pass: boolean;
  note?: string;
}

export interface Results {
  meta: ReturnType<typeof machineFacts> & { durationS: number; config: unknown; defaults: { engine: string; isolation: string } };
  workloads: { id: string; title: string; jsBytes: number; bytecodeBytes: number; sourceBytes: number; memoryMb: number }[];
  peers: { id: string; label: string; kind: PeerKind; method: string; status: string }[];
  /** workerd: a peer of the HTTP rounds and the footprint only (a process of its own, not in the cold-start rounds). */
  workerd?: { label: string; method: string; status: string; workers: number };
  /** workload → peer → stats (µs). */
  cold: Record<string, Record<string, ColdStats>>;
  footprint: FootprintResult[];
  gateway: { throughput: ThroughputRow[]; cold: ColdHttpRow[]; connections: number; durationSeconds: number; warmupSeconds: number };
  targets?: Target[];
}

function version(pkg: string): string {
  // Read the file directly: packages with an `exports` map (hono …) do not export their package.json.
  try {
    return (JSON.parse(readFileSync(join('node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

export function machineFacts(quick: boolean) {
  const cpus = os.cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout
  }
  return {
    date: new Date().toISOString(),
    quick,
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: { model: cpus[0]?.model.trim() ?? 'unknown', count: cpus.length, mhz: cpus[0]?.speed ?? 0 },
    totalMemGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    commit,
    versions: {
      'quickjs-wasi': version('quickjs-wasi'),
      'quickjs-emscripten-core': version('quickjs-emscripten-core'),
      '@jitl/quickjs-wasmfile-release-sync': version('@jitl/quickjs-wasmfile-release-sync'),
      'isolated-vm': version('isolated-vm'),
      hono: version('hono'),
      '@hono/node-server': version('@hono/node-server'),
      autocannon: version('autocannon'),
      validator: version('validator'),
      esbuild: version('esbuild'),
      workerd: version('workerd'),
    },
  };
}

// ------------------------------------------------------------------------------------------- formatting
const int = (x: number) => Math.round(x).toLocaleString('en-US');
const fmtUs = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : int(x));
const fmtMs = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const fmtRatio = (r: number) => (r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(2) : r.toFixed(2));
const kb = (bytes: number) => (bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`);

/** faas/peer, with the factor spelled out (`faster`/`slower` for time, `smaller`/`larger` for memory). */
function ratioCell(faas: number | undefined, peer: number | undefined, isReference: boolean, words: [string, string] = ['faster', 'slower']): string {
  if (isReference) return '1.00 (reference)';
  if (faas === undefined || peer === undefined) return '–';
  const r = faas / peer;
  return r <= 1 ? `${fmtRatio(r)} (faas ${(1 / r).toFixed(1)}× ${words[0]})` : `**${fmtRatio(r)}** (faas ${r.toFixed(1)}× ${words[1]})`;
}

function peerLabel(results: Results, id: string, fallback?: string): string {
  return results.peers.find((p) => p.id === id)?.label ?? fallback ?? id;
}

/** faas/workerd for a rate (higher is better): above 1 faas is faster; below 1 in bold, as where faas loses elsewhere. */
function rateRatioCell(faas: number, workerd: number | undefined): string {
  if (workerd === undefined || !(workerd > 0)) return '–';
  const r = faas / workerd;
  return r >= 1 ? `${fmtRatio(r)} (faas ${r.toFixed(1)}× faster)` : `**${fmtRatio(r)}** (faas ${(1 / r).toFixed(1)}× slower)`;
}

/** Rows of a latest.json from before workerd and the api rounds carry neither a workload nor a kind. */
const rowWorkload = (t: ThroughputRow) => t.workload ?? 'hello';
const rowKind = (t: ThroughputRow): ThroughputRow['kind'] => t.kind ?? (t.target === 'hono-ceiling' ? 'ceiling' : 'faas');

// --------------------------------------------------------------------------------------------- targets
function computeTargets(results: Results): Target[] {
  const targets: Target[] = [];
  const hello = results.cold.hello ?? {};
  const ref = hello[REFERENCE_PEER];
  if (ref?.p50 !== undefined) {
    const rivals = Object.entries(hello).filter(([id, s]) => s.p50 !== undefined && results.peers.find((p) => p.id === id)?.kind === 'peer');
    const faster = rivals.filter(([, s]) => s.p50! <= ref.p50!).map(([id, s]) => `${peerLabel(results, id)} (${fmtUs(s.p50)} µs)`);
    const source = hello[`${REFERENCE_PEER}-source`];
    const vs = rivals.map(([id, s]) => `${shortLabel(results.peers.find((p) => p.id === id)!)} ${fmtUs(s.p50)} µs`).join(', ');
    targets.push({
      name: 'Cold start p50, hello, faas default (pool)',
      target: '≤ 500 µs and faster than every peer',
      value: `${fmtUs(ref.p50)} µs`,
      pass: ref.p50 <= 500 && faster.length === 0,
      note:
        (faster.length ? `not faster than: ${faster.join(', ')}` : `peers: ${vs}`) +
        (source?.p50 !== undefined ? `; faas fed source (same sandbox) ${fmtUs(source.p50)} µs` : ''),
    });
  }
  const counts = [...new Set(results.footprint.filter((f) => f.workload === 'hello').map((f) => f.count))].sort((a, b) => b - a);
  const n = counts[0];
  const engine = results.meta.defaults.engine;
  for (const isolation of [DEFAULT_ISOLATION, DEFAULT_ISOLATION === 'shared' ? 'instance' : 'shared']) {
    const id = `faas-${engine}-${isolation}-nopool`;
    const f = results.footprint.find((x) => x.peer === id && x.workload === 'hello' && x.count === n && x.status === 'ok');
    if (!f) continue;
    targets.push({
      name: `Resident footprint per idle hello instance, ${engine}, isolation ${isolation}${isolation === DEFAULT_ISOLATION ? ' (default)' : ''}, ${n} resident`,
      target: '≤ 300 KB RSS',
      value: `${f.rssPerInstanceKB!.toFixed(0)} KB RSS (guest heap ${f.guestHeapPerInstanceKB!.toFixed(0)} KB)`,
      pass: f.rssPerInstanceKB! <= 300,
    });
  }
  const hellos = results.gateway.throughput.filter((t) => rowWorkload(t) === 'hello');
  const ceiling = hellos.find((t) => rowKind(t) === 'ceiling');
  for (const t of hellos.filter((x) => rowKind(x) === 'faas')) {
    if (!ceiling) break;
    const share = t.bestRps / ceiling.bestRps;
    const isDefault = t.target === REFERENCE_PEER.replace(/-pool$/, '');
    targets.push({
      name: `Warm gateway throughput, hello, ${t.label}${isDefault ? ' (default)' : ''}`,
      target: '≥ 50% of the bare Hono ceiling',
      value: `${int(t.bestRps)} req/s = ${(share * 100).toFixed(1)}% of ${int(ceiling.bestRps)} req/s (best rounds)`,
      pass: share >= 0.5,
    });
  }
  // The issue "Performance: beat workerd": the shipped configuration against workerd in the same run.
  const shipped = REFERENCE_PEER.replace(/-pool$/, '');
  for (const [workload, factor] of [['hello', 1.3], ['api', 1]] as const) {
    const rows = results.gateway.throughput.filter((t) => rowWorkload(t) === workload);
    const faas = rows.find((t) => t.target === shipped);
    const wd = rows.find((t) => rowKind(t) === 'workerd');
    if (!faas || !wd) continue;
    const r = faas.bestRps / wd.bestRps;
    targets.push({
      name: `Warm gateway throughput, ${workload}, ${faas.label} (default) vs workerd`,
      target: factor === 1 ? '≥ workerd' : `≥ ${factor}× workerd`,
      value: `${int(faas.bestRps)} vs ${int(wd.bestRps)} req/s = ${r.toFixed(2)}× (best rounds)`,
      pass: r >= factor,
    });
  }
  return targets;
}

// ------------------------------------------------------------------------------------------------- SVG
const COLORS: Record<string, string> = {
  'quickjs-emscripten': '#ea580c',
  'node-vm': '#6b7280',
  'isolated-vm': '#7c3aed',
};
const colorOf = (id: string) =>
  id === REFERENCE_PEER ? '#1d4ed8' : (COLORS[id] ?? (id.startsWith('faas-') ? (id.endsWith('-source') ? '#0891b2' : '#60a5fa') : '#9ca3af'));
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Chart rows: faas default first, then the foreign peers, then the other faas configurations. */
function chartOrder(peers: Results['peers']): Results['peers'] {
  const rank = (p: Results['peers'][number]) => (p.id === REFERENCE_PEER ? 0 : p.kind === 'peer' ? 1 : p.id.endsWith('-source') ? 2 : 3);
  return [...peers].sort((a, b) => rank(a) - rank(b));
}

/** `faas-bytecode-shared-nopool` → "faas bytecode · shared · no pool". */
export function shortLabel(p: Results['peers'][number]): string {
  const m = /^faas-(\w+)-(instance|shared)-(pool|nopool)(-source)?$/.exec(p.id);
  if (!m) return p.label.replace(/ \(.*\)$/, '');
  return `faas ${m[1]}${m[4] ? ' fed source' : ''} · ${m[2]} · ${m[3] === 'pool' ? 'pool' : 'no pool'}`;
}

export function renderColdSvg(results: Results): string {
  const W = 1080;
  const labelRight = 262;
  const x0 = 276;
  const x1 = 960;
  const rowH = 21;
  const panels = results.workloads.map((w) => ({
    w,
    rows: chartOrder(results.peers)
      .map((p) => ({ p, s: results.cold[w.id]?.[p.id] }))
      .filter((r): r is { p: Results['peers'][number]; s: ColdStats & { p50: number } } => r.s?.p50 !== undefined),
  }));
  const all = panels.flatMap((pn) => pn.rows.flatMap((r) => [r.s.p1 ?? r.s.p50, r.s.p99 ?? r.s.p50]));
  const lo = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...all))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all)));
  const x = (v: number) => x0 + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (x1 - x0);
  const ticks: number[] = [];
  for (let d = lo; d <= hi; d *= 10) for (const m of [1, 2, 5]) if (d * m <= hi) ticks.push(d * m);
  const tickLabel = (v: number) => (v >= 1_000_000 ? `${v / 1_000_000} s` : v >= 1000 ? `${v / 1000} ms` : `${v} µs`);

  const out: string[] = [];
  let y = 0;
  const header = 96;
  y = header;
  const body: string[] = [];
  for (const { w, rows } of panels) {
    body.push(`<text x="16" y="${y + 16}" class="panel">${esc(w.title)}</text>`);
    y += 26;
    const top = y;
    let previousRank = -1;
    for (const { p, s } of rows) {
      const rank = p.id === REFERENCE_PEER ? 0 : p.kind === 'peer' ? 1 : 2;
      if (previousRank >= 0 && rank !== previousRank) {
        body.push(`<line x1="16" x2="${x1}" y1="${y + 0.5}" y2="${y + 0.5}" class="sep"/>`);
      }
      previousRank = rank;
      const cy = y + rowH / 2;
      const c = colorOf(p.id);
      const strong = p.id === REFERENCE_PEER;
      body.push(`<text x="${labelRight}" y="${cy + 4}" class="${strong ? 'label ref' : 'label'}" text-anchor="end">${esc(shortLabel(p))}</text>`);
      const p1 = s.p1 ?? s.p50;
      const p99 = s.p99 ?? s.p50;
      const p10 = s.p10 ?? s.p50;
      const p90 = s.p90 ?? s.p50;
      body.push(`<line x1="${x(p1).toFixed(1)}" x2="${x(p99).toFixed(1)}" y1="${cy}" y2="${cy}" stroke="${c}" stroke-width="1.5"/>`);
      for (const v of [p1, p99]) body.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${cy - 5}" y2="${cy + 5}" stroke="${c}" stroke-width="1.5"/>`);
      body.push(
        `<rect x="${x(p10).toFixed(1)}" y="${cy - 6}" width="${Math.max(1.5, x(p90) - x(p10)).toFixed(1)}" height="12" fill="${c}" fill-opacity="0.35" stroke="${c}" stroke-width="1"/>`,
      );
      body.push(`<line x1="${x(s.p50).toFixed(1)}" x2="${x(s.p50).toFixed(1)}" y1="${cy - 8}" y2="${cy + 8}" stroke="${c}" stroke-width="3"/>`);
      body.push(`<text x="${x1 + 12}" y="${cy + 4}" class="${strong ? 'value ref' : 'value'}">${fmtUs(s.p50)} µs</text>`);
      y += rowH;
    }
    body.unshift(`<rect x="${x0}" y="${top}" width="${x1 - x0}" height="${y - top}" class="plot"/>`);
    for (const t of ticks) {
      body.unshift(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${top}" y2="${y}" class="${Math.log10(t) % 1 === 0 ? 'grid major' : 'grid'}"/>`);
    }
    y += 14;
  }
  const axisY = y;
  const axis = ticks.map((t) => `<text x="${x(t).toFixed(1)}" y="${axisY + 4}" class="tick" text-anchor="middle">${tickLabel(t)}</text>`);
  const axisTop = ticks.map((t) => `<text x="${x(t).toFixed(1)}" y="${header - 6}" class="tick" text-anchor="middle">${tickLabel(t)}</text>`);
  const missing = results.peers.filter((p) => p.status !== 'ok').map((p) => `${shortLabel(p)}: ${p.status}`);
  const foot = [
    `${results.meta.cpus.count} × ${results.meta.cpus.model}, ${results.meta.totalMemGiB} GiB, Node ${results.meta.node}, ${results.meta.date.slice(0, 10)}${results.meta.quick ? ' (--quick run)' : ''}. Log scale.`,
    ...(missing.length ? [`Not measured: ${missing.join('; ')}.`] : []),
  ];
  const H = axisY + 24 + foot.length * 16 + 8;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">`);
  out.push(`<style>
  .title { font-size: 18px; font-weight: 600; fill: #111827; }
  .sub { font-size: 12px; fill: #4b5563; }
  .panel { font-size: 13px; font-weight: 600; fill: #111827; }
  .label { font-size: 11.5px; fill: #374151; }
  .value { font-size: 11.5px; fill: #374151; font-variant-numeric: tabular-nums; }
  .ref { font-weight: 700; fill: #1e3a8a; }
  .tick { font-size: 10.5px; fill: #6b7280; }
  .foot { font-size: 10.5px; fill: #6b7280; }
  .plot { fill: #f9fafb; stroke: #e5e7eb; }
  .grid { stroke: #e5e7eb; stroke-width: 1; }
  .grid.major { stroke: #cbd5e1; }
  .sep { stroke: #d1d5db; stroke-dasharray: 3 3; }
</style>`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="16" y="28" class="title">Cold start: code in memory → first response (µs, log scale, lower is better)</text>`);
  out.push(
    `<text x="16" y="48" class="sub">Bar: p50 (value at right) · box: p10–p90 · whiskers: p1–p99. Every peer measured in the same process, interleaved rounds.</text>`,
  );
  const legend: [string, string][] = [
    [colorOf(REFERENCE_PEER), `faas default (${REFERENCE_PEER.replace(/^faas-/, '').replace(/-/g, ' · ')})`],
    [colorOf('faas-x'), 'other faas configurations'],
    [colorOf('faas-x-source'), 'faas fed source'],
    [COLORS['quickjs-emscripten']!, 'quickjs-emscripten'],
    [COLORS['node-vm']!, 'node:vm'],
    [COLORS['isolated-vm']!, 'isolated-vm'],
  ];
  let lx = 16;
  for (const [c, name] of legend) {
    out.push(`<rect x="${lx}" y="60" width="12" height="12" fill="${c}" fill-opacity="0.6" stroke="${c}"/>`);
    out.push(`<text x="${lx + 17}" y="70" class="sub">${esc(name)}</text>`);
    lx += 30 + name.length * 6.3;
  }
  out.push(...axisTop, ...body, ...axis);
  foot.forEach((line, i) => out.push(`<text x="16" y="${axisY + 26 + i * 16}" class="foot">${esc(line)}</text>`));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/**
 * What the rounds saw of workerd's threads: how many, which, and how the work spread over them (the
 * comparison with faas must know whether one thread or several served the requests).
 */
function workerdModel(rows: ThroughputRow[]): string | undefined {
  const parts: string[] = [];
  let names = '';
  let oneThread = true;
  for (const t of rows) {
    const rounds = t.rounds.filter((r) => r.threads?.length);
    if (!rounds.length) continue;
    const last = rounds[rounds.length - 1]!.threads!;
    const count = new Map<string, number>();
    for (const th of last) count.set(th.name, (count.get(th.name) ?? 0) + 1);
    names = `${last.length} threads (${[...count].map(([n, c]) => `${c} × "${n}"`).join(', ')})`;
    const mean = (f: (r: Round) => number) => rounds.reduce((a, r) => a + f(r), 0) / rounds.length;
    const busiest = mean((r) => r.threads![0]!.cores);
    const all = mean((r) => r.cores.server);
    if (busiest < 0.8 * all) oneThread = false;
    parts.push(`${rowWorkload(t)}: its busiest thread kept ${busiest.toFixed(2)} cores busy, all its threads together ${all.toFixed(2)}`);
  }
  if (!parts.length) return undefined;
  return (
    `workerd's model, as the rounds saw it (/proc): one process of ${names}, every worker an isolate of its own; ` +
    `${parts.join('; ')} (means of the rounds).` +
    (oneThread ? ' So one thread serves every request, as the faas gateway\'s one HTTP thread does; the other threads are V8\'s platform workers (GC, compilation).' : '')
  );
}

// -------------------------------------------------------------------------------------------- Markdown
export function renderMarkdown(results: Results): string {
  const m = results.meta;
  const L: string[] = [];
  const minutes = (m.durationS / 60).toFixed(1);
  L.push('# Benchmarks', '');
  L.push(
    `Generated by \`npm run bench${m.quick ? ' -- --quick' : ''}\` on ${m.date.slice(0, 16).replace('T', ' ')} UTC (commit ${m.commit}); the run took ${minutes} min. ` +
      'Raw figures: [bench/results/latest.json](bench/results/latest.json). Chart: [bench/results/cold-start.svg](bench/results/cold-start.svg).',
    '',
  );
  L.push(
    'Regenerate with `npm run bench` (full: ≈ 6–8 min) or `npm run bench -- --quick` (≈ 2 min: fewer samples, footprint with 200 instances only, 2 s load runs). ' +
      '`npm run bench:where` (≈ 1 min) re-measures the attribution in "Where the time goes"; `npm run bench:report` re-renders this file from latest.json and bench/analysis.md.',
  );
  L.push(
    'isolated-vm is not a dependency (it compiles from source for ≈ 4 min); for a full comparison install it first without saving it: `npm install --no-save isolated-vm@5`. Without it its rows say "not installed".',
    '',
  );

  L.push('## Targets', '');
  L.push('| target | goal | measured | |', '|---|---|---|---|');
  for (const t of results.targets ?? []) L.push(`| ${t.name} | ${t.target} | ${t.value}${t.note ? `; ${t.note}` : ''} | ${t.pass ? 'met' : '**missed**'} |`);
  L.push('');

  L.push('## Machine', '');
  L.push(`- ${m.cpus.count} × ${m.cpus.model}${m.cpus.mhz ? ` @ ${m.cpus.mhz} MHz` : ''}, ${m.totalMemGiB} GiB RAM, ${m.platform}`);
  L.push(`- Node ${m.node} (V8 ${m.v8}); load average at start ${m.loadAvgAtStart.join(' / ')} (a shared machine: other work may have been running)`);
  L.push(`- ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`, '');

  L.push('## Cold start and warm invoke', '');
  L.push('![cold start distributions](bench/results/cold-start.svg)', '');
  L.push(
    'Cold start = the code already in memory (a verified artifact for faas, the bundled source text for the others) → the first response, ' +
      `in µs. Warm = a further request to the same instance. **faas/peer** divides the faas default (in bold: engine ${results.meta.defaults.engine}, ` +
      `isolation ${results.meta.defaults.isolation}, pre-warmed pool, as \`Runtime.create()\` and \`faas serve\` use it) by the peer: below 1 faas is faster.`,
    '',
  );
  for (const w of results.workloads) {
    L.push(`### ${w.title}`, '');
    L.push(
      `Bundle: ${kb(w.jsBytes)} minified JS, ${kb(w.bytecodeBytes)} QuickJS bytecode (from ${kb(w.sourceBytes)} of inputs); guest heap limit ${w.memoryMb} MiB.`,
      '',
    );
    L.push('| peer | cold p50 µs | p90 | p99 | warm p50 µs | faas/peer (cold p50) | n |', '|---|--:|--:|--:|--:|---|--:|');
    const ref = results.cold[w.id]?.[REFERENCE_PEER];
    for (const p of results.peers) {
      const s = results.cold[w.id]?.[p.id];
      if (!s || s.p50 === undefined) {
        L.push(`| ${p.label} | ${s?.status ?? p.status} | | | | | |`);
        continue;
      }
      const name = p.id === REFERENCE_PEER ? `**${p.label}**` : p.label;
      const mismatch = s.mismatch ? ` ⚠ response differs: \`${s.mismatch.slice(0, 60)}\`` : '';
      const warmCell = s.warmError ? `failed ${s.warmError.replace(/\|/g, '/').replace(/function "[^"]+" /, '')}` : fmtUs(s.warmP50);
      L.push(
        `| ${name}${mismatch} | ${fmtUs(s.p50)} | ${fmtUs(s.p90)} | ${fmtUs(s.p99)} | ${warmCell} | ${ratioCell(ref?.p50, s.p50, p.id === REFERENCE_PEER)} | ${s.n} |`,
      );
    }
    L.push('');
  }

  L.push('## Resident footprint', '');
  L.push(
    'N instances of one function started one after the other (each invoked once, then left idle) in a fresh child process; ' +
      'RSS growth per instance, and the guest heap per instance as the engine reports it (faas and isolated-vm: bytes allocated on the ' +
      'guest heap; quickjs-emscripten: `memory_used_size`; node:vm: growth of the shared V8 heap). "start" is the mean wall time per ' +
      'start-up while the resident set grows from 0 to N. faas rows use no pool (a pool adds a constant 4 blank sandboxes); ' +
      '**faas/peer** divides the faas default isolation (in bold) by the peer.' +
      (results.workerd
        ? ` workerd (hello × ${results.workerd.workers} only) reads its configuration once, so its workers cannot be added one by one: ` +
          `its row is the RSS of a workerd process with 1 + N distinct copies of hello as named workers, each on its own socket and ` +
          'invoked once, minus that of a process with the one copy, divided by N; "start" is the extra time from spawn to every ' +
          'worker answered, per worker. workerd reports no guest heap.'
        : ''),
    '',
  );
  const groups = [...new Set(results.footprint.map((f) => `${f.workload}|${f.count}`))];
  for (const g of groups) {
    const [workload, count] = g.split('|');
    L.push(`### ${workload} × ${Number(count).toLocaleString('en-US')} resident`, '');
    L.push('| peer | RSS KB / instance | guest heap KB / instance | start ms / instance | faas/peer (RSS) |', '|---|--:|--:|--:|---|');
    const rows = results.footprint.filter((f) => `${f.workload}|${f.count}` === g);
    const ref = rows.find((r) => r.peer === FOOTPRINT_REFERENCE);
    for (const r of rows) {
      const label = peerLabel(results, r.peer, r.label).replace(/, (no pool|pool)$/, '');
      if (r.status !== 'ok') {
        L.push(`| ${label} | ${r.status} | | | |`);
        continue;
      }
      const heapNote = r.heapSource === 'engine' ? '' : ` (${r.heapSource})`;
      const heap = r.guestHeapPerInstanceKB === undefined ? '–' : `${r.guestHeapPerInstanceKB.toFixed(0)}${heapNote}`;
      L.push(
        `| ${r.peer === FOOTPRINT_REFERENCE ? `**${label}**` : label} | ${r.rssPerInstanceKB!.toFixed(0)} | ${heap} | ${fmtMs(r.startMsPerInstance!)} | ${ratioCell(ref?.rssPerInstanceKB, r.rssPerInstanceKB, r.peer === FOOTPRINT_REFERENCE, ['smaller', 'larger'])} |`,
      );
    }
    L.push('');
  }

  const gw = results.gateway;
  const wd = results.workerd?.status === 'ok' ? results.workerd : undefined;
  L.push('## Gateway HTTP', '');
  L.push(
    `autocannon (in a child process, loopback, ${gw.connections} connections, no pipelining) against the gateway serving a warm function, against a bare ` +
      `Hono app on @hono/node-server answering the same "Hello from faas!" (the ceiling for hello: what the HTTP stack alone can do)` +
      (wd ? `, and against ${wd.label} serving the same bundles from a process of its own` : '') +
      `. ${gw.warmupSeconds} s of warm-up, then ${gw.durationSeconds} s measured, per round; rounds alternate the order of the targets. **best** is the best round (the one least ` +
      'disturbed by other work on a shared machine; the ratios use it), **mean** all rounds together. Latencies: p50 the median ' +
      'round, p99 the worst round. ' +
      (wd ? '**faas/workerd** divides faas by workerd from the same run: for req/s above 1 faas is faster, for p99 below 1 faas is faster. ' : '') +
      '"cores" is what the server and the load generator kept busy (mean of the rounds), "other" what the rest of the machine kept busy ' +
      'during each round (2 cores in all): a high figure means that round was disturbed.',
    '',
  );
  for (const workload of [...new Set(gw.throughput.map(rowWorkload))]) {
    const rows = gw.throughput.filter((t) => rowWorkload(t) === workload);
    const ceiling = rows.find((t) => rowKind(t) === 'ceiling');
    const ref = rows.find((t) => rowKind(t) === 'workerd');
    L.push(`### ${results.workloads.find((w) => w.id === workload)?.title ?? workload}`, '');
    L.push(
      `| target | best req/s |${ceiling ? ' % of ceiling (best) |' : ''} mean req/s | p50 ms | p99 ms |${ref ? ' faas/workerd (best req/s) | faas/workerd (p99) |' : ''} cores: server / load generator | other cores per round | non-2xx / errors |`,
      `|---|--:|${ceiling ? '--:|' : ''}--:|--:|--:|${ref ? '---|---|' : ''}--:|--:|--:|`,
    );
    for (const t of rows) {
      const best = t.bestRps ?? t.rps;
      const cores = (t.rounds as { cores?: Cores }[]).map((r) => r.cores).filter((c): c is Cores => c !== undefined);
      const mean = (f: (c: Cores) => number) => (cores.length ? (cores.reduce((a, c) => a + f(c), 0) / cores.length).toFixed(2) : '–');
      const other = cores.map((c) => c.other.toFixed(2)).join(' / ') || '–';
      const isRef = rowKind(t) === 'workerd';
      const vsWorkerd = !ref
        ? ''
        : rowKind(t) === 'ceiling'
          ? ' – | – |'
          : ` ${isRef ? '1.00 (reference)' : rateRatioCell(best, ref.bestRps)} | ${ratioCell(t.p99Ms, ref.p99Ms, isRef, ['lower', 'higher'])} |`;
      const mismatch = t.mismatch ? ` ⚠ response differs: \`${t.mismatch.slice(0, 60)}\`` : '';
      L.push(
        `| ${t.label}${mismatch} | ${int(best)} |${ceiling ? ` ${((best / (ceiling.bestRps ?? ceiling.rps)) * 100).toFixed(1)}% |` : ''} ${int(t.rps)} | ${fmtMs(t.p50Ms)} | ${fmtMs(t.p99Ms)} |${vsWorkerd} ${mean((c) => c.server)} / ${mean((c) => c.loadGenerator)} | ${other} | ${t.non2xx} / ${t.errors} |`,
      );
    }
    L.push('');
  }
  const model = workerdModel(gw.throughput.filter((t) => rowKind(t) === 'workerd'));
  if (model) L.push(model, '');
  if (gw.cold.length) {
    L.push(
      `Cold HTTP: ${int(gw.cold[0]!.functions)} copies of hello deployed (never invoked), each requested once by the same ${gw.connections} connections; ` +
        'every request is a cold start, and every started instance stays resident.' +
        (wd ? ' workerd has no such state (it evaluates every worker before it listens), so it is not in this table.' : ''),
      '',
    );
    L.push('| target | requests | req/s | p50 ms | p90 ms | p99 ms | cold starts seen | non-2xx / errors |', '|---|--:|--:|--:|--:|--:|--:|--:|');
    for (const c of gw.cold) {
      L.push(
        `| ${c.label} | ${int(c.result.requests)} | ${int(c.result.rps)} | ${fmtMs(c.result.latencyMs.p50)} | ${fmtMs(c.result.latencyMs.p90)} | ${fmtMs(c.result.latencyMs.p99)} | ${int(c.coldStarts)} | ${c.result.non2xx} / ${c.result.errors} |`,
      );
    }
    L.push('');
  }

  L.push('## Method', '');
  L.push(
    '- **One process, interleaved.** Every peer runs in the same Node process; each workload is measured in rounds, and every round runs a ' +
      'batch of every peer in a rotating order, so drift on a noisy 2-core machine lands on all peers alike. Before recording, each peer ' +
      'does a few untimed cold starts (V8 tiers up the host code and the WASM code; figures are from a warmed process). A full GC is ' +
      'forced before every batch, so one peer\'s garbage is not collected on another peer\'s clock.',
    '- **What is timed.** From the code in memory to the first response. Not timed: what happens once per deploy (verifying the artifact, ' +
      'compiling the engine\'s WASM module, creating the faas `Runtime` and filling its pool) and the clean-up after each sample (disposing ' +
      'the instance; for pool peers, waiting until the pool is full again, so each sample starts from the same state).',
    '- **Same code everywhere.** All peers run the same esbuild bundle that is inside the faas artifact. quickjs-emscripten evaluates it as ' +
      'a module; node:vm and isolated-vm evaluate it as a script (the final `export{…}` clause becomes an assignment inside a strict ' +
      'function; node:vm\'s module API needs `--experimental-vm-modules`). Each peer\'s first response of every workload is compared with ' +
      'faas\'s; a difference is flagged in the tables.',
    '- **Web APIs for the peers.** faas functions get Request/Response/URL/crypto … from the faas prelude (bytecode, evaluated into every ' +
      'sandbox before it is used). The peers have none, so every cold start evaluates `bench/peers/web-shim.js` (≈ 10 KB of source: ' +
      'Request, Response, Headers, URL, TextEncoder/Decoder, HMAC-SHA-256 in plain JS) from text before the function. It does far less than ' +
      'the faas prelude, which favours the peers.',
    '- **faas fed source.** The same Runtime, pool, prelude and sandbox as the faas default, but the artifact handed to `deploy` carries no ' +
      'bytecode, so the sandbox evaluates the minified bundle: the difference to the default is exactly what ahead-of-time bytecode buys.',
    '- **faas configurations.** Every engine × isolation pair that `createSandboxFactory` offers in this build, with the pool (4 blank ' +
      'sandboxes, the default) and without; pairs not offered are listed as "not available".',
    '- **Percentiles** are nearest-rank over all recorded samples (bench/stats.ts). Footprint runs in child processes because freed memory ' +
      'does not leave RSS; the HTTP load generator runs in a child process so it does not share the server\'s event loop.',
    ...(results.workerd
      ? [
          '- **workerd** (the `workerd` npm package, Cloudflare\'s runtime) is a program of its own, so it is in the HTTP rounds and the ' +
            'footprint only: it serves the bundle inside the faas artifact (esbuild\'s ES module is a Workers module as it is) from a ' +
            'generated capnp config, the function\'s vars and secrets as text bindings, every worker on its own loopback socket (no router ' +
            'in front), all workers in one process. Its first response to every workload is compared with faas\'s. Its server CPU and ' +
            'threads are read from /proc.',
        ]
      : []),
    '',
  );
  L.push('| peer | what one cold start does | status |', '|---|---|---|');
  for (const p of results.peers) L.push(`| ${p.label} | ${p.method} | ${p.status} |`);
  if (results.workerd) L.push(`| ${results.workerd.label} | not in the cold-start rounds (HTTP rounds and footprint): ${results.workerd.method} | ${results.workerd.status} |`);
  L.push('');

  const analysisPath = 'bench/analysis.md';
  if (existsSync(analysisPath)) {
    L.push(readFileSync(analysisPath, 'utf8').trim(), '');
  }
  return `${L.join('\n')}\n`;
}

export function writeReport(results: Results): string[] {
  useDefaults(results.meta.defaults ?? { engine: "quickjs-wasi", isolation: "instance" });
  results.targets = computeTargets(results);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const files = [`${RESULTS_DIR}/latest.json`, `${RESULTS_DIR}/cold-start.svg`, 'BENCHMARKS.md'];
  writeFileSync(files[0]!, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(files[1]!, renderColdSvg(results));
  writeFileSync(files[2]!, renderMarkdown(results));
  return files;
}
