/**
 * What the supervisor of `faas serve --processes <n>` and its gateway processes say to each other over
 * node:cluster's IPC channel. Every message is checked against these schemas on arrival, by both
 * sides: one that does not match is dropped and logged, never acted on (a process is a peer, not a
 * trusted party, and a bug in one must not take the others down).
 */
import { z } from 'zod';

const NAME = z.string().min(1).max(256);
const NAMES = z.array(NAME).max(10_000);
const ID = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const KIND = z.enum(['function', 'tenant']);

/** A Prometheus metric as prom-client's `getMetricsAsJSON()` gives it (only what the aggregator reads). */
const METRIC = z
  .object({
    name: z.string().max(256),
    help: z.string().max(4096),
    type: z.enum(['counter', 'gauge', 'histogram', 'summary']),
    aggregator: z.enum(['omit', 'sum', 'first', 'min', 'max', 'average']).optional(),
    values: z
      .array(
        z
          .object({
            value: z.number(),
            labels: z.record(z.string(), z.union([z.string(), z.number()])),
            metricName: z.string().max(256).optional(),
          })
          .passthrough(),
      )
      // a series per function, 16 in the duration histogram: 100,000 functions served by one process
      // are 1.6 million values (a lower cap dropped such a process's metrics from every scrape)
      .max(2_000_000),
  })
  .passthrough();
export type MetricJson = z.infer<typeof METRIC>;
const METRICS = z.array(METRIC).max(10_000);

/** A live-log event (gateway/logs/hub.ts TailEvent): checked for what the hub reads to file and filter it. */
const LINE = z.object({ at: z.string().max(64), level: z.string().max(32), source: z.string().max(32), text: z.string().max(1024 * 1024) });
const TAIL_EVENT = z.discriminatedUnion('type', [
  LINE.extend({ type: z.literal('log'), function: NAME, version: z.number().int().nullable(), requestId: z.string().max(256).nullable() }),
  z.object({
    type: z.literal('invocation'),
    at: z.string().max(64),
    function: NAME,
    version: z.number().int().nullable(),
    requestId: z.string().max(256),
    method: z.string().max(32),
    path: z.string().max(64 * 1024),
    status: z.number().int(),
    outcome: z.string().max(64),
    ms: z.number(),
    queueMs: z.number().optional(),
    execMs: z.number().optional(),
    cpuMs: z.number().optional(),
    cold: z.boolean().optional(),
    logs: z.array(LINE).max(10_000),
    droppedLogs: z.number().int().nonnegative().optional(),
  }),
]);
const LOG = z.object({ t: z.literal('log'), tenant: NAME, event: TAIL_EVENT });

/** From a gateway process to the supervisor. */
export const FromMember = z.discriminatedUnion('t', [
  /** Bound to the shared port (the URL is the same for every process). */
  z.object({ t: z.literal('listening'), url: z.string().max(2048) }),
  /** Serving: functions loaded, /readyz 200. */
  z.object({ t: z.literal('ready'), functions: z.number().int().nonnegative() }),
  /** A change this process made (already committed): every other process must apply it before `done`. */
  z.object({ t: z.literal('change'), id: ID, kind: KIND, names: NAMES }),
  /** This process applied the supervisor's `apply` of that id. */
  z.object({ t: z.literal('applied'), id: ID }),
  /** A /metrics scrape reached this process: the supervisor gathers every process's metrics. */
  z.object({ t: z.literal('gather'), id: ID }),
  /** This process's metrics, for the supervisor's `collect` of that id. */
  z.object({ t: z.literal('metrics'), id: ID, metrics: METRICS }),
  /** A live-log follower of `name` started (+1) or ended (-1) here. */
  z.object({ t: z.literal('follow'), name: NAME, delta: z.union([z.literal(1), z.literal(-1)]) }),
  /** A live-log event made here, of a function someone follows (in any process). */
  LOG,
]);
export type FromMember = z.infer<typeof FromMember>;

/** From the supervisor to a gateway process. */
export const FromSupervisor = z.discriminatedUnion('t', [
  /** Apply another process's change (re-read the rows named), then answer `applied`. */
  z.object({ t: z.literal('apply'), id: ID, kind: KIND, names: NAMES }),
  /** Every live process applied this process's change `id` (or was replaced). */
  z.object({ t: z.literal('done'), id: ID }),
  /** Send this process's metrics (`metrics` with the same id). */
  z.object({ t: z.literal('collect'), id: ID }),
  /** The answer to this process's `gather`: every process's metrics, the supervisor's own included. */
  z.object({ t: z.literal('gathered'), id: ID, parts: z.array(z.object({ slot: z.number().int().nonnegative(), metrics: METRICS })).max(1024) }),
  /** The slots of the processes serving now, ascending (cron fires in the first; rate limits are shared by all). */
  z.object({ t: z.literal('slots'), slots: z.array(z.number().int().nonnegative()).max(1024) }),
  /** The functions someone follows in some process: their events are sent to the supervisor. */
  z.object({ t: z.literal('followed'), names: NAMES }),
  /** Another process's live-log event. */
  LOG,
  /** Stop taking requests, finish those in flight (up to graceMs), exit. */
  z.object({ t: z.literal('drain'), graceMs: z.number().int().nonnegative().max(86_400_000) }),
]);
export type FromSupervisor = z.infer<typeof FromSupervisor>;

/** The message, or undefined when it is not one of `schema`'s. */
export function parseMessage<T>(schema: z.ZodType<T>, raw: unknown): T | undefined {
  const r = schema.safeParse(raw);
  return r.success ? r.data : undefined;
}

/** Environment a gateway process is started with: its slot, and whether it syncs the functions directory. */
export const SLOT_ENV = 'FAAS_PROCESS_SLOT';
export const SYNC_ENV = 'FAAS_PROCESS_SYNC';
