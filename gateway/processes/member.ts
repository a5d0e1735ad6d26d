/**
 * A gateway process's part in `faas serve --processes <n>`: it tells the supervisor of the changes it
 * made (and waits until every other process applied them), applies the changes others made (the same
 * apply path as a cluster store's change feed: re-read the rows named), answers and makes /metrics
 * scrapes of the whole group, and knows which processes serve now (cron runs in the lowest slot; rate
 * limits are shared by all).
 */
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { sizeOf, type LogHub, type TailEvent } from '../logs/hub.ts';
import type { ChangeKind } from '../store/postgres.ts';
import { FromSupervisor, parseMessage, SLOT_ENV, type FromMember, type MetricJson } from './messages.ts';

/** How long a process waits for the supervisor's answer before going on without it (the supervisor bounds its own wait well below). */
const ANSWER_MS = 60_000;
/** How long a /metrics scrape waits for the other processes' metrics. */
const GATHER_MS = 5_000;
/**
 * Live-log bytes a process sends to the others a second, after a burst of twice that: a followed
 * function logging as fast as it can would otherwise queue without bound on the IPC channel, and
 * the supervisor (which also carries the change acknowledgements) would check and forward all of it.
 * Past it, events reach this process's followers only.
 */
const RELAY_BYTES_PER_SECOND = 1024 * 1024;
const RELAY_BURST_BYTES = 2 * RELAY_BYTES_PER_SECOND;

export class ProcessGroup {
  private nextId = 1;
  private readonly announced = new Map<number, () => void>();
  private readonly gathers = new Map<number, (parts: { slot: number; metrics: MetricJson[] }[] | undefined) => void>();
  private applyRemote: ((kind: ChangeKind, names: string[]) => Promise<void>) | undefined;
  /** Changes that arrived before the gateway could apply them (it was starting). */
  private backlog: { id: number; kind: ChangeKind; names: string[] }[] = [];
  /** Applies run one at a time, in the order the supervisor sent them. */
  private applying: Promise<void> = Promise.resolve();
  /** The slots serving, as the supervisor last said (undefined: not told yet). */
  private live: number[] | undefined;
  private metricsOf: (() => Promise<MetricJson[]>) | undefined;
  private slotsChanged: (slots: number) => void = () => {};
  /** Functions someone follows in some process (their live-log events are sent to the others). */
  private followed = new Set<string>();
  private onRelayed: (tenant: string, event: TailEvent) => void = () => {};
  /** Live-log bytes this process may still send to the others now (see RELAY_BYTES_PER_SECOND). */
  private relayBudget = RELAY_BURST_BYTES;
  private relayRefilled = performance.now();
  /** Events not relayed for the budget (the first of them is logged). */
  relayDropped = 0;
  /** Called when the supervisor says drain (or is gone). */
  onDrain: (graceMs: number | undefined) => void = () => {};

  private constructor(
    /** This process's slot, 0..n-1 (a replacement keeps the slot of the process it replaces). */
    readonly slot: number,
    private readonly logger: Logger,
  ) {
    process.on('message', (raw: unknown) => this.receive(raw));
    // The supervisor is gone (killed): nothing would relay changes any more; finish what is in flight and go.
    process.once('disconnect', () => this.onDrain(undefined));
  }

  /** This process's part, when it was started by the supervisor of `faas serve --processes`. */
  static join(logger: Logger): ProcessGroup | undefined {
    const raw = process.env[SLOT_ENV];
    if (!cluster.isWorker || raw === undefined || !/^\d{1,4}$/.test(raw)) return undefined;
    return new ProcessGroup(Number(raw), logger);
  }

  /** Processes serving now, this one included. */
  get size(): number {
    return this.live?.length || 1;
  }

  /**
   * Whether cron fires here: the lowest slot serving now. Not before the supervisor said which serve:
   * a replacement starting beside the leader would fire the same schedule a second time.
   */
  leadsCron(): boolean {
    return this.live?.[0] === this.slot;
  }

  /** Called when the number of processes serving changes (rate limits give each 1/n). */
  onSize(fn: (n: number) => void): void {
    this.slotsChanged = fn;
    fn(this.size);
  }

  /** Sets what applies another process's change (the registry and the control plane exist after the group). */
  onRemote(apply: (kind: ChangeKind, names: string[]) => Promise<void>): void {
    this.applyRemote = apply;
    const backlog = this.backlog;
    this.backlog = [];
    for (const c of backlog) this.apply(c.id, c.kind, c.names);
  }

  /** Resolves when every change received so far is applied. */
  caughtUp(): Promise<void> {
    return this.applying;
  }

