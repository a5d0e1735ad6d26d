/** One polite live region for what just happened (saved, deployed, failed), read out by screen readers. */
import { h } from './dom.ts';

let region: HTMLElement | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;

export function statusRegion(): HTMLElement {
  region = h('div', { class: 'toast', role: 'status', 'aria-live': 'polite' });
  return region;
}

export function announce(message: string, kind: 'ok' | 'error' = 'ok'): void {
  if (!region) return;
  region.textContent = message;
  region.className = `toast visible ${kind}`;
  clearTimeout(timer);
  timer = setTimeout(() => region && (region.className = 'toast'), 5000);
}
