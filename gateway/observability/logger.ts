import { pino, type DestinationStream, type Logger } from 'pino';
import type { GuestLogEntry } from '../../runtime/index.ts';
import type { FunctionHost } from '../../runtime/index.ts';

export type { Logger } from 'pino';

/** JSON lines to `destination` (stdout by default); tests pass a stream to capture them. */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.FAAS_LOG_LEVEL ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Belt and braces: nothing should put these into a log record, but if it does they stay out.
      redact: { paths: ['config.secrets', '*.config.secrets', 'secrets', 'authorization', 'token', 'adminToken'], censor: '[redacted]' },
    },
    options.destination,
  );
}

const GUEST_LEVELS: Record<GuestLogEntry['level'], 'debug' | 'info' | 'warn' | 'error'> = {
  debug: 'debug',
  info: 'info',
  log: 'info',
  warn: 'warn',
  error: 'error',
};

/**
 * The runtime's log callback: guest console output (and what the runtime says about a function)
 * as log records tagged with function, version and request id. A function's secret values are
 * masked, so a guest that prints one does not put it in the gateway's logs.
 */
export function guestLogSink(
  logger: Logger,
  runtime: () => Pick<FunctionHost, 'get'> | undefined,
  onDropped?: (fn: string, records: number) => void,
  /** Also handed every line, secrets masked (the live logs). */
  tap?: (entry: GuestLogEntry, text: string) => void,
): (entry: GuestLogEntry) => void {
  return (entry) => {
    // Entries come from worker threads that run guest code: trust nothing about their shape.
    const level = Object.hasOwn(GUEST_LEVELS, entry.level) ? GUEST_LEVELS[entry.level] : 'info';
    const text = typeof entry.text === 'string' ? entry.text : String(entry.text);
    const host = runtime();
    const fn = String(entry.fn);
    const secrets = (host?.get(fn, typeof entry.version === 'number' ? entry.version : undefined) ?? host?.get(fn))?.config.secrets;
    const shown = secrets ? maskSecrets(text, Object.values(secrets)) : text;
    logger[level](
      { function: entry.fn, version: entry.version, requestId: entry.requestId, source: entry.source, guestLevel: entry.level, dropped: entry.dropped },
      shown,
    );
    tap?.(entry, shown);
    if (typeof entry.dropped === 'number' && entry.dropped > 0) onDropped?.(String(entry.fn), entry.dropped);
  };
}

function maskSecrets(text: string, values: string[]): string {
  let out = text;
  // Very short values would mask ordinary words and reveal little anyway.
  for (const v of values) if (v.length >= 4 && out.includes(v)) out = out.split(v).join('[secret]');
  return out;
}
