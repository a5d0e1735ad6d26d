import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { z } from 'zod';
import { FaasError } from './errors.ts';
import { BINDING_CONFIG, envEntries } from '../bindings/index.ts';

/** Names of functions, as the contract fixes them. */
export const FUNCTION_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const BINDING_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const HOST_PATTERN = /^(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * Upper bounds on everything a config can list: the config is user input (a deploy request, up to
 * the deploy body cap), held in memory per function, and its env and secrets are copied into
 * every instance.
 */
export const CONFIG_LIMITS = {
  allowedHosts: 256,
  hostLength: 261,
  /** env and secrets together. */
  bindings: 256,
  bindingNameLength: 128,
  valueBytes: 64 * 1024,
  /** All env and secret values together. */
  totalValueBytes: 1024 * 1024,
  routes: 32,
  routeLength: 512,
} as const;

/**
 * A route a function claims: `host/path`, the host optionally starting with `*.` (any subdomain),
 * the path ending in `*` for everything under it (`api.example.com/*`, `example.com/blog/*`) or
 * naming one path exactly (`example.com/about`). Hosts are matched without the port, case-insensitively.
 */
export const ROUTE_PATTERN = /^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)*\/[A-Za-z0-9\-._~!$&'()+,;=:@%/]*\*?$/;

const bindingName = z
  .string()
  .max(CONFIG_LIMITS.bindingNameLength, `must be at most ${CONFIG_LIMITS.bindingNameLength} characters`)
  .regex(BINDING_NAME, 'must be a JavaScript identifier');

/** Counted before any entry is parsed, so an enormous map is refused without walking it. */
const stringMap = z
  .custom<Record<string, unknown>>((v) => typeof v !== 'object' || v === null || Object.keys(v).length <= CONFIG_LIMITS.bindings, {
    message: `must have at most ${CONFIG_LIMITS.bindings} entries`,
    abort: true,
  })
  .pipe(z.record(bindingName, z.string().refine((v) => utf8Bytes(v) <= CONFIG_LIMITS.valueBytes, `must be at most ${CONFIG_LIMITS.valueBytes / 1024} KiB`)));

const boundedArray = <T extends z.ZodType>(item: T, max: number) => z.array(item).max(max, `must have at most ${max} entries`);

/** Per-function configuration (`<name>.faas.json` or `config` in a deploy). Unknown keys are errors. */
export const FunctionConfigSchema = z
  .object({
    memoryMb: z.number().positive().max(128).default(1),
    cpuMs: z.number().int().positive().max(600_000).default(1000),
    timeoutMs: z.number().int().positive().max(900_000).default(10_000),
    priority: z.number().int().min(-10).max(10).default(0),
    maxConcurrency: z.number().int().positive().max(10_000).default(64),
    allowedHosts: boundedArray(
      z
        .string()
        .max(CONFIG_LIMITS.hostLength, `must be at most ${CONFIG_LIMITS.hostLength} characters`)
        .regex(HOST_PATTERN, 'must be "host", "host:port" or "*.domain"'),
      CONFIG_LIMITS.allowedHosts,
    ).default([]),
    env: stringMap.default({}),
    secrets: stringMap.default({}),
    isolation: z.enum(['shared', 'instance']).optional(),
    /** Host-and-path routes the function answers at the root of (besides /fn/<name>). */
    routes: boundedArray(
      z
        .string()
        .max(CONFIG_LIMITS.routeLength, `must be at most ${CONFIG_LIMITS.routeLength} characters`)
        .transform((r) => lowerHost(r))
        .pipe(z.string().regex(ROUTE_PATTERN, 'must be "host/path" or "host/path/*" (host may start with "*.")')),
      CONFIG_LIMITS.routes,
    ).default([]),
    /** Per-function token bucket: over it, requests are answered 429 `rate_limited`. */
    rateLimit: z
      .object({
        requestsPerSecond: z.number().positive().max(1_000_000),
        /** Requests allowed at once after a quiet spell. Default: one second's worth (at least 1). */
        burst: z.number().int().positive().max(1_000_000).optional(),
      })
      .strict()
      .optional(),
    /** Under /fn/<name>/…, the guest sees the path without the /fn/<name> prefix (false keeps it). */
    stripPrefix: z.boolean().default(true),
    // every binding's own fields (kv, crons …): bindings/<name>/index.ts
    ...BINDING_CONFIG,
  })
  .strict()
  .superRefine((c, ctx) => {
    const names = [...Object.keys(c.env), ...Object.keys(c.secrets), ...envEntries(c).map((e) => e.name)];
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) ctx.addIssue({ code: 'custom', message: `binding "${clip(n)}" is declared twice` });
      seen.add(n);
    }
    if (Object.keys(c.env).length + Object.keys(c.secrets).length > CONFIG_LIMITS.bindings) {
      ctx.addIssue({ code: 'custom', message: `env and secrets must have at most ${CONFIG_LIMITS.bindings} entries together` });
    }
    const bytes = [...Object.values(c.env), ...Object.values(c.secrets)].reduce((sum, v) => sum + utf8Bytes(v), 0);
    if (bytes > CONFIG_LIMITS.totalValueBytes) {
      ctx.addIssue({ code: 'custom', message: `env and secret values must be at most ${CONFIG_LIMITS.totalValueBytes / 1024 / 1024} MiB together` });
    }
  });