  /**
   * A change this process committed: resolves once every other process applied it (or was replaced
   * for not answering in time). Never rejects: the change is committed either way.
   */
  announce(kind: ChangeKind, names: readonly string[]): Promise<void> {
    if (names.length === 0 || !process.connected) return Promise.resolve();
    const id = this.nextId++;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.announced.delete(id);
        this.logger.warn({ kind, names: names.slice(0, 20) }, 'the supervisor did not confirm a change reached every process; answering anyway');
        resolve();
      }, ANSWER_MS);
      this.announced.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
      if (!this.send({ t: 'change', id, kind, names: [...names] })) this.announced.get(id)?.();
    });
  }

  /**
   * Live logs across the group: followers here are counted by the supervisor, events made here of a
   * function someone follows (anywhere) go to the others, and theirs arrive through `relayed`.
   */
  relayLogs(hub: { onFollow: LogHub['onFollow']; onEvent: LogHub['onEvent']; relayed: LogHub['relayed'] }): void {
    hub.onFollow = (name, delta) => void this.send({ t: 'follow', name, delta: delta > 0 ? 1 : -1 });
    hub.onEvent = (tenant, event) => {
      if (!this.followed.has(event.function)) return;
      const now = performance.now();
      this.relayBudget = Math.min(RELAY_BURST_BYTES, this.relayBudget + ((now - this.relayRefilled) / 1000) * RELAY_BYTES_PER_SECOND);
      this.relayRefilled = now;
      const size = sizeOf(event);
      if (size > this.relayBudget) {
        if (this.relayDropped++ === 0) {
          this.logger.warn({ function: event.function, bytesPerSecond: RELAY_BYTES_PER_SECOND }, 'live-log events over the relay budget reach this process\'s followers only');
        }
        return;
      }
      this.relayBudget -= size;
      this.send({ t: 'log', tenant, event });
    };
    this.onRelayed = (tenant, event) => hub.relayed(tenant, event);
  }

  /** Where this process's own metrics come from (prom-client JSON). */
  metricsFrom(fn: () => Promise<MetricJson[]>): void {
    this.metricsOf = fn;
  }

  /**
   * The whole group's metrics in the Prometheus text format: counters and histograms summed over the
   * processes, gauges per process (a `process` label) unless they declare another aggregator.
   */
  scrape(): Promise<{ text: string; contentType: string }> {
    // concurrent scrapes here share one gather and one merge (/metrics needs no token)
    this.scraping ??= this.scrapeNow().finally(() => (this.scraping = undefined));
    return this.scraping;
  }

  private scraping: Promise<{ text: string; contentType: string }> | undefined;
  private collecting: Promise<MetricJson[] | undefined> | undefined;

  private async scrapeNow(): Promise<{ text: string; contentType: string }> {
    const id = this.nextId++;
    const parts = await new Promise<{ slot: number; metrics: MetricJson[] }[] | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.gathers.delete(id);
        resolve(undefined);
      }, GATHER_MS);
      this.gathers.set(id, (p) => {
        clearTimeout(timer);
        this.gathers.delete(id);
        resolve(p);
      });
      if (!this.send({ t: 'gather', id })) this.gathers.get(id)?.(undefined);
    });
    const own = async () => [{ slot: this.slot, metrics: (await this.metricsOf?.()) ?? [] }];
    let merged: Registry;
    try {
      // The supervisor away: this process's own metrics are better than none.
      merged = mergeMetrics(parts ?? (await own()));
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'the processes\' metrics could not be merged; answering with this process\'s own');
      merged = mergeMetrics(await own());
    }
    return { text: await merged.metrics(), contentType: merged.contentType };
  }

  /** Tells the supervisor something about this process (listening, ready). */
  send(msg: FromMember): boolean {
    if (!process.connected || !process.send) return false;
    try {
      process.send(msg);
      return true;
    } catch {
      return false;
    }
  }

  private receive(raw: unknown): void {
    const msg = parseMessage(FromSupervisor, raw);
    if (!msg) {
      this.logger.error({ type: typeof raw }, 'dropped a message from the supervisor that is not one of its messages');
      return;
    }
    switch (msg.t) {
      case 'apply':
        if (this.applyRemote) this.apply(msg.id, msg.kind, msg.names);
        else this.backlog.push(msg);
        return;
      case 'done':
        this.announced.get(msg.id)?.();
        this.announced.delete(msg.id);
        return;
      case 'collect':
        void (async () => {
          this.collecting ??= (this.metricsOf?.() ?? Promise.resolve(undefined)).catch(() => undefined).finally(() => (this.collecting = undefined));
          const metrics = await this.collecting;
          this.send({ t: 'metrics', id: msg.id, metrics: metrics ?? [] });
        })();
        return;
      case 'gathered':
        this.gathers.get(msg.id)?.(msg.parts);
        return;
      case 'slots': {
        const before = this.size;
        this.live = [...msg.slots].sort((a, b) => a - b);
        if (this.size !== before) this.slotsChanged(this.size);
        return;
      }
      case 'followed':
        this.followed = new Set(msg.names);
        return;
      case 'log':
        this.onRelayed(msg.tenant, msg.event as TailEvent);
        return;
      case 'drain':
        this.onDrain(msg.graceMs);
        return;
    }
  }

  private apply(id: number, kind: ChangeKind, names: string[]): void {
    const apply = this.applyRemote!;
    this.applying = this.applying
      .then(() => apply(kind, names))
      .catch((err: unknown) => this.logger.warn({ kind, names: names.slice(0, 20), err: (err as Error)?.message }, 'applying a change from another process failed'))
      .then(() => void this.send({ t: 'applied', id }));
  }
}

/** Gauges summed across processes would mean nothing (queue depth, heap): each keeps its process's value, labelled. */
export function mergeMetrics(parts: readonly { slot: number; metrics: readonly MetricJson[] }[]): Registry {
  const labelled = parts.map(({ slot, metrics }) =>
    metrics.map((m) => {
      const aggregator = m.aggregator ?? 'sum';
      if (m.type !== 'gauge' || aggregator !== 'sum') return { ...m, aggregator };
      return { ...m, aggregator, values: m.values.map((v) => ({ ...v, labels: { ...v.labels, process: String(slot) } })) };
    }),
  );
  return AggregatorRegistry.aggregate(labelled as Parameters<typeof AggregatorRegistry.aggregate>[0]);
}
