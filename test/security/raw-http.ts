/**
 * HTTP/1.1 as a hostile client speaks it: raw bytes on a loopback socket, written when and how the
 * test says (trickled, malformed, never finished), and whatever comes back, including whether the
 * gateway closed the connection.
 */
import { connect } from 'node:net';

export interface RawExchange {
  /** Everything the gateway sent, as latin1 text. */
  text: string;
  /** Status codes of every response head seen, in order (100 Continue included). */
  statuses: number[];
  /** The gateway closed (or reset) the connection before `timeoutMs`. */
  closed: boolean;
  /** ms from connecting until the connection closed (or the timeout). */
  ms: number;
}

export interface RawStep {
  /** Bytes to write (a string is sent as latin1). */
  data: string | Buffer;
  /** Wait this long before writing it. */
  delayMs?: number;
}

/**
 * Connects to `url`'s host and port, writes the steps in order, and collects the answer until the
 * gateway closes the connection, `until(text)` holds, or `timeoutMs` passes. Writes after the
 * connection closed are dropped.
 */
export function rawHttp(url: string, steps: (string | RawStep)[], opts: { timeoutMs?: number; until?: (text: string) => boolean } = {}): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
      resolve({ text, statuses, closed, ms: performance.now() - started });
    };
    socket.on('data', (d) => {
      chunks.push(d);
      if (opts.until?.(Buffer.concat(chunks).toString('latin1'))) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    timers.push(setTimeout(() => finish(false), timeoutMs));
    socket.once('connect', async () => {
      for (const step of steps) {
        const s = typeof step === 'string' ? { data: step } : step;
        if (s.delayMs) await new Promise((r) => timers.push(setTimeout(r, s.delayMs)));
        if (done || socket.destroyed) return;
        socket.write(typeof s.data === 'string' ? Buffer.from(s.data, 'latin1') : s.data);
      }
    });
  });
}

/** The JSON body of the last response in a raw exchange (Content-Length framed). */
export function lastJsonBody(text: string): any {
  const start = text.lastIndexOf('\r\n\r\n');
  return JSON.parse(text.slice(start + 4));
}

/** `name: value` of the last response head in a raw exchange, lower-cased names. */
export function lastHeaders(text: string): Record<string, string> {
  const heads = text.split(/\r\n\r\n/);
  // The last head is the one before the last body (or the very last part when there is no body).
  const head = [...heads].reverse().find((h) => /^HTTP\/1\.1 /m.test(h)) ?? '';
  const out: Record<string, string> = {};
  for (const line of head.slice(head.lastIndexOf('HTTP/1.1 ')).split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}
