/**
 * Live logs: each function's recent console output and invocation records, in a bounded ring buffer,
 * and live subscribers (`GET /admin/functions/<n>/logs?follow=1`, `faas tail`). Console lines of a
 * request are held until its invocation record arrives and travel inside it, as `wrangler tail`
 * shows them; lines with no request to wait for (a cron firing, waitUntil work after the response,
 * a request that takes longer than PENDING_MS) are events of their own.
 *
 * A buffer belongs to the tenant that owns the function: function names are global, and one that a
 * tenant deleted can be taken by another. Events of any other tenant (an invocation of the old owner
 * still finishing) are dropped, and when a name stops being live or changes hands its buffer goes and
 * its followers' streams end, so nothing of one tenant's reaches another's reader.
 */
import { FaasError } from '../../contract/errors.ts';
import { every } from '../../contract/timers.ts';

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
  /** Live subscribers per function, per tenant (so that no tenant can take them all), and in all. */
  subscribersPerFunction: number;
  subscribersPerTenant: number;
  subscribers: number;
}

export const DEFAULT_LOG_HUB_LIMITS: LogHubLimits = {
  eventsPerFunction: 200,
  bytesPerFunction: 256 * 1024,
  linesPerInvocation: 100,
  subscribersPerFunction: 16,
  subscribersPerTenant: 64,
  subscribers: 256,
};

/** How long a request's console lines wait for its invocation record. */
const PENDING_MS = 30_000;
/** A function's buffer is dropped after this long without an event. */
const IDLE_MS = 15 * 60_000;

interface Ring {
  /** The tenant whose function this is. */
  tenant: string;
  events: TailEvent[];
  bytes: number;
  touched: number;
  /** Console lines waiting for their request's invocation record, by request id. */
  pending: Map<string, Pending>;
  /** Bytes those lines take (as sizeOf counts them): at most bytesPerFunction, like the buffer. */
  pendingBytes: number;
  subscribers: Set<Subscriber>;
}

interface Pending {
  since: number;
  lines: LogLine[];
  bytes: number;
  dropped: number;
  version: number | null;
}

interface Subscriber {
  filter: Compiled;
  send: (event: TailEvent) => void;
  close: () => void;
}

type Compiled = (e: TailEvent) => boolean;

/** Console lines of one function taken aside instead of into the live logs (see LogHub.capture). */
export interface LogCapture {
  readonly lines: LogLine[];
  /** Lines over the capture's cap that were not kept. */
  dropped: number;
  close(): void;
}

export class LogHub {
  private readonly rings = new Map<string, Ring>();
  private subscriberCount = 0;
  private readonly tenantSubscribers = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  private readonly closers = new Set<() => void>();
  /** A live function's tenant (the registry's, read as events arrive); until set, events are taken as their callers say. */
  ownerOf: ((fn: string) => string | undefined) | undefined;
  private readonly captures = new Map<string, LogCapture>();
  /**
   * With `faas serve --processes`: a follower started or ended here (+1, -1), and an event made here
   * (the group sends it to the other processes while anyone follows the function).
   */
  onFollow: ((fn: string, delta: number) => void) | undefined;
  onEvent: ((tenant: string, event: TailEvent) => void) | undefined;

  constructor(private readonly limits: LogHubLimits = DEFAULT_LOG_HUB_LIMITS) {
    this.sweeper = every(5_000, () => this.sweep());
  }

  /** A console line (already masked of secrets) of `tenant`'s function (undefined: not known, dropped). */
  log(fn: string, tenant: string | undefined, version: number | null, requestId: string | undefined, level: string, source: string, text: string): void {
    const line: LogLine = { at: isoNow(), level, source, text };
    const capture = this.captures.get(fn);
    if (capture) {
      if (capture.lines.length < this.limits.linesPerInvocation) capture.lines.push(line);
      else capture.dropped++;
      return;
    }
    const ring = this.ring(fn, tenant);
    if (!ring) return;
    if (requestId) {
      // Held lines are bounded like the buffer: waitUntil work logging after its response (whose
      // record never comes) would otherwise hold up to 1024 x 100 lines per function for PENDING_MS.
      const size = text.length + LINE_OVERHEAD;
      const fits = ring.pendingBytes + size <= this.limits.bytesPerFunction;
      let p = ring.pending.get(requestId);
      if (!p && fits && ring.pending.size < 1024) ring.pending.set(requestId, (p = { since: performance.now(), lines: [], bytes: 0, dropped: 0, version }));
      if (p) {
        if (fits && p.lines.length < this.limits.linesPerInvocation) {
          p.lines.push(line);
          p.bytes += size;
          ring.pendingBytes += size;
        } else p.dropped++;
        return;
      }
    }
    this.emit(ring, { type: 'log', function: fn, version, requestId: requestId ?? null, ...line });
  }

  /**
   * Every console line of `fn` goes to the returned capture (at most linesPerInvocation of them), not
   * into the live logs, until it is closed: for functions that live for one call and are never
   * listed (MCP run_code), whose lines belong to that call's answer and would only leave a ring behind.
   */
  capture(fn: string): LogCapture {
    const capture: LogCapture = {
      lines: [],
      dropped: 0,
      close: () => {
        if (this.captures.get(fn) === capture) this.captures.delete(fn);
      },
    };
    this.captures.set(fn, capture);
    return capture;
  }

