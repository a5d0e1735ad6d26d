/**
 * The one shape of a binding (bindings/<name>/): what a function's config may say about it, the host
 * operations it adds and their declarations, the guest chunk that puts it on `env`, and the modules
 * that serve it where guests run (host) and in the gateway. A definition (bindings/<name>/index.ts) is
 * plain data plus small pure functions, so the contract (config schema) and the runtime (op table) can
 * read it; the heavy parts are modules it names by URL and the embedders load.
 */
import type { z } from 'zod';
import type { Logger } from 'pino';
import type { OpDeclaration } from '../contract/host-ops.ts';

/** A name the binding puts on a function's `env`, and the guest chunk whose `binding(name)` makes its value. */
export interface EnvEntry {
  name: string;
  chunk: string;
}

/** What the compiler found out about a function's default export. */
export interface HandlerExports {
  verified: boolean;
  fetch: boolean;
  scheduled: boolean;
}

export interface BindingDefinition {
  readonly name: string;
  /** Function-config fields this binding owns (merged into contract/config.ts's schema). */
  readonly config: z.ZodRawShape;
  /** Host operations it adds, declared like the core ones (contract/host-ops.ts). */
  readonly ops?: Readonly<Record<string, OpDeclaration>>;
  /**
   * Its guest chunk: a prelude chunk (name, and entry relative to the binding's folder) whose default
   * export installs `{ binding(name) }`, the value `env[name]` gets. Bundled with the prelude, under
   * the prelude's rules (primordials, no globals). `envType`: the TypeScript type of that value,
   * declared in types/ (what `faas types` writes for each name).
   */
  readonly guest?: { readonly chunk: string; readonly entry: string; readonly envType?: string };
  /** Names it puts on `env` for a function with this config. */
  envEntries?(config: Record<string, unknown>): EnvEntry[];
  /** Why a deploy with this config and these handlers is refused, if it is (a bad_request). */
  checkDeploy?(config: Record<string, unknown>, handlers: HandlerExports): string | undefined;
  /** A module exporting `createOps(options: BindingHostOptions)` (runtime/workers/protocol.ts OpsProvider): its host operations. */
  readonly host?: URL;
  /** A module exporting `attachGateway(ctx: GatewayContext): GatewayPart`: what it runs in the gateway (cron timers …). */
  readonly gateway?: URL;
}

/** What every binding host module gets, on the gateway thread, in each worker thread and in `faas run`. */
export interface BindingHostOptions {
  /** The data directory (a binding keeps its files there, e.g. `kv.db`). */
  dataDir: string;
  /** A `postgres://` URL when the gateway runs with a cluster store (`--store`): shared state goes there. */
  store?: string;
}

/** What the gateway hands a binding's gateway part (structural: the gateway's own objects satisfy it). */
/** The deployed functions as a binding's gateway part sees them (the runtime's FunctionHost is one). */
export interface DeployedFunction {
  name: string;
  version: number;
  config: { timeoutMs: number; maxConcurrency: number } & object;
}

/**
 * The deployed functions as a binding's gateway part sees them: read from the registry (a deployed
 * function is not in the runtime until its first request, so there is no list of everything in memory).
 */
export interface DeployedFunctions {
  /** Live functions whose config has a non-empty list under `key` (a binding's own config key, e.g. "crons"). */
  withList(key: string): readonly DeployedFunction[];
  /** The live version of `name`, from the registry (undefined when not deployed). */
  lookup(name: string): DeployedFunction | undefined;
  /** Puts `name` into the runtime if it is not there yet (it then runs like after a request). */
  resolve(name: string): Promise<unknown>;
  scheduled(name: string, controller: { cron: string; scheduledTime: number }, options?: { requestId?: string; deadline?: number }): Promise<void>;
}

export interface GatewayContext {
  runtime: DeployedFunctions;
  /** A slot from the gateway's scheduler, as requests get one. */
  acquire(ticket: { name: string; priority: number; maxConcurrency: number }, deadline: number): Promise<{ waitedMs: number; release(): void }>;
  /** Records a scheduled run's outcome in the gateway's metrics. */
  recordScheduled(fn: string, outcome: string, seconds: number): void;
  logger: Logger;
  /**
   * In a cluster: claims one scheduled firing (function, cron, scheduled second) for this gateway;
   * false when another gateway already has it. Absent on a single gateway (every firing is its own).
   */
  claimFiring?(fn: string, cron: string, scheduledTime: number): Promise<boolean>;
}

/** What a binding runs in the gateway: kept in step with the deployed functions, stopped on shutdown. */
export interface GatewayPart {
  /** At start (`changed` undefined), and after every change of live functions (deploy, rollback, split, delete) with their names. */
  sync(changed?: readonly string[]): void;
  stop(): void;
}

/**
 * A module next to the caller, in the form the caller runs in: `.ts` from the sources, `.js` once
 * built (compiled modules keep the layout, with .js names).
 */
export function sibling(importMetaUrl: string, name: string): URL {
  const ext = importMetaUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, importMetaUrl);
}
