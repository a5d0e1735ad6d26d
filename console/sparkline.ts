/** A small SVG line of requests per minute (drawn with DOM calls: no markup is parsed). */
import { svg } from './dom.ts';

export function sparkline(counts: number[], label: string, width = 120, height = 24, slots = 60): SVGElement {
  // the window's minutes before the first sample count as quiet ones
  const values = [...new Array<number>(Math.max(0, slots - counts.length)).fill(0), ...counts.slice(-slots)];
  const max = Math.max(1, ...values);
  const n = Math.max(values.length, 2);
  const step = width / (n - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`).join(' ');
  const title = svg('title', {});
  title.textContent = label;
  return svg(
    'svg',
    { class: 'spark', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label },
    title,
    svg('polyline', { points: points || `0,${height - 1} ${width},${height - 1}`, fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5 }),
  );
}
