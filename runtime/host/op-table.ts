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
import { GUEST_MAX, KiB, MiB, bool, bytes, json, optBytes, optStr, parseJsonArgs, str, type ArgsOf, type OpDeclaration } from '../../contract/host-ops.ts';

import { BINDING_OPS } from '../../bindings/index.ts';
import { ZLIB_FORMATS } from './compression.ts';

export { parseJsonArgs, type OpDeclaration } from '../../contract/host-ops.ts';

export const LOG_LEVELS = ['debug', 'info', 'log', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** One console call's text at most; the prelude cuts longer lines itself and says so. */
export const MAX_LOG_CHARS = 16 * KiB;
export const URL_SETTERS = ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'] as const;
/** A body stream's or compression handle's id (ids are per thread, counting up). */
const STREAM_ID = { type: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER } as const;
/** Longest URL the host parses. */
const MAX_URL = 2 * MiB;
/**
 * Largest multipart body the host parses in one synchronous call (guest/multipart.ts says the same):
 * far above the request cap and a fetch response's, and a bound on how long one call can hold the
 * thread.
 */
export const MAX_MULTIPART = 32 * MiB;

export const HOST_OPS = {
  log: { kind: 'runtime', args: [{ type: 'string', max: 8, oneOf: LOG_LEVELS }, str(MAX_LOG_CHARS + 64)] },
  timerSet: { kind: 'runtime', args: [{ type: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER }, { type: 'number' }] },
  timerClear: { kind: 'runtime', args: [{ type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER }] },

  now: { kind: 'pure', args: [] },
  randomFill: { kind: 'pure', args: [{ type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER }] },
  randomUUID: { kind: 'pure', args: [] },
  digest: { kind: 'pure', args: [str(32), bytes(GUEST_MAX)] },
  hmacSign: { kind: 'pure', args: [str(32), bytes(64 * KiB), bytes(GUEST_MAX)] },
  hmacVerify: { kind: 'pure', args: [str(32), bytes(64 * KiB), bytes(64 * KiB), bytes(GUEST_MAX)] },
  urlParse: { kind: 'pure', args: [str(MAX_URL), optStr(MAX_URL)] },
  urlSet: { kind: 'pure', args: [str(MAX_URL), { type: 'string', max: 16, oneOf: URL_SETTERS }, str(MAX_URL)] },
  utf8Encode: { kind: 'pure', args: [str(GUEST_MAX)] },
  utf8Decode: { kind: 'pure', args: [bytes(GUEST_MAX), bool, bool] },
  base64Encode: { kind: 'pure', args: [str(GUEST_MAX)] },
  base64Decode: { kind: 'pure', args: [str(GUEST_MAX)] },
  formDecode: { kind: 'pure', args: [str(GUEST_MAX)] },
  /** A multipart/form-data body and its boundary (RFC 2046: at most 70 characters). */
  multipartParse: { kind: 'pure', args: [bytes(MAX_MULTIPART), str(70)] },

  /** `{ method, url, headers, redirect }` as JSON, and the body. */
  fetch: { kind: 'bound', args: [json(4 * MiB), optBytes(GUEST_MAX)] },

  // body streams of the current invocation (runtime/body-stream.ts): the next chunk of a host stream
  // (`whole`: the guest buffers it all, so a buffering cap applies), giving one up, and registering a
  // guest ReadableStream the host will pull as the response body
  streamRead: { kind: 'runtime', args: [STREAM_ID, bool] },
  streamCancel: { kind: 'runtime', args: [STREAM_ID] },
  streamExpose: { kind: 'runtime', args: [] },
  // CompressionStream / DecompressionStream (runtime/host/compression.ts): a handle per stream, owned by
  // the invocation; input in pieces of at most 64 KiB, output at most 16 KiB per pull
  zlibOpen: { kind: 'runtime', args: [{ type: 'string', max: 16, oneOf: ZLIB_FORMATS }, bool] },
  zlibPush: { kind: 'runtime', args: [STREAM_ID, optBytes(64 * KiB), bool] },
  zlibPull: { kind: 'runtime', args: [STREAM_ID] },
  zlibClose: { kind: 'runtime', args: [STREAM_ID] },
  // the bindings' own operations (KV …), declared in bindings/<name>/index.ts
  ...BINDING_OPS,
} as const satisfies Record<string, OpDeclaration>;

export type OpName = keyof typeof HOST_OPS;

/** The arguments an implementation of `N` receives: read, checked, and JSON already parsed. */
export type OpArgs<N extends OpName> = ArgsOf<(typeof HOST_OPS)[N]>;

export function opDeclaration(name: string): OpDeclaration | undefined {
  return Object.hasOwn(HOST_OPS, name) ? (HOST_OPS as Record<string, OpDeclaration>)[name] : undefined;
}