export type FunctionConfig = z.output<typeof FunctionConfigSchema>;
export type FunctionConfigInput = z.input<typeof FunctionConfigSchema>;

/** The host part of a route is case-insensitive; the path is not. */
function lowerHost(route: string): string {
  const slash = route.indexOf('/');
  return slash < 0 ? route.toLowerCase() : route.slice(0, slash).toLowerCase() + route.slice(slash);
}

function clip(s: string, max = 64): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Validates a config from a user; a bad one is a `bad_request` naming the field. */
export function parseFunctionConfig(input: unknown): FunctionConfig {
  // zod would list every unknown key in one message; a config with a million of them is refused unread.
  const keys = typeof input === 'object' && input !== null ? Object.keys(input).length : 0;
  if (keys > 64) {
    throw new FaasError('bad_request', `invalid function config: config: has ${keys} keys; the known keys are ${Object.keys(FunctionConfigSchema.shape).join(', ')}`);
  }
  const result = FunctionConfigSchema.safeParse(withoutSchemaKey(input ?? {}));
  if (!result.success) {
    // Paths hold the user's own keys, which can be megabytes long: clip them, and list a few issues only.
    const pathOf = (path: PropertyKey[]) => path.map((p) => clip(String(p))).join('.');
    // A bad record key is reported by zod as "Invalid key in record" with the reason nested.
    const messageOf = (i: z.core.$ZodIssue) => clip(i.code === 'invalid_key' && i.issues[0] ? `invalid key: ${i.issues[0].message}` : i.message, 200);
    const first = result.error.issues[0]!;
    const where = first.path.length ? pathOf(first.path) : 'config';
    throw new FaasError('bad_request', `invalid function config: ${where}: ${messageOf(first)}`, {
      issues: result.error.issues.slice(0, 20).map((i) => ({ path: pathOf(i.path), message: messageOf(i) })),
    });
  }
  return result.data;
}

/**
 * A config file may name its JSON Schema (`"$schema": "./node_modules/faas/types/faas-config.schema.json"`)
 * so that editors check it; faas ignores the key (a string of at most 2048 characters).
 */
function withoutSchemaKey(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input) || !Object.hasOwn(input, '$schema')) return input;
  const { $schema, ...rest } = input as Record<string, unknown>;
  if (typeof $schema !== 'string' || $schema.length > 2048) throw new FaasError('bad_request', 'invalid function config: $schema: must be a string of at most 2048 characters');
  return rest;
}

export function assertFunctionName(name: string): void {
  if (!FUNCTION_NAME.test(name)) {
    throw new FaasError('bad_request', `invalid function name "${name}": must match ${FUNCTION_NAME.source}`);
  }
}

/** The config beside an entry: `functions/hello.ts` → `functions/hello.faas.json`. */
export function defaultConfigPath(entry: string): string {
  return join(dirname(entry), `${basename(entry, extname(entry))}.faas.json`);
}

/** Reads a function config file; an explicit path must exist, the default one may not. */
/** A config file is a few hundred bytes; env and secrets included, far below this. */
const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

export function readConfigFile(entry: string, explicit?: string): unknown {
  const path = explicit ?? defaultConfigPath(entry);
  const stats = statSync(path, { throwIfNoEntry: false });
  if (!stats) {
    if (explicit) throw new FaasError('bad_request', `config file not found: ${explicit}`);
    return {};
  }
  // a FIFO would block the reading thread until someone writes it, a device (/dev/zero) never ends
  if (!stats.isFile()) throw new FaasError('bad_request', `${path}: not a regular file`);
  if (stats.size > MAX_CONFIG_FILE_BYTES) throw new FaasError('bad_request', `${path}: larger than ${MAX_CONFIG_FILE_BYTES / 1024 / 1024} MiB`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new FaasError('bad_request', `${path}: invalid JSON: ${(err as Error).message}`);
  }
}
