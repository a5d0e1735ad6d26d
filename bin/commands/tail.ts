/**
 * `faas tail <name>`: a function's live logs, as `wrangler tail` shows them: one line per invocation
 * (time, method, path, status, outcome, durations, version) with the console lines it logged under
 * it. Follows the gateway's server-sent events and reconnects when the stream drops.
 */
import { FaasError } from '../../contract/errors.ts';
import { call, type AdminOptions } from './admin.ts';
import { exitWithError } from './shared.ts';

export interface TailOptions extends AdminOptions {
  status?: string;
  search?: string;
  json?: boolean;
  /** Stop after this many events (for scripts and tests). */
  count?: string;
}

interface LogLine {
  at: string;
  level: string;
  text: string;
}

type TailEvent =
  | ({ type: 'invocation'; requestId: string; method: string; path: string; status: number; outcome: string; ms: number; execMs?: number; cpuMs?: number; version: number | null; logs: LogLine[]; droppedLogs?: number } & { at: string })
  | ({ type: 'log'; requestId: string | null; version: number | null } & LogLine);

export async function tailCommand(name: string, opts: TailOptions): Promise<void> {
  const max = opts.count === undefined ? Infinity : Number(opts.count);
  let seen = 0;
  let first = true;
  let backoff = 500;
  for (;;) {
    try {
      const q = new URLSearchParams({ follow: '1' });
      if (opts.status) q.set('status', opts.status);
      if (opts.search) q.set('search', opts.search);
      // after a reconnect, only new events: the recent ones were printed already
      if (!first) q.set('limit', '0');
      const res = await call(opts, 'GET', `/admin/functions/${encodeURIComponent(name)}/logs?${q}`);
      if (first) process.stderr.write(`tailing ${name} (Ctrl-C to stop)\n`);
      first = false;
      backoff = 500;
      for await (const event of sseEvents(res)) {
        process.stdout.write(opts.json ? `${JSON.stringify(event)}\n` : format(event as TailEvent));
        if (++seen >= max) return;
      }
      process.stderr.write('stream ended; reconnecting…\n');
    } catch (err) {
      // A refusal (no such function, bad token, bad filter) will not get better by retrying.
      if (err instanceof FaasError && err.code !== 'unavailable' && err.code !== 'overloaded') exitWithError(err);
      if (first) exitWithError(err);
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}; reconnecting…\n`);
    }
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 10_000);
  }
}

async function* sseEvents(res: Response): AsyncGenerator<unknown> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      if (data) yield JSON.parse(data);
    }
  }
}

/** C0 and C1 control characters but tab and newline: the escape sequences a terminal would act on. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Guest output shown as text, with its control characters as visible `\uXXXX`: a function (another
 * tenant's, when the operator tails it) must not be able to drive the reader's terminal (set its
 * clipboard or title, clear or overwrite what it shows).
 */
function printable(s: string): string {
  return s.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function format(e: TailEvent): string {
  const time = e.at.slice(11, 23);
  if (e.type === 'log') return `${time}  ${e.level.padEnd(5)} ${printable(e.text)}${e.requestId ? `  [${e.requestId}]` : ''}\n`;
  const cpu = e.cpuMs !== undefined ? ` cpu ${e.cpuMs} ms` : '';
  const version = e.version !== null ? ` v${e.version}` : '';
  let out = `${time}  ${e.method} ${printable(e.path)} ${e.status} ${e.outcome} ${e.ms} ms${cpu}${version}  [${e.requestId}]\n`;
  for (const l of e.logs) out += `    ${l.level.padEnd(5)} ${printable(l.text)}\n`;
  if (e.droppedLogs) out += `    … ${e.droppedLogs} more console lines not kept\n`;
  return out;
}
