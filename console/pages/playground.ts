import { ApiError, api, enc, type FunctionView, type LogLine, type TailEvent } from '../api.ts';
import { createEditor } from '../editor.ts';
import { TEMPLATE } from '../guest-api.ts';
import { NAME_PATTERN, field, fmtBytes, h, replace, table, uid } from '../dom.ts';
import { linesList } from '../logs.ts';
import { announce } from '../status.ts';

interface RunResult {
  status: number | null;
  headers: [string, string][];
  body: string;
  bodyEncoding: 'utf8' | 'base64';
  bodyBytes: number;
  truncated: boolean;
  error: { code: string; message: string } | null;
  logs: LogLine[];
  timing: { compileMs: number; queueMs: number; coldMs: number; execMs: number; cpuMs: number | null };
  limits: { cpuMs: number; memoryMb: number; timeoutMs: number };
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/**
 * Edit a function's TypeScript, deploy it (or run it once in a throwaway sandbox: "ephemeral"),
 * send it a request and see the response beside that request's logs.
 */
export async function renderPlayground(main: HTMLElement, params: Record<string, string>): Promise<void> {
  const editor = createEditor('Function source (TypeScript)', TEMPLATE);
  const name = h('input', { type: 'text', name: 'fn', value: params.fn ?? '', pattern: NAME_PATTERN, autocomplete: 'off', placeholder: 'my-function' });
  const modeName = uid('mode');
  const deployMode = h('input', { type: 'radio', name: modeName, value: 'deploy', checked: true, id: uid('m') });
  const ephemeralMode = h('input', { type: 'radio', name: modeName, value: 'ephemeral', id: uid('m') });
  const config = h('textarea', { name: 'config', rows: 4, spellcheck: 'false', class: 'mono' });
  config.value = '{}';
  const compileError = h('div', { class: 'compile-error', role: 'alert' });
  const deployInfo = h('p', { class: 'deploy-info', role: 'status' });
  const deployBtn = h('button', { type: 'button' }, 'Deploy');
  const loadBtn = h('button', { type: 'button', class: 'secondary' }, 'Load deployed source');

  const method = h('select', { name: 'method' }, METHODS.map((m) => h('option', { value: m }, m)));
  const path = h('input', { type: 'text', name: 'path', value: '/', autocomplete: 'off', spellcheck: 'false' });
  const headers = h('textarea', { name: 'headers', rows: 3, spellcheck: 'false', class: 'mono', placeholder: 'content-type: application/json' });
  const body = h('textarea', { name: 'body', rows: 4, spellcheck: 'false', class: 'mono' });
  const sendBtn = h('button', { type: 'submit' }, 'Send request');
  const response = h('div', { class: 'response', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'No request sent yet.'));
  const requestLogs = h('div', { class: 'request-logs' }, h('p', { class: 'muted' }, 'The logs of the request appear here.'));

  const ephemeral = () => ephemeralMode.checked;
  const syncMode = () => {
    deployBtn.hidden = ephemeral();
    loadBtn.hidden = ephemeral();
    sendBtn.textContent = ephemeral() ? 'Run ephemeral' : 'Send request';
  };
  deployMode.addEventListener('change', syncMode);
  ephemeralMode.addEventListener('change', syncMode);

  const showCompileError = (message: string) => {
    const places = editor.showErrors(message);
    replace(
      compileError,
      h('h3', null, places[0] ? `Compile error at line ${places[0].line}, column ${places[0].column}` : 'Compile error'),
      h('pre', { tabindex: '0' }, message),
    );
  };
  const clearCompileError = () => {
    editor.clearErrors();
    compileError.replaceChildren();
  };

  const loadExisting = async (quiet = false) => {
    const fn = name.value.trim();
    if (!fn) return;
    try {
      const [src, view] = await Promise.all([api<{ source: string; version: number }>('GET', `/admin/functions/${enc(fn)}/source`), api<FunctionView>('GET', `/admin/functions/${enc(fn)}`)]);
      editor.value = src.source;
      config.value = JSON.stringify(view.config, null, 2);
      deployInfo.textContent = `Loaded v${src.version} of ${fn}.${view.secretNames?.length ? ` It has secrets (${view.secretNames.join(', ')}): they are not shown and a deploy from here would remove them.` : ''}`;
    } catch (err) {
      if (!quiet) announce((err as Error).message, 'error');
    }
  };
  loadBtn.addEventListener('click', () => void loadExisting());

  deployBtn.addEventListener('click', async () => {
    const fn = name.value.trim();
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(fn)) {
      announce('Give the function a name: lower-case letters, digits and "-".', 'error');
      name.focus();
      return;
    }
    let cfg: unknown;
    try {
      cfg = JSON.parse(config.value || '{}');
    } catch (err) {
      announce(`Config is not valid JSON: ${(err as Error).message}`, 'error');
      return;
    }
    deployBtn.disabled = true;
    clearCompileError();
    deployInfo.textContent = 'Deploying…';
    try {
      const rec = await api<{ version: number; bytecodeBytes: number }>('PUT', `/admin/functions/${enc(fn)}`, { source: editor.value, filename: `${fn}.ts`, config: cfg });
      deployInfo.replaceChildren(`Deployed ${fn} v${rec.version} (${fmtBytes(rec.bytecodeBytes)} of bytecode). `, h('a', { href: `#/functions/${enc(fn)}` }, `Open ${fn}`));
      announce(`Deployed ${fn} v${rec.version}.`);
    } catch (err) {
      deployInfo.textContent = '';
      if (err instanceof ApiError && err.code === 'compile_error') showCompileError(err.message);
      else announce((err as Error).message, 'error');
    } finally {
      deployBtn.disabled = false;
    }
  });

