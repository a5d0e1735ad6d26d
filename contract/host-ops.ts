/**
 * The shape of a host operation's declaration, shared by the host-op table (runtime/host/op-table.ts,
 * the operations every function has) and the bindings (bindings/<name>/index.ts, the operations a
 * binding adds): each argument's type and maximum size, which the engine checks before copying
 * anything out of the guest.
 */

/**
 * How one argument of a host operation is read out of the guest. Strings and JSON texts count UTF-16
 * code units, bytes count bytes. `json` is a string the prelude produced with JSON.stringify
 * (structures are serialised in the guest, under its own CPU and memory limits) and arrives parsed.
 */
export type ArgSpec =
  | { type: 'string'; max: number; optional?: boolean; oneOf?: readonly string[] }
  | { type: 'json'; max: number; optional?: boolean }
  | { type: 'number'; optional?: boolean }
  | { type: 'integer'; min: number; max: number; optional?: boolean }
  | { type: 'boolean'; optional?: boolean }
  /** an ArrayBuffer (the prelude passes views as the exact buffer of their bytes) */
  | { type: 'bytes'; max: number; optional?: boolean };

/**
 * Where an operation is served: `runtime` by the function instance itself (logs, timers), `pure` by
 * runtime/host/pure-ops.ts (no context needed), `bound` by the embedder (the gateway or `faas run`),
 * which knows the calling function and invocation (fetch under the egress policy, KV under the
 * binding list).
 */
export type OpKind = 'runtime' | 'pure' | 'bound';

export interface OpDeclaration {
  readonly kind: OpKind;
  readonly args: readonly ArgSpec[];
}

export const KiB = 1024;
export const MiB = 1024 * 1024;
/** The largest guest heap a function may ask for: no single value it makes can be larger. */
export const GUEST_MAX = 128 * MiB;

export const str = (max: number) => ({ type: 'string', max }) as const;
export const optStr = (max: number) => ({ type: 'string', max, optional: true }) as const;
export const bytes = (max: number) => ({ type: 'bytes', max }) as const;
export const optBytes = (max: number) => ({ type: 'bytes', max, optional: true }) as const;
export const json = (max: number, optional = false) => ({ type: 'json', max, optional }) as const;
export const bool = { type: 'boolean' } as const;

type ArgOf<S> = S extends { type: 'string' }
  ? string
  : S extends { type: 'json' }
    ? unknown
    : S extends { type: 'number' | 'integer' }
      ? number
      : S extends { type: 'boolean' }
        ? boolean
        : S extends { type: 'bytes' }
          ? Uint8Array
          : never;
type WithOptional<S, T> = S extends { optional: true } ? T | null | undefined : T;
type MapArgs<T extends readonly unknown[]> = { -readonly [K in keyof T]: WithOptional<T[K], ArgOf<T[K]>> };

/** The arguments an implementation of declaration `D` receives: read, checked, and JSON already parsed. */
export type ArgsOf<D extends OpDeclaration> = MapArgs<D['args']>;

/** Parses the JSON-typed arguments in place; malformed JSON (only a hand-crafted call sends it) is a TypeError. */
export function parseJsonArgs(name: string, decl: OpDeclaration, args: unknown[]): void {
  for (let i = 0; i < decl.args.length; i++) {
    if (decl.args[i]!.type !== 'json' || typeof args[i] !== 'string') continue;
    try {
      args[i] = JSON.parse(args[i] as string);
    } catch {
      throw new TypeError(`${name}: argument ${i + 1} is not valid JSON`);
    }
  }
}
