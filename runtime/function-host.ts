import type { Artifact } from '../contract/artifact.ts';
import type { FunctionConfig } from '../contract/config.ts';
import type { Isolation } from './engine/types.ts';
import type { GuestRequest } from './invocation.ts';
import type { ArtifactSource } from './loaded-function.ts';
import type { DeployOptions, FunctionStats, InvokeOptions, InvokeResult, Runtime, RuntimeCounts } from './runtime.ts';

/** What the gateway needs to know about a live function version (a LoadedFunction is one). */
export interface DeployedFunction {
  readonly name: string;
  readonly version: number;
  readonly tenant: string;
  readonly config: FunctionConfig;
  readonly sha256: string;
}

export interface SandboxPoolStats {
  isolation: Isolation;
  ready: number;
  created: number;
  misses: number;
}

/** Load of one execution thread (a worker of a WorkerPool). */
export interface ThreadLoad {
  /** The slot index: stable across restarts, so it is a bounded metrics label. */
  worker: number;
  state: 'starting' | 'ready' | 'dead';
  /** Invocations sent to the thread that have not answered yet. */
  inflight: number;
  /** Invocations sent to this slot since the pool started (across restarts). */
  invocations: number;
  /** Times this slot's thread died and was replaced. */
  restarts: number;
  /** Function versions believed to have a resident instance on the thread (the affinity set). */
  warm: number;
}

export type HostInvokeResult = InvokeResult & {
  /** The worker slot that ran the invocation (absent when execution is in-process). */
  worker?: number;
};

/**
 * Where guest code runs, as the gateway sees it. The in-process `Runtime` is one (`--workers 0`);
 * `WorkerPool` is the other: the same calls, executed on worker threads that each own a Runtime.
 *
 * `deploy` and `undeploy` may finish asynchronously; an implementation must order them with
 * invocations: an invoke issued after `deploy()` returned (even before its promise settled) runs
 * the new version, and invocations already running finish on the version they started on.
 */
export interface FunctionHost {
  /** `artifact` itself, or where to read it when the function is first started (an ArtifactSource). */
  deploy(name: string, version: number, artifact: Artifact | ArtifactSource, config: FunctionConfig, options?: DeployOptions): DeployedFunction | Promise<DeployedFunction>;
  undeploy(name: string): boolean | Promise<boolean>;
  /** A live version of the function, or its primary one (the last deployed). */
  get(name: string, version?: number): DeployedFunction | undefined;
  /** The primary version of every function. */
  list(): DeployedFunction[];
  /** The live versions of a function (several during a gradual rollout). */
  versions(name: string): number[];
  invoke(name: string, req: GuestRequest, options?: InvokeOptions): Promise<HostInvokeResult>;
  scheduled(name: string, controller: { cron: string; scheduledTime: number }, options?: InvokeOptions): Promise<void>;
  /** Per function version: resident instances, guest heap and in-flight invocations (possibly a cached view). */
  stats(): FunctionStats[];
  poolStats(): SandboxPoolStats[];
  /** Deployed, loaded and resident counts and evictions (summed over threads; possibly a cached view). */
  counts(): RuntimeCounts;
  /** Disposes every instance (and thread). */
  close(): void | Promise<void>;
  /** Instances started so far. */
  readonly coldStarts: number;
  /** Brings `stats()` and `poolStats()` up to date (a pool asks its threads); absent when they are always live. */
  refreshStats?(): Promise<void>;
  /** Per-thread load; absent for in-process execution. */
  threads?(): ThreadLoad[];
  /** Threads that died and were replaced; absent for in-process execution. */
  readonly restarts?: number;
}

// The in-process runtime is a FunctionHost as it is.
type Assert<T extends true> = T;
export type RuntimeIsFunctionHost = Assert<Runtime extends FunctionHost ? true : false>;
