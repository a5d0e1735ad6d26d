/**
 * Live logs of one function: the admin API's server-sent event stream (GET …/logs?follow=1, sent
 * with the session cookie), with the stream's own filters (status, search) and a pause that keeps
 * events aside until resumed. Every line is text (textContent), whatever the function printed.
 */
import { enc, type LogLine, type TailEvent } from './api.ts';
import { field, fmtTime, h } from './dom.ts';

const MAX_SHOWN = 500;

export function liveLogs(fn: string): { el: HTMLElement; close(): void } {
  const status = h(
    'select',
    { name: 'status' },
    h('option', { value: '' }, 'all'),
    h('option', { value: 'ok' }, 'ok'),
    h('option', { value: 'error' }, 'errors'),
    h('option', { value: '4xx' }, '4xx'),
    h('option', { value: '5xx' }, '5xx'),
  );
  const search = h('input', { type: 'search', name: 'search', maxlength: 256, autocomplete: 'off' });
  const pause = h('button', { type: 'button', 'aria-pressed': 'false', class: 'secondary' }, 'Pause');
  const clear = h('button', { type: 'button', class: 'secondary' }, 'Clear');
  const state = h('span', { class: 'stream-state', role: 'status' }, 'connecting…');
  const list = h('ol', { class: 'log-list', 'aria-label': `Live log of ${fn}`, 'aria-live': 'off', tabindex: '0' });
  let paused = false;
  let held: TailEvent[] = [];
  let source: EventSource | undefined;

  const show = (e: TailEvent) => {
    list.prepend(eventItem(e));
    while (list.children.length > MAX_SHOWN) list.lastElementChild!.remove();
  };
  const onEvent = (m: MessageEvent) => {
    let e: TailEvent;
    try {
      e = JSON.parse(String(m.data)) as TailEvent;
    } catch {
      return;
    }
    if (paused) held.push(e);
    else show(e);
  };
  const connect = () => {
    source?.close();
    const q = new URLSearchParams({ follow: '1', limit: '50' });
    if (status.value) q.set('status', status.value);
    if (search.value) q.set('search', search.value);
    list.replaceChildren();
    state.textContent = 'connecting…';
    source = new EventSource(`/admin/functions/${enc(fn)}/logs?${q}`);
    source.addEventListener('invocation', onEvent);
    source.addEventListener('log', onEvent);
    source.onopen = () => (state.textContent = paused ? 'paused' : 'live');
    source.onerror = () => (state.textContent = 'reconnecting…');
  };
  let debounce: ReturnType<typeof setTimeout> | undefined;
  status.addEventListener('change', connect);
  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(connect, 300);
  });
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
    state.textContent = paused ? 'paused' : 'live';
    if (!paused) {
      for (const e of held) show(e);
      held = [];
    }
  });
  clear.addEventListener('click', () => list.replaceChildren());
  connect();

  const el = h(
    'div',
    { class: 'logs' },
    h('div', { class: 'toolbar' }, field('Status', status), field('Search', search), pause, clear, state),
    list,
  );
  return {
    el,
    close: () => {
      clearTimeout(debounce);
      source?.close();
    },
  };
}

export function eventItem(e: TailEvent): HTMLElement {
  if (e.type === 'log') return h('li', { class: `log-line level-${safeClass(e.level)}` }, h('time', null, fmtTime(e.at)), ' ', h('span', { class: 'level' }, e.level), ' ', h('span', { class: 'text' }, e.text));
  return h(
    'li',
    { class: `invocation ${e.outcome === 'ok' ? 'ok' : 'failed'}` },
    h(
      'div',
      { class: 'summary' },
      h('time', null, fmtTime(e.at)),
      ' ',
      h('span', { class: 'method' }, e.method),
      ' ',
      h('span', { class: 'path' }, e.path),
      ' ',
      h('span', { class: 'status' }, String(e.status)),
      ' ',
      h('span', { class: 'outcome' }, e.outcome),
      ' ',
      h('span', { class: 'ms' }, `${e.ms} ms`),
      e.version !== null ? h('span', { class: 'version' }, ` v${e.version}`) : null,
    ),
    e.logs.length ? linesList(e.logs) : null,
  );
}

export function linesList(lines: LogLine[]): HTMLElement {
  return h(
    'ul',
    { class: 'console-lines' },
    lines.map((l) => h('li', { class: `log-line level-${safeClass(l.level)}` }, h('span', { class: 'level' }, l.level), ' ', h('span', { class: 'text' }, l.text))),
  );
}

function safeClass(s: string): string {
  return /^[a-z]{1,10}$/.test(s) ? s : 'other';
}