  const headerPairs = (): [string, string][] =>
    headers.value
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const i = l.indexOf(':');
        return (i < 0 ? [l, ''] : [l.slice(0, i).trim(), l.slice(i + 1).trim()]) as [string, string];
      });

  const send = async (e: Event) => {
    e.preventDefault();
    sendBtn.disabled = true;
    try {
      if (ephemeral()) await runEphemeral();
      else await invokeDeployed();
    } finally {
      sendBtn.disabled = false;
    }
  };

  const runEphemeral = async () => {
    clearCompileError();
    replace(response, h('p', { class: 'muted' }, 'Running…'));
    try {
      const r = await api<RunResult>('POST', '/admin/run', {
        source: editor.value,
        filename: 'playground.ts',
        request: { method: method.value, path: path.value || '/', headers: headerPairs(), body: body.value || undefined },
      });
      const timing = `compile;dur=${r.timing.compileMs}, queue;dur=${r.timing.queueMs}, cold;dur=${r.timing.coldMs}, exec;dur=${r.timing.execMs}${r.timing.cpuMs !== null ? `, cpu;dur=${r.timing.cpuMs}` : ''}`;
      if (r.error) {
        replace(response, h('p', { class: 'status-line bad' }, `Failed: ${r.error.code}`), h('pre', { class: 'body', tabindex: '0' }, r.error.message), timingView(timing));
      } else {
        showResponse(r.status ?? 0, r.headers, r.bodyEncoding === 'utf8' ? r.body : `(base64) ${r.body}`, timing, r.truncated ? `showing the first part of ${fmtBytes(r.bodyBytes)}` : undefined);
      }
      replace(requestLogs, h('h3', null, 'Logs of this run'), r.logs.length ? linesList(r.logs) : h('p', { class: 'muted' }, 'No console output.'));
      announce(`Ephemeral run: ${r.error ? r.error.code : r.status} (limits: ${r.limits.cpuMs} ms CPU, ${r.limits.memoryMb} MB, ${r.limits.timeoutMs} ms)`);
    } catch (err) {
      replace(response, h('p', { class: 'muted' }, 'No response.'));
      if (err instanceof ApiError && err.code === 'compile_error') showCompileError(err.message);
      else announce((err as Error).message, 'error');
    }
  };

  const invokeDeployed = async () => {
    const fn = name.value.trim();
    if (!fn) {
      announce('Deploy the function first (give it a name), or switch to ephemeral.', 'error');
      return;
    }
    replace(response, h('p', { class: 'muted' }, 'Sending…'));
    let res: Response;
    try {
      const init: RequestInit = { method: method.value, headers: headerPairs(), credentials: 'omit' };
      if (!['GET', 'HEAD'].includes(method.value) && body.value) init.body = body.value;
      res = await fetch(`/fn/${enc(fn)}${path.value.startsWith('/') || path.value === '' ? path.value : `/${path.value}`}`, init);
    } catch (err) {
      replace(response, h('p', { class: 'error' }, `Request failed: ${(err as Error).message}`));
      return;
    }
    const text = await res.text();
    showResponse(res.status, [...res.headers], text, res.headers.get('server-timing') ?? '');
    const requestId = res.headers.get('x-request-id');
    replace(requestLogs, h('h3', null, 'Logs of this request'), h('p', { class: 'muted' }, 'Looking…'));
    if (!requestId) return;
    try {
      const events = await api<TailEvent[]>('GET', `/admin/functions/${enc(fn)}/logs?search=${enc(requestId)}&limit=20`);
      const inv = events.find((e) => e.type === 'invocation' && e.requestId === requestId);
      const lines = inv && inv.type === 'invocation' ? inv.logs : [];
      replace(requestLogs, h('h3', null, 'Logs of this request'), h('p', { class: 'muted' }, `request ${requestId}`), lines.length ? linesList(lines) : h('p', { class: 'muted' }, 'No console output.'));
    } catch (err) {
      replace(requestLogs, h('h3', null, 'Logs of this request'), h('p', { class: 'error' }, (err as Error).message));
    }
  };

  const showResponse = (status: number, hs: [string, string][], text: string, timing: string, note?: string) => {
    replace(
      response,
      h('p', { class: `status-line ${status >= 400 ? 'bad' : 'good'}` }, 'Status ', h('output', { class: 'status-code' }, String(status))),
      timingView(timing),
      h('details', { open: true }, h('summary', null, `Headers (${hs.length})`), table('Response headers', ['Name', 'Value'], hs.map(([k, v]) => [h('code', null, k), v]), { captionHidden: true })),
      h('h3', null, 'Body', note ? h('span', { class: 'muted' }, ` (${note})`) : null),
      h('pre', { class: 'body', tabindex: '0' }, text),
    );
  };

  replace(
    main,
    h('h1', null, 'Playground'),
    h(
      'div',
      { class: 'playground' },
      h(
        'section',
        { class: 'card code', 'aria-labelledby': 'pg-code' },
        h('h2', { id: 'pg-code' }, 'Code'),
        h(
          'div',
          { class: 'toolbar' },
          field('Function name', name),
          h(
            'fieldset',
            { class: 'mode' },
            h('legend', null, 'Mode'),
            h('label', { for: deployMode.id }, deployMode, ' Deploy'),
            h('label', { for: ephemeralMode.id }, ephemeralMode, ' Ephemeral (run once, never deployed)'),
          ),
          loadBtn,
          deployBtn,
        ),
        editor.el,
        compileError,
        h('details', null, h('summary', null, 'Function config (JSON)'), field('Config', config, 'Sent with the deploy: limits, env, kv, routes … (secrets are never shown).')),
        deployInfo,
      ),
      h(
        'section',
        { class: 'card request', 'aria-labelledby': 'pg-req' },
        h('h2', { id: 'pg-req' }, 'Request'),
        h('form', { onsubmit: send }, h('div', { class: 'toolbar' }, field('Method', method), field('Path', path)), field('Headers (one "name: value" a line)', headers), field('Body', body), sendBtn),
      ),
    ),
    h('div', { class: 'side-by-side' }, h('section', { 'aria-labelledby': 'pg-res', class: 'card' }, h('h2', { id: 'pg-res' }, 'Response'), response), h('section', { 'aria-labelledby': 'pg-logs', class: 'card' }, h('h2', { id: 'pg-logs' }, 'Logs'), requestLogs)),
  );
  syncMode();
  if (params.fn && params.new !== '1') await loadExisting(true);
}

function timingView(timing: string): HTMLElement {
  return h('p', { class: 'timing' }, h('span', { class: 'muted' }, 'server-timing: '), h('code', { class: 'server-timing' }, timing || '—'));
}
