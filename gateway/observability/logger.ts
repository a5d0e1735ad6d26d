import { destination, pino, type DestinationStream, type Logger } from 'pino';
import type { GuestLogEntry } from '../../runtime/index.ts';
import type { FunctionHost } from '../../runtime/index.ts';

export type { Logger } from 'pino';

/** Log bytes held in memory while stdout does not take them (a reader that stopped reading); past it, lines are dropped. */
const STDOUT_BUFFER_BYTES = 16 * 1024 * 1024;
/** At exit, how long buffered lines may wait for a stalled stdout before they are dropped. */
const EXIT_FLUSH_MS = 2_000;

let stdoutDestination: DestinationStream | undefined;

/**
 * Stdout, written asynchronously (sonic-boom). pino's own default flushes it synchronously at exit and
 * retries EAGAIN forever: with a parent that stopped reading the pipe, `process.exit` never returned and
 * the gateway ignored SIGTERM. Here the flush at exit is bounded, and what the pipe does not take by
 * then is dropped; while running, at most STDOUT_BUFFER_BYTES wait for the reader. A reader that
 * closed its end (EPIPE) already turned the stream into a no-op (pino's broken-pipe filter).
 */
function stdout(): DestinationStream {
  if (stdoutDestination) return stdoutDestination;
  let giveUpAt = Infinity;
  const dest = destination({
    fd: process.stdout.fd ?? 1,
    sync: false,
    maxLength: STDOUT_BUFFER_BYTES,
    retryEAGAIN: () => performance.now() < giveUpAt,
  });
  // before pino's own exit hook (which would flush again, unbounded): bounded flush, then done
  process.prependOnceListener('exit', () => {
    giveUpAt = performance.now() + EXIT_FLUSH_MS;
    try {
      dest.flushSync();
    } catch {
      // the reader stalled or left: the rest is lost, the process exits anyway
    }
    dest.destroy();
  });
  return (stdoutDestination = dest);
}

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
    options.destination ?? stdout(),
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
