/**
 * The messages between a WorkerPool (gateway thread) and its worker threads. Everything is plain
 * structured-clone data; request and response bodies travel in the transfer list, whole or, when
 * they stream, chunk by chunk through the StreamPort messages (stream-port.ts) of each side.
 */

/** A request or response as it crosses: the body whole, or the id of the sender's exported stream. */
export type WireRequest = Omit<GuestRequest, 'stream'> & { bodyStream?: number };
export type WireResponse = Omit<GuestResponse, 'stream'> & { bodyStream?: number };
import type { Artifact } from '../../contract/artifact.ts';
import type { FunctionConfig } from '../../contract/config.ts';
import type { WireError } from '../../contract/errors.ts';
import type { GuestRequest, GuestResponse, InvocationUsage } from '../invocation.ts';
import type { BoundOp, GuestLogEntry } from '../host/services.ts';
import type { DeployOptions, FunctionStats, RuntimeCounts, RuntimeOptions } from '../runtime.ts';
import type { SandboxPoolStats } from '../function-host.ts';
import type { StreamMessage } from './stream-port.ts';

/**
 * A module a worker imports to build its host operations (fetch, KV …), since functions cannot be
 * sent to a thread. It must export `createOps(options)` returning an `OpsProvider` (or a promise
 * of one); `options` must be structured-cloneable.
 */
export interface OpsModule {
  /** A file URL or absolute path. */
  module: string;
  options?: unknown;
}

export interface OpsProvider {
  ops: Record<string, BoundOp>;
  close?(): void | Promise<void>;
}

export interface WorkerInit {
  runtime: Omit<RuntimeOptions, 'log' | 'ops'>;
  ops: OpsModule[];
  reportIntervalMs: number;
}


/** Deadlines cross threads as epoch milliseconds: each thread has its own performance.now() origin. */
export const toEpoch = (deadline: number): number => performance.timeOrigin + deadline;
export const fromEpoch = (epoch: number): number => epoch - performance.timeOrigin;

export type ToWorker =
  /**
   * A version goes live; `artifact` is sent along only when the pool was given the artifact itself,
   * otherwise (`sha256`) the worker asks for it (`need`) the first time it starts an instance of it.
   */
  | { t: 'deploy'; id: number; name: string; version: number; artifact?: Artifact; sha256: string; config: FunctionConfig; options?: DeployOptions }
  /** The answer to a `need`: the verified artifact, or why it could not be loaded. */
  | { t: 'artifact'; id: number; artifact?: Artifact; error?: WireError }
  | { t: 'undeploy'; id: number; name: string }
  | { t: 'invoke'; id: number; name: string; version?: number; req: WireRequest; requestId?: string; deadline: number }
  | { t: 'scheduled'; id: number; name: string; controller: { cron: string; scheduledTime: number }; requestId?: string; deadline: number }
  | { t: 'stats'; id: number }
  | { t: 'close'; id: number }
  /** Test hook (WorkerPool.simulateFault): an uncaught error, or a blocked event loop. */
  | { t: 'fault'; fault: 'throw' | 'hang'; hangMs: number }
  | StreamMessage;

export interface WorkerReport {
  stats: FunctionStats[];
  counts: RuntimeCounts;
  poolStats: SandboxPoolStats[];
  coldStarts: number;
}

export type FromWorker =
  | { t: 'ready' }
  /** The artifact of a deployed version, which this thread is about to start for the first time (or again after dropping it). */
  | { t: 'need'; id: number; name: string; version: number }
  | { t: 'log'; entry: GuestLogEntry }
  | {
      t: 'result';
      id: number;
      response: WireResponse;
      cold: boolean;
      coldMs: number;
      execMs: number;
      instanceId: number;
      coldStarts: number;
      usage: InvocationUsage;
      /** False when the invocation's waitUntil work already settled; else a `background` message follows. */
      background: boolean;
    }
  /** The invocation's waitUntil work is done; `usage` is the whole invocation's. */
  | { t: 'background'; id: number; usage?: InvocationUsage }
  /** Completion of a deploy, undeploy, scheduled or close; `error` when it failed. */
  | { t: 'done'; id: number; error?: WireError; value?: unknown }
  | ({ t: 'report'; id?: number } & WorkerReport)
  | StreamMessage;
