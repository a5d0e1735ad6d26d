/**
 * Every binding, in one list: adding one is a folder (bindings/<name>/: index.ts with its definition,
 * its host and gateway modules, its guest chunk, its tests) and a line here. The config schema
 * (contract/config.ts), the host-op table (runtime/host/op-table.ts), the prelude build and the
 * embedders (gateway, `faas run`) take everything else from this list.
 */
import { cron } from './cron/index.ts';
import { kv } from './kv/index.ts';
import type { BindingDefinition, EnvEntry } from './types.ts';

export const BINDINGS = [kv, cron] as const satisfies readonly BindingDefinition[];

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** The function-config fields of every binding, for the config schema. */
export const BINDING_CONFIG = Object.assign({}, ...BINDINGS.map((b) => b.config)) as UnionToIntersection<(typeof BINDINGS)[number]['config']>;

/** The host operations every binding adds, for the op table. */
export const BINDING_OPS = Object.assign({}, ...BINDINGS.map((b) => ('ops' in b ? b.ops : {}))) as UnionToIntersection<
  Extract<(typeof BINDINGS)[number], { ops: unknown }>['ops']
>;

/** The names a function's bindings put on its `env`, with the guest chunk that makes each. */
export function envEntries(config: Record<string, unknown>): EnvEntry[] {
  const out: EnvEntry[] = [];
  for (const b of BINDINGS as readonly BindingDefinition[]) if (b.envEntries) out.push(...b.envEntries(config));
  return out;
}

/** The prelude chunks the bindings add: name → entry file, relative to the repository's bindings/ folder. */
export const BINDING_CHUNKS: readonly { chunk: string; entry: string }[] = (BINDINGS as readonly BindingDefinition[]).flatMap((b) =>
  b.guest ? [{ chunk: b.guest.chunk, entry: `${b.name}/${b.guest.entry}` }] : [],
);

/** The TypeScript type (declared in types/) of the env values a guest chunk makes: chunk → type name. */
export const BINDING_ENV_TYPES: Readonly<Record<string, string>> = Object.fromEntries(
  (BINDINGS as readonly BindingDefinition[]).flatMap((b) => (b.guest?.envType ? [[b.guest.chunk, b.guest.envType]] : [])),
);

/** Why a deploy is refused by a binding, if it is. */
export function checkDeploy(config: Record<string, unknown>, handlers: Parameters<NonNullable<BindingDefinition['checkDeploy']>>[1]): string | undefined {
  for (const b of BINDINGS as readonly BindingDefinition[]) {
    const why = b.checkDeploy?.(config, handlers);
    if (why) return why;
  }
  return undefined;
}

export type { BindingDefinition, BindingHostOptions, EnvEntry, GatewayContext, GatewayPart, HandlerExports } from './types.ts';
