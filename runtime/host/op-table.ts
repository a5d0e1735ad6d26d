/**
 * Every host operation the guest can call, declared once: its name, the arguments the engine may read
 * out of the guest for it (type and size, checked before anything is copied), and where it runs.
 * The guest prelude calls exactly these (`call('kvPut', …)` in runtime/prelude/guest/); the engine
 * refuses any other name and any argument that does not fit, as a TypeError/RangeError in the guest.
 *
 * Structured arguments are serialised to JSON in the guest (under its own CPU and memory limits) and
 * arrive as one bounded string: a guest object is never walked on the host, so a sparse array, a
 * getter, a proxy or a structure whose expansion is far larger than the guest's heap cannot make the
 * host allocate or loop.
 */
import type { ArgSpec } from '../engine/types.ts';

const KiB = 1024;
const MiB = 1024 * 1024;
/** The largest guest heap a function may ask for: no single value it makes can be larger. */
const GUEST_MAX = 128 * MiB;

export const LOG_LEVELS = ['debug', 'info', 'log', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** One console call's text at most; the prelude cuts longer lines itself and says so. */
export const MAX_LOG_CHARS = 16 * KiB;
export const URL_SETTERS = ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'] as const;
/** Longest URL the host parses. */
const MAX_URL = 2 * MiB;

const s = (max: number) => ({ type: 'string', max }) as const;
const optS = (max: number) => ({ type: 'string', max, optional: true }) as const;
const bytes = (max: number) => ({ type: 'bytes', max }) as const;
const json = (max: number, optional = false) => ({ type: 'json', max, optional }) as const;
const bool = { type: 'boolean' } as const;

/**
 * Where an operation is served: `runtime` by the function instance itself (logs, timers), `pure` by
 * pure-ops.ts (no context needed), `bound` by the embedder (the gateway or `faas run`), which knows
 * the calling function and invocation (fetch under the egress policy, KV under the binding list).
 */
export type OpKind = 'runtime' | 'pure' | 'bound';

export interface OpDeclaration {
  readonly kind: OpKind;
  readonly args: readonly ArgSpec[];
}

export const HOST_OPS = {
  log: { kind: 'runtime', args: [{ type: 'string', max: 8, oneOf: LOG_LEVELS }, s(MAX_LOG_CHARS + 64)] },
  timerSet: { kind: 'runtime', args: [{ type: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER }, { type: 'number' }] },
  timerClear: { kind: 'runtime', args: [{ type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER }] },

  now: { kind: 'pure', args: [] },
  randomFill: { kind: 'pure', args: [{ type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER }] },
  randomUUID: { kind: 'pure', args: [] },
  digest: { kind: 'pure', args: [s(32), bytes(GUEST_MAX)] },
  hmacSign: { kind: 'pure', args: [s(32), bytes(64 * KiB), bytes(GUEST_MAX)] },
  hmacVerify: { kind: 'pure', args: [s(32), bytes(64 * KiB), bytes(64 * KiB), bytes(GUEST_MAX)] },
  urlParse: { kind: 'pure', args: [s(MAX_URL), optS(MAX_URL)] },
  urlSet: { kind: 'pure', args: [s(MAX_URL), { type: 'string', max: 16, oneOf: URL_SETTERS }, s(MAX_URL)] },
  utf8Encode: { kind: 'pure', args: [s(GUEST_MAX)] },
  utf8Decode: { kind: 'pure', args: [bytes(GUEST_MAX), bool, bool] },
  base64Encode: { kind: 'pure', args: [s(GUEST_MAX)] },
  base64Decode: { kind: 'pure', args: [s(GUEST_MAX)] },
  formDecode: { kind: 'pure', args: [s(GUEST_MAX)] },

  /** `{ method, url, headers, redirect }` as JSON, and the body. */
  fetch: { kind: 'bound', args: [json(4 * MiB), { type: 'bytes', max: GUEST_MAX, optional: true }] },
  kvGet: { kind: 'bound', args: [s(64), s(2 * KiB)] },
  /** namespace, key, value, `{ expirationTtl?, expiration?, metadata? }` as JSON */
  kvPut: { kind: 'bound', args: [s(64), s(2 * KiB), bytes(32 * MiB), json(64 * KiB, true)] },
  kvDelete: { kind: 'bound', args: [s(64), s(2 * KiB)] },
  /** namespace, `{ prefix?, limit?, cursor? }` as JSON */
  kvList: { kind: 'bound', args: [s(64), json(16 * KiB, true)] },
} as const satisfies Record<string, OpDeclaration>;

export type OpName = keyof typeof HOST_OPS;

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

/** The arguments an implementation of `N` receives: read, checked, and JSON already parsed. */
export type OpArgs<N extends OpName> = MapArgs<(typeof HOST_OPS)[N]['args']>;

export function opDeclaration(name: string): OpDeclaration | undefined {
  return Object.hasOwn(HOST_OPS, name) ? (HOST_OPS as Record<string, OpDeclaration>)[name] : undefined;
}

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
