import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { Cron } from 'croner';
import { z } from 'zod';
import { FaasError } from './errors.ts';

/** Names of functions, as the contract fixes them. */
export const FUNCTION_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const BINDING_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const HOST_PATTERN = /^(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

const stringMap = z.record(z.string().regex(BINDING_NAME, 'must be a JavaScript identifier'), z.string());

/** Per-function configuration (`<name>.faas.json` or `config` in a deploy). Unknown keys are errors. */
export const FunctionConfigSchema = z
  .object({
    memoryMb: z.number().positive().max(128).default(1),
    cpuMs: z.number().int().positive().max(600_000).default(1000),
    timeoutMs: z.number().int().positive().max(900_000).default(10_000),
    priority: z.number().int().min(-10).max(10).default(0),
    maxConcurrency: z.number().int().positive().max(10_000).default(64),
    allowedHosts: z.array(z.string().regex(HOST_PATTERN, 'must be "host", "host:port" or "*.domain"')).default([]),
    env: stringMap.default({}),
    secrets: stringMap.default({}),
    kv: z.array(z.string().regex(BINDING_NAME, 'must be a JavaScript identifier')).default([]),
    crons: z.array(z.string().min(1).refine(isCronExpression, 'must be a cron expression (5 fields, or 6 with seconds)')).default([]),
    isolation: z.enum(['shared', 'instance']).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const names = [...Object.keys(c.env), ...Object.keys(c.secrets), ...c.kv];
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) ctx.addIssue({ code: 'custom', message: `binding "${n}" is declared twice` });
      seen.add(n);
    }
  });

export type FunctionConfig = z.output<typeof FunctionConfigSchema>;
export type FunctionConfigInput = z.input<typeof FunctionConfigSchema>;

function isCronExpression(expr: string): boolean {
  try {
    new Cron(expr, { paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}

/** Validates a config from a user; a bad one is a `bad_request` naming the field. */
export function parseFunctionConfig(input: unknown): FunctionConfig {
  const result = FunctionConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    const first = result.error.issues[0]!;
    const where = first.path.length ? first.path.join('.') : 'config';
    throw new FaasError('bad_request', `invalid function config: ${where}: ${first.message}`, {
      issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  return result.data;
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
export function readConfigFile(entry: string, explicit?: string): unknown {
  const path = explicit ?? defaultConfigPath(entry);
  if (!existsSync(path)) {
    if (explicit) throw new FaasError('bad_request', `config file not found: ${explicit}`);
    return {};
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new FaasError('bad_request', `${path}: invalid JSON: ${(err as Error).message}`);
  }
}
