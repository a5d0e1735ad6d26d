/**
 * The supervisor of `faas serve --processes <n>`: forks n gateway processes that accept on one port
 * (node:cluster, SCHED_NONE: the kernel hands each connection to one process), relays every change a
 * process made to all the others and answers the first only when each applied it (a process that does
 * not answer within `ackMs` is killed and replaced), gathers /metrics from all for the one scraped,
 * replaces a process that dies, and drains them all on SIGTERM or SIGINT. It serves no request and
 * opens no store itself: everything shared lives in the data directory the processes open.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { FromMember, parseMessage, SLOT_ENV, SYNC_ENV, type FromSupervisor, type MetricJson } from './messages.ts';

export interface SupervisorOptions {
  processes: number;
  logger: Logger;
  /** A human-readable status line (stderr). */
  say: (line: string) => void;
  /** How long every other process gets to apply a change before it is killed and replaced. Default 10 s. */
  ackMs?: number;
  /** In-flight requests' time to finish on SIGTERM/SIGINT. */
  graceMs: number;
  /** Environment of every process (the admin token, chosen once for all). */
  env: Record<string, string>;
  /** Once every process is ready the first time: what to print. */
  onReady: (url: string, functions: number) => void;
}

interface Member {
  slot: number;
  worker: Worker;
  state: 'starting' | 'ready';
  startedAt: number;
}

interface Relay {
  origin: Member;
  /** The origin's id for the change. */
  id: number;
  waiting: Set<Member>;
  timer: NodeJS.Timeout;
}

interface Gather {
  /** The scrapes answered by this collection: each process's id for its `gather`. */
  origins: { member: Member; id: number }[];
  waiting: Set<Member>;
  parts: { slot: number; metrics: MetricJson[] }[];
  timer: NodeJS.Timeout;
}

/** A process that died this soon after it started waits before it is started again (doubling, up to 10 s). */
const CRASH_LOOP_MS = 5_000;
const GATHER_MS = 3_000;