  /** An invocation finished: its record goes out with the console lines it logged. */
  invocation(record: Omit<InvocationEvent, 'type' | 'at' | 'logs'>, tenant: string): void {
    const ring = this.ring(record.function, tenant);
    if (!ring) return;
    const p = ring.pending.get(record.requestId);
    if (p) {
      ring.pending.delete(record.requestId);
      ring.pendingBytes -= p.bytes;
    }
    // Spelled out rather than spread: this runs on every request.
    const event: InvocationEvent = {
      type: 'invocation',
      at: isoNow(),
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
  recent(fn: string, tenant: string, filter: TailFilter = {}, limit = this.limits.eventsPerFunction): TailEvent[] {
    const ring = this.rings.get(fn);
    if (!ring || ring.tenant !== tenant) return [];
    const match = compile(filter);
    return limit <= 0 ? [] : ring.events.filter(match).slice(-limit);
  }

  /** Calls `send` with each new event of `fn` that passes `filter`; returns the unsubscribe. */
  subscribe(fn: string, tenant: string, filter: TailFilter, send: (event: TailEvent) => void, onClose: () => void): () => void {
    if (this.closed) throw new FaasError('unavailable', 'the gateway is shutting down', { retryAfterSeconds: 1 });
    const ring = this.ring(fn, tenant);
    if (!ring) throw new FaasError('not_found', `function "${fn}" is not deployed`);
    const ofTenant = this.tenantSubscribers.get(tenant) ?? 0;
    const { subscribersPerFunction, subscribersPerTenant, subscribers } = this.limits;
    if (ring.subscribers.size >= subscribersPerFunction || ofTenant >= subscribersPerTenant || this.subscriberCount >= subscribers) {
      throw new FaasError(
        'overloaded',
        `too many live log streams (at most ${subscribersPerFunction} per function, ${subscribersPerTenant} per tenant and ${subscribers} in all)`,
      );
    }
    const sub: Subscriber = { filter: compile(filter), send, close: onClose };
    ring.subscribers.add(sub);
    this.subscriberCount++;
    this.tenantSubscribers.set(tenant, ofTenant + 1);
    this.closers.add(onClose);
    this.onFollow?.(fn, 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.onFollow?.(fn, -1);
      ring.subscribers.delete(sub);
      this.subscriberCount--;
      const left = (this.tenantSubscribers.get(tenant) ?? 1) - 1;
      if (left > 0) this.tenantSubscribers.set(tenant, left);
      else this.tenantSubscribers.delete(tenant);
      this.closers.delete(onClose);
    };
  }

  /**
   * The live functions and their tenants: the buffers of functions no longer deployed, or now another
   * tenant's, are dropped and their followers' streams ended. (The gateway gives a lookup instead, see
   * ownerOf, and rechecks names as they change.)
   */
  retain(owners: ReadonlyMap<string, string>): void {
    this.ownerOf = (fn) => owners.get(fn);
    for (const fn of [...this.rings.keys()]) this.recheck(fn);
  }

  /** After `fn` was deployed, deleted or changed hands: its buffer goes unless it is still its owner's. */
  recheck(fn: string): void {
    const ring = this.rings.get(fn);
    if (!ring || this.ownerOf?.(fn) === ring.tenant) return;
    this.rings.delete(fn);
    for (const sub of [...ring.subscribers]) sub.close();
  }

  /** Drops a function's buffer now (a throwaway function's, once its logs were read), unless someone follows it. */
  forget(fn: string): void {
    if (this.rings.get(fn)?.subscribers.size === 0) this.rings.delete(fn);
  }

  /** Ends every live stream (a drain or close must not wait for followers). */
  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const close of [...this.closers]) close();
    this.closers.clear();
  }

  /**
   * The buffer of `tenant`'s function `fn`, or undefined when `fn` is live as another tenant's. A name
   * not live (yet: a new function's module loading before the registry's sync) gets a buffer for the
   * tenant that logs; the next retain() drops it unless the name is then that tenant's.
   */
  private ring(fn: string, tenant: string | undefined): Ring | undefined {
    const owner = this.ownerOf?.(fn);
    if (tenant === undefined || (owner !== undefined && owner !== tenant)) return undefined;
    let ring = this.rings.get(fn);
    if (ring && ring.tenant !== tenant) {
      // the name changed hands since its buffer was made
      this.rings.delete(fn);
      for (const sub of [...ring.subscribers]) sub.close();
      ring = undefined;
    }
    if (!ring) this.rings.set(fn, (ring = { tenant, events: [], bytes: 0, touched: 0, pending: new Map(), pendingBytes: 0, subscribers: new Set() }));
    ring.touched = performance.now();
    return ring;
  }

  /** An event another process of the group made: kept and sent to followers here, as if made here. */
  relayed(tenant: string, event: TailEvent): void {
    if (this.closed) return;
    const ring = this.ring(event.function, tenant);
    if (ring) this.emit(ring, event, false);
  }

  private emit(ring: Ring, event: TailEvent, local = true): void {
    if (local) this.onEvent?.(ring.tenant, event);
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
        ring.pendingBytes -= p.bytes;
        for (const line of p.lines) this.emit(ring, { type: 'log', function: fn, version: p.version, requestId: id, ...line });
      }
      if (now - ring.touched > IDLE_MS && ring.subscribers.size === 0 && ring.pending.size === 0) this.rings.delete(fn);
    }
  }
}

let isoMs = 0;
let iso = '';
/** The time as ISO text, formatted once per millisecond: a busy gateway records many events in one. */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
}

/** What a console line costs besides its text (its time, level and source). */
const LINE_OVERHEAD = 64;

/** What an event costs in a buffer (and on the way to another process of --processes). */
export function sizeOf(e: TailEvent): number {
  if (e.type === 'log') return e.text.length + 128;
  let n = 256 + e.path.length;
  for (const l of e.logs) n += l.text.length + LINE_OVERHEAD;
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
