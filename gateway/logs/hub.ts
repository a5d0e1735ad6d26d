/**
 * Live logs: each function's recent console output and invocation records, in a bounded ring buffer,
 * and live subscribers (`GET /admin/functions/<n>/logs?follow=1`, `faas tail`). Console lines of a
 * request are held until its invocation record arrives and travel inside it, as `wrangler tail`
 * shows them; lines with no request to wait for (a cron firing, waitUntil work after the response,
 * a request that takes longer than PENDING_MS) are events of their own.
 */
import { FaasError } from '../../contract/errors.ts';

export interface LogLine {
  at: string;
  level: string;
  /** 'guest' for console output, 'runtime' for what the runtime says about the function. */
  source: string;
  text: string;
}

export interface InvocationEvent {
  type: 'invocation';
  at: string;
  function: string;
  version: number | null;
  requestId: string;
  method: string;
  path: string;
  /** HTTP status sent. */
  status: number;
  /** "ok", or the error code. */
  outcome: string;
  ms: number;
  queueMs?: number;
  execMs?: number;
  cpuMs?: number;
  cold?: boolean;
  logs: LogLine[];
  /** Lines over the per-request cap that were not kept. */
  droppedLogs?: number;
}

export interface LogEvent extends LogLine {
  type: 'log';
  function: string;
  version: number | null;
  requestId: string | null;
}

export type TailEvent = InvocationEvent | LogEvent;

export interface TailFilter {
  /** "ok", "error", an HTTP status ("404") or a class ("5xx"): invocation events only. */
  status?: string;
  /** Case-insensitive substring of a console line, the path, the outcome or the request id. */
  search?: string;
}

export interface LogHubLimits {
  /** Events kept per function. */
  eventsPerFunction: number;
  /** Bytes (text) kept per function. */
  bytesPerFunction: number;
  /** Console lines kept with one invocation. */
  linesPerInvocation: number;
  /** Live subscribers per function, and in all. */
  subscribersPerFunction: number;
  subscribers: number;
}

export const DEFAULT_LOG_HUB_LIMITS: LogHubLimits = {
  eventsPerFunction: 200,
  bytesPerFunction: 256 * 1024,
  linesPerInvocation: 100,
  subscribersPerFunction: 16,
  subscribers: 256,
};

/** How long a request's console lines wait for its invocation record. */
const PENDING_MS = 30_000;
/** A function's buffer is dropped after this long without an event. */
const IDLE_MS = 15 * 60_000;

interface Ring {
  events: TailEvent[];
  bytes: number;
  touched: number;
  /** Console lines waiting for their request's invocation record, by request id. */
  pending: Map<string, { since: number; lines: LogLine[]; dropped: number; version: number | null }>;
  subscribers: Set<Subscriber>;
}

interface Subscriber {
  filter: Compiled;
  send: (event: TailEvent) => void;
}

type Compiled = (e: TailEvent) => boolean;

export class LogHub {
  private readonly rings = new Map<string, Ring>();
  private subscriberCount = 0;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  private readonly closers = new Set<() => void>();

  constructor(private readonly limits: LogHubLimits = DEFAULT_LOG_HUB_LIMITS) {
    this.sweeper = setInterval(() => this.sweep(), 5_000);
    this.sweeper.unref();
  }

  /** A console line (already masked of secrets). */
  log(fn: string, version: number | null, requestId: string | undefined, level: string, source: string, text: string): void {
    const ring = this.ring(fn);
    const line: LogLine = { at: new Date().toISOString(), level, source, text };
    if (requestId) {
      let p = ring.pending.get(requestId);
      if (!p && ring.pending.size < 1024) ring.pending.set(requestId, (p = { since: performance.now(), lines: [], dropped: 0, version }));
      if (p) {
        if (p.lines.length < this.limits.linesPerInvocation) p.lines.push(line);
        else p.dropped++;
        return;
      }
    }
    this.emit(ring, { type: 'log', function: fn, version, requestId: requestId ?? null, ...line });
  }

  /** An invocation finished: its record goes out with the console lines it logged. */
  invocation(record: Omit<InvocationEvent, 'type' | 'at' | 'logs'>): void {
    const ring = this.ring(record.function);
    const p = ring.pending.get(record.requestId);
    if (p) ring.pending.delete(record.requestId);
    // Spelled out rather than spread: this runs on every request.
    const event: InvocationEvent = {
      type: 'invocation',
      at: new Date().toISOString(),
      function: record.function,
      version: record.version,
      requestId: record.requestId,
      method: record.method,
      path: record.path,
      status: record.status,
      outcome: record.outcome,
      ms: record.ms,
      queueMs: record.queueMs,
      execMs: record.execMs,
      cpuMs: record.cpuMs,
      cold: record.cold,
      logs: p?.lines ?? [],
    };
    if (p?.dropped) event.droppedLogs = p.dropped;
    this.emit(ring, event);
  }

