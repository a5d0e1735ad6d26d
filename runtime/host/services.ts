import type { Invocation } from '../invocation.ts';
import type { LoadedFunction } from '../loaded-function.ts';
import type { LogLevel } from './op-table.ts';

export type { LogLevel } from './op-table.ts';

export interface GuestLogEntry {
  fn: string;
  version: number;
  requestId?: string;
  level: LogLevel;
  text: string;
  /** 'guest' for console.* output, 'runtime' for what the runtime says about the function. */
  source: 'guest' | 'runtime';
  /** Log records of the guest dropped by the volume caps since the last entry that carried this (see LogLimits). */
  dropped?: number;
}

export interface OpContext {
  fn: LoadedFunction;
  invocation: Invocation;
}

/**
 * A host operation served by the embedder (fetch, KV …), declared in op-table.ts with kind "bound".
 * `args` are what the table declares, read and checked by the engine (JSON arguments parsed).
 */
export type BoundOp = (args: any[], ctx: OpContext) => unknown;

/** What the runtime asks of its embedder (the gateway, `faas run`, tests). */
export interface HostServices {
  log(entry: GuestLogEntry): void;
  ops: Record<string, BoundOp>;
}
