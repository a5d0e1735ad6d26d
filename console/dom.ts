/**
 * Building the page: elements with text nodes only. Nothing here (or anywhere in the console) assigns
 * innerHTML, so a function name, a log line or a KV value is always shown as text, never parsed.
 */
export type Child = Node | string | number | null | undefined | false | Child[];

type Handler = (e: Event) => void;
export type Props = Record<string, string | number | boolean | Handler | null | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) setProps(el, props);
  append(el, children);
  return el;
}

function setProps(el: HTMLElement, props: Props): void {
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'value' && 'value' in el) {
      (el as HTMLInputElement).value = String(value);
    } else if (key === 'checked' || key === 'disabled' || key === 'selected' || key === 'hidden' || key === 'required') {
      (el as unknown as Record<string, boolean>)[key] = Boolean(value);
    } else if (key === 'style') {
      throw new Error('inline styles are refused by the console CSP: use a class');
    } else {
      el.setAttribute(key === 'className' ? 'class' : key, value === true ? '' : String(value));
    }
  }
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

const SVG = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attrs: Record<string, string | number>, ...children: Node[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(c);
  return el;
}

/** Function and tenant names, for an input's `pattern` (compiled with the v flag: "-" escaped). */
export const NAME_PATTERN = '[a-z0-9][a-z0-9\\-]{0,62}';

let ids = 0;
/** A unique id for label/aria wiring. */
export function uid(prefix = 'id'): string {
  return `${prefix}-${++ids}`;
}

/** A labelled form field: the label's `for` names the control. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || uid('f');
  control.id = id;
  const hintEl = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

export function table(caption: string, head: string[], rows: Child[][], opts: { empty?: string; captionHidden?: boolean } = {}): HTMLTableElement {
  return h(
    'table',
    null,
    h('caption', { class: opts.captionHidden ? 'visually-hidden' : null }, caption),
    h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      null,
      rows.length === 0 ? h('tr', null, h('td', { colspan: head.length, class: 'empty' }, opts.empty ?? 'Nothing yet.')) : rows.map((r) => h('tr', null, r.map((c) => h('td', null, c)))),
    ),
  );
}

/** A wide table's horizontal scroller: focusable and named, so it can be scrolled from the keyboard. */
export function scroller(label: string, ...children: Child[]): HTMLElement {
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': label }, ...children);
}

export function fmtNumber(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function fmtMs(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  return n < 10 ? `${fmtNumber(n, 2)} ms` : `${fmtNumber(n, 0)} ms`;
}

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${fmtNumber(n / 1024, 1)} KiB`;
  return `${fmtNumber(n / 1024 / 1024, 1)} MiB`;
}

export function fmtTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().replace('T', ' ').slice(0, 19);
}