  /** The function's recent events, oldest first, filtered. */
  recent(fn: string, filter: TailFilter = {}, limit = this.limits.eventsPerFunction): TailEvent[] {
    const ring = this.rings.get(fn);
    if (!ring) return [];
    const match = compile(filter);
    return limit <= 0 ? [] : ring.events.filter(match).slice(-limit);
  }

  /** Calls `send` with each new event of `fn` that passes `filter`; returns the unsubscribe. */
  subscribe(fn: string, filter: TailFilter, send: (event: TailEvent) => void, onClose: () => void): () => void {
    if (this.closed) throw new FaasError('unavailable', 'the gateway is shutting down', { retryAfterSeconds: 1 });
    const ring = this.ring(fn);
    if (ring.subscribers.size >= this.limits.subscribersPerFunction || this.subscriberCount >= this.limits.subscribers) {
      throw new FaasError('overloaded', `too many live log streams (at most ${this.limits.subscribersPerFunction} per function and ${this.limits.subscribers} in all)`);
    }
    const sub: Subscriber = { filter: compile(filter), send };
    ring.subscribers.add(sub);
    this.subscriberCount++;
    this.closers.add(onClose);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      ring.subscribers.delete(sub);
      this.subscriberCount--;
      this.closers.delete(onClose);
    };
  }

  /** Forgets a deleted function's events (its followers, if any, keep their stream). */
  drop(name: string): void {
    const ring = this.rings.get(name);
    if (ring && ring.subscribers.size === 0) this.rings.delete(name);
  }

  /** Ends every live stream (a drain or close must not wait for followers). */
  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const close of [...this.closers]) close();
    this.closers.clear();
  }

  private ring(fn: string): Ring {
    let ring = this.rings.get(fn);
    if (!ring) this.rings.set(fn, (ring = { events: [], bytes: 0, touched: 0, pending: new Map(), subscribers: new Set() }));
    ring.touched = performance.now();
    return ring;
  }

  private emit(ring: Ring, event: TailEvent): void {
    const size = sizeOf(event);
    ring.events.push(event);
    ring.bytes += size;
    while (ring.events.length > 1 && (ring.events.length > this.limits.eventsPerFunction || ring.bytes > this.limits.bytesPerFunction)) {
      ring.bytes -= sizeOf(ring.events.shift()!);
    }
    for (const sub of ring.subscribers) {
      if (sub.filter(event)) sub.send(event);
    }
  }

  private sweep(): void {
    const now = performance.now();
    for (const [fn, ring] of this.rings) {
      for (const [id, p] of ring.pending) {
        if (now - p.since < PENDING_MS) continue;
        ring.pending.delete(id);
        for (const line of p.lines) this.emit(ring, { type: 'log', function: fn, version: p.version, requestId: id, ...line });
      }
      if (now - ring.touched > IDLE_MS && ring.subscribers.size === 0 && ring.pending.size === 0) this.rings.delete(fn);
    }
  }
}

function sizeOf(e: TailEvent): number {
  if (e.type === 'log') return e.text.length + 128;
  let n = 256 + e.path.length;
  for (const l of e.logs) n += l.text.length + 64;
  return n;
}

const STATUS_FILTER = /^(ok|error|[1-5]xx|[1-5][0-9][0-9])$/;

export function parseTailFilter(q: { status?: string; search?: string }): TailFilter {
  const out: TailFilter = {};
  if (q.status !== undefined && q.status !== '') {
    const s = q.status.toLowerCase();
    if (!STATUS_FILTER.test(s)) throw new FaasError('bad_request', `status filter must be "ok", "error", an HTTP status such as 404, or a class such as 5xx (got "${q.status.slice(0, 32)}")`);
    out.status = s;
  }
  if (q.search !== undefined && q.search !== '') {
    if (q.search.length > 256) throw new FaasError('bad_request', 'search filter must be at most 256 characters');
    out.search = q.search;
  }
  return out;
}

function compile(filter: TailFilter): Compiled {
  const status = filter.status;
  const needle = filter.search?.toLowerCase();
  return (e) => {
    if (status !== undefined) {
      if (e.type !== 'invocation') return false;
      if (status === 'ok' ? e.outcome !== 'ok' : status === 'error' ? e.outcome === 'ok' : !statusMatches(status, e.status)) return false;
    }
    if (needle !== undefined) {
      if (e.type === 'log') return e.text.toLowerCase().includes(needle);
      return (
        e.path.toLowerCase().includes(needle) ||
        e.outcome.includes(needle) ||
        e.requestId.toLowerCase().includes(needle) ||
        e.logs.some((l) => l.text.toLowerCase().includes(needle))
      );
    }
    return true;
  };
}

function statusMatches(filter: string, status: number): boolean {
  return filter.endsWith('xx') ? Math.floor(status / 100) === Number(filter[0]) : status === Number(filter);
}
