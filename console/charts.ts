/** Time-series charts (uPlot) of the last hour, each with a heading and a text summary for screen readers. */
import uPlot from 'uplot';
import { h } from './dom.ts';

export interface Line {
  label: string;
  values: (number | null)[];
}

const COLORS = ['#1f5fbf', '#b3261e', '#1b7f3b', '#8a4dbf', '#b36b00', '#00737a', '#5c5c5c', '#c2185b'];

export interface Chart {
  el: HTMLElement;
  update(t: number[], lines: Line[]): void;
  destroy(): void;
}

export function chart(title: string, unit: string, t: number[], lines: Line[]): Chart {
  const plotHost = h('div', { class: 'plot', 'aria-hidden': 'true' });
  const summary = h('p', { class: 'visually-hidden' });
  const el = h('figure', { class: 'chart' }, h('figcaption', null, title), plotHost, summary);
  let plot: uPlot | undefined;
  let shape = '';
  const width = () => Math.max(280, Math.floor((plotHost.clientWidth || 480) - 4));

  const update = (times: number[], ls: Line[]) => {
    const key = ls.map((l) => l.label).join('|');
    const data = [times.map((x) => x / 1000), ...ls.map((l) => l.values)] as uPlot.AlignedData;
    summary.textContent = `${title} over the last ${Math.round(((times.at(-1) ?? 0) - (times[0] ?? 0)) / 60000)} minutes: ${ls
      .map((l) => `${l.label} latest ${fmt(l.values.at(-1))} ${unit}, peak ${fmt(Math.max(0, ...l.values.filter((v): v is number => v !== null)))} ${unit}`)
      .join('; ')}.`;
    if (plot && key === shape) {
      plot.setData(data);
      return;
    }
    plot?.destroy();
    shape = key;
    plot = new uPlot(
      {
        width: width(),
        height: 180,
        series: [{}, ...ls.map((l, i) => ({ label: l.label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false }))],
        axes: [{}, { label: unit, size: 56 }],
        scales: { x: { time: true } },
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
      },
      data,
      plotHost,
    );
  };
  update(t, lines);
  // sized to its box once it is on the page, and whenever the box changes
  const resize = new ResizeObserver(() => {
    const w = width();
    if (plot && Math.abs(plot.width - w) > 2) plot.setSize({ width: w, height: 180 });
  });
  resize.observe(plotHost);
  return {
    el,
    update,
    destroy: () => {
      resize.disconnect();
      plot?.destroy();
    },
  };
}

function fmt(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? 'none' : String(Math.round(v * 100) / 100);
}