export function superviseGateways(opts: SupervisorOptions): void {
  const ackMs = opts.ackMs ?? 10_000;
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  const members = new Map<number, Member>();
  const relays = new Map<number, Relay>();
  const gathers = new Map<number, Gather>();
  let nextId = 1;
  let restarts = 0;
  let gatherCount = 0;
  let url: string | undefined;
  let started = false;
  let draining = false;
  let drainFailed = false;
  const backoff = new Map<number, number>();
  /** Live-log followers per function, per process. */
  const follows = new Map<Member, Map<string, number>>();
  let followed = '';
  const announceFollowed = () => {
    const names = new Set<string>();
    for (const counts of follows.values()) for (const [name, n] of counts) if (n > 0) names.add(name);
    const key = [...names].sort().join('\n');
    if (key === followed) return;
    followed = key;
    for (const m of members.values()) send(m, { t: 'followed', names: [...names] });
  };

  const send = (m: Member, msg: FromSupervisor) => {
    if (!m.worker.isConnected()) return false;
    try {
      m.worker.send(msg);
      return true;
    } catch {
      return false;
    }
  };
  const serving = () => [...members.values()].filter((m) => m.state === 'ready').map((m) => m.slot).sort((a, b) => a - b);
  const announceSlots = () => {
    const slots = serving();
    for (const m of members.values()) send(m, { t: 'slots', slots });
  };

  const fork = (slot: number, sync: boolean) => {
    const worker = cluster.fork({ ...opts.env, [SLOT_ENV]: String(slot), [SYNC_ENV]: sync ? '1' : '' });
    const m: Member = { slot, worker, state: 'starting', startedAt: Date.now() };
    members.set(slot, m);
    worker.on('message', (raw: unknown) => receive(m, raw));
    worker.on('exit', (code, signal: string | null) => exited(m, code, signal));
    return m;
  };

  const receive = (m: Member, raw: unknown) => {
    if (members.get(m.slot) !== m) return;
    const msg = parseMessage(FromMember, raw);
    if (!msg) {
      opts.logger.error({ process: m.slot, pid: m.worker.process.pid }, 'dropped a message from a gateway process that is not one of its messages');
      return;
    }
    switch (msg.t) {
      case 'listening':
        if (url === undefined) {
          url = msg.url;
          opts.say(`faas gateway listening on ${url} (${opts.processes} processes; loading functions…)`);
          // The first process opened (and migrated) the stores and the signing key: the others can start together.
          for (let slot = 1; slot < opts.processes; slot++) fork(slot, false);
        }
        return;
      case 'ready': {
        m.state = 'ready';
        announceSlots();
        if (followed) send(m, { t: 'followed', names: followed.split('\n') });
        if (!started && serving().length === opts.processes) {
          started = true;
          opts.onReady(url!, msg.functions);
        } else if (started) {
          opts.logger.info({ process: m.slot, pid: m.worker.process.pid, ms: Date.now() - m.startedAt }, 'gateway process replaced');
        }
        return;
      }
      case 'change': {
        const relay: Relay = { origin: m, id: msg.id, waiting: new Set(), timer: undefined! };
        const sid = nextId++;
        for (const other of members.values()) {
          if (other === m) continue;
          if (!send(other, { t: 'apply', id: sid, kind: msg.kind, names: msg.names })) continue;
          // A process still starting applies what it was sent before it serves; only serving ones are waited for.
          if (other.state === 'ready') relay.waiting.add(other);
        }
        relays.set(sid, relay);
        relay.timer = setTimeout(() => {
          for (const late of relay.waiting) {
            opts.logger.error({ process: late.slot, pid: late.worker.process.pid, kind: msg.kind, ms: ackMs }, 'gateway process did not apply a change in time; replacing it');
            late.worker.process.kill('SIGKILL');
          }
        }, ackMs);
        settleRelay(sid);
        return;
      }
      case 'applied': {
        const relay = relays.get(msg.id);
        if (!relay) return;
        relay.waiting.delete(m);
        settleRelay(msg.id);
        return;
      }
      case 'gather': {
        // /metrics needs no token: scrapes arriving while a collection is under way share it, so a
        // storm of them costs one collection at a time, not n serializations and IPC payloads each
        const under = [...gathers.values()][0];
        if (under) {
          if (under.origins.length < 10_000) under.origins.push({ member: m, id: msg.id });
          return;
        }
        gatherCount++;
        const gid = nextId++;
        const g: Gather = { origins: [{ member: m, id: msg.id }], waiting: new Set(), parts: [{ slot: opts.processes, metrics: ownMetrics() }], timer: undefined! };
        for (const other of members.values()) if (other.state === 'ready' && send(other, { t: 'collect', id: gid })) g.waiting.add(other);
        gathers.set(gid, g);
        g.timer = setTimeout(() => finishGather(gid), GATHER_MS);
        if (g.waiting.size === 0) finishGather(gid);
        return;
      }
      case 'follow': {
        const counts = follows.get(m) ?? new Map<string, number>();
        follows.set(m, counts);
        const n = Math.max(0, (counts.get(msg.name) ?? 0) + msg.delta);
        if (n > 0) counts.set(msg.name, n);
        else counts.delete(msg.name);
        announceFollowed();
        return;
      }
      case 'log':
        // only where someone follows it: every process would otherwise get (and buffer) n - 1 copies of each event
        for (const other of members.values()) if (other !== m && other.state === 'ready' && follows.get(other)?.has(msg.event.function)) send(other, msg);
        return;
      case 'metrics': {
        const g = gathers.get(msg.id);
        if (!g || !g.waiting.delete(m)) return;
        g.parts.push({ slot: m.slot, metrics: msg.metrics });
        if (g.waiting.size === 0) finishGather(msg.id);
        return;
      }
    }
  };

  const settleRelay = (sid: number) => {
    const relay = relays.get(sid);
    if (!relay || relay.waiting.size > 0) return;
    clearTimeout(relay.timer);
    relays.delete(sid);
    send(relay.origin, { t: 'done', id: relay.id });
  };

  const finishGather = (gid: number) => {
    const g = gathers.get(gid);
    if (!g) return;
    clearTimeout(g.timer);
    gathers.delete(gid);
    for (const o of g.origins) if (members.get(o.member.slot) === o.member) send(o.member, { t: 'gathered', id: o.id, parts: g.parts });
  };

  /** What only the supervisor knows: how many processes serve, how many were replaced. */
  const ownMetrics = (): MetricJson[] => [
    { name: 'faas_processes', help: 'Gateway processes serving (faas serve --processes)', type: 'gauge', aggregator: 'first', values: [{ value: serving().length, labels: {} }] },
    { name: 'faas_process_restarts_total', help: 'Gateway processes that died and were replaced', type: 'counter', aggregator: 'first', values: [{ value: restarts, labels: {} }] },
    { name: 'faas_process_metrics_gathers_total', help: 'Collections of every process\'s metrics for /metrics scrapes (concurrent scrapes share one)', type: 'counter', aggregator: 'first', values: [{ value: gatherCount, labels: {} }] },
  ];

  const exited = (m: Member, code: number | null, signal: string | null) => {
    if (members.get(m.slot) !== m) return;
    members.delete(m.slot);
    if (follows.delete(m)) announceFollowed();
    // It will not answer: changes and scrapes stop waiting for it (its replacement starts from the registry).
    for (const [sid, relay] of relays) if (relay.waiting.delete(m)) settleRelay(sid);
    for (const [sid, relay] of relays) {
      if (relay.origin === m) {
        clearTimeout(relay.timer);
        relays.delete(sid);
      }
    }
    for (const [gid, g] of gathers) {
      g.origins = g.origins.filter((o) => o.member !== m);
      if (g.origins.length === 0) {
        clearTimeout(g.timer);
        gathers.delete(gid);
      } else if (g.waiting.delete(m) && g.waiting.size === 0) finishGather(gid);
    }
    if (draining) {
      if (code !== 0) drainFailed = true;
      if (members.size === 0) process.exit(drainFailed ? 1 : 0);
      return;
    }
    if (!started) {
      // A process that cannot start (a port in use, a bad option): neither can the others.
      opts.say(`error: gateway process ${m.slot} exited while starting (code ${code}, signal ${signal})`);
      for (const other of members.values()) other.worker.process.kill('SIGKILL');
      process.exit(1);
    }
    restarts++;
    announceSlots();
    const quick = Date.now() - m.startedAt < CRASH_LOOP_MS;
    const delay = quick ? Math.min(10_000, (backoff.get(m.slot) ?? 50) * 2) : 0;
    backoff.set(m.slot, quick ? delay : 50);
    opts.logger.error({ process: m.slot, pid: m.worker.process.pid, code, signal, restartInMs: delay }, 'gateway process died; replacing it');
    setTimeout(() => {
      if (!draining && !members.has(m.slot)) fork(m.slot, false);
    }, delay).unref();
  };

  let signalled = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) {
      opts.say(`${signal} again: exiting without waiting`);
      for (const m of members.values()) m.worker.process.kill('SIGKILL');
      process.exit(1);
    }
    signalled = true;
    draining = true;
    opts.say(`${signal}: draining ${members.size} processes (up to ${opts.graceMs} ms)`);
    if (members.size === 0) process.exit(0);
    for (const m of members.values()) if (!send(m, { t: 'drain', graceMs: opts.graceMs })) m.worker.process.kill('SIGTERM');
    // Each process bounds its own drain; this bounds a process that hangs anyway.
    setTimeout(() => {
      for (const m of members.values()) m.worker.process.kill('SIGKILL');
      process.exit(1);
    }, opts.graceMs + 10_000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  // The first process alone: it creates the signing key, migrates the databases and syncs the functions directory.
  fork(0, true);
}
