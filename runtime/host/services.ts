import type { GuestCode } from '../engine/types.ts';
import type { Invocation } from '../invocation.ts';
import type { LoadedFunction } from '../loaded-function.ts';

export type LogLevel = 'debug' | 'info' | 'log' | 'warn' | 'error';

export interface GuestLogEntry {
  fn: string;
  version: number;
  requestId?: string;
  level: LogLevel;
  text: string;
  /** 'guest' for console.* output, 'runtime' for what the runtime says about the function. */
  source: 'guest' | 'runtime';
}

export interface OpContext {
  fn: LoadedFunction;
  invocation: Invocation;
}

/** A host operation that needs the calling function and invocation (fetch, KV …). */
export type BoundOp = (args: unknown[], ctx: OpContext) => unknown;

/** What the runtime asks of its embedder (the gateway, `faas run`, tests). */
export interface HostServices {
  log(entry: GuestLogEntry): void;
  /** Lazy prelude chunks by name. */
  chunk(name: string): GuestCode | undefined;
  ops: Record<string, BoundOp>;
}
