/**
 * The JSON Schema of a function's config file (`*.faas.json`), generated from the config's zod
 * schema (contract/config.ts) and committed as types/faas-config.schema.json, so that an editor
 * validates a config and completes its keys (`"$schema"` in the file). kit/config-schema.test.ts
 * keeps the committed file in step: `node bin/run-ts.js kit/config-schema.ts` rewrites it.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CONFIG_LIMITS, FunctionConfigSchema } from '../contract/config.ts';

export const SCHEMA_FILE = fileURLToPath(new URL('../types/faas-config.schema.json', import.meta.url));

/** What each key does (README "Function configuration"), shown by editors on hover. */
export const DESCRIPTIONS: Record<string, string> = {
  memoryMb: 'Guest heap cap per instance in MiB (max 128); the prelude counts against it. A deploy whose module needs more after initialization is refused with the value to set.',
  cpuMs: 'Guest CPU time per invocation in ms, enforced by the interrupt handler (uncatchable).',
  timeoutMs: 'Wall time per invocation in ms, including queue wait and awaited fetch/KV; ctx.waitUntil work is bounded by it too.',
  priority: 'Scheduler priority, integer -10..10, higher runs first.',
  maxConcurrency: 'In-flight invocations of this function.',
  allowedHosts: 'Egress allowlist for fetch: "host" (any port), "host:port", "*.example.com" (subdomains).',
  env: 'Plain string vars on env.',
  secrets: 'String secrets on env: write-only through the admin API, masked in logs.',
  kv: 'KV namespace binding names on env, e.g. ["COUNTER"].',
  crons: 'Cron expressions (5 fields, or 6 with seconds; UTC) that run the scheduled() handler.',
  isolation: '"shared" (a QuickJS runtime inside a shared WASM instance) or "instance" (a WASM instance of its own); default: the server\'s.',
  routes: 'Host-and-path routes the function answers besides /fn/<name>: "api.example.com/*", "example.com/blog/*", "*.example.com/*".',
  rateLimit: 'A token bucket: { "requestsPerSecond": n, "burst"?: n }; over it, 429 rate_limited.',
  stripPrefix: 'Under /fn/<name>/… the guest sees the URL without /fn/<name>; false keeps it.',
  $schema: 'The JSON Schema this file follows (ignored by faas).',
};

type JsonSchema = Record<string, any>;

const stringMap = (what: string): JsonSchema => ({
  type: 'object',
  maxProperties: CONFIG_LIMITS.bindings,
  propertyNames: { type: 'string', maxLength: CONFIG_LIMITS.bindingNameLength, pattern: '^[A-Za-z_$][A-Za-z0-9_$]*$' },
  additionalProperties: { type: 'string', description: `${what} value (at most ${CONFIG_LIMITS.valueBytes / 1024} KiB)` },
  default: {},
});

export function configJsonSchema(): JsonSchema {
  // The input side: what a file may say (defaults make keys optional). env and secrets are counted
  // before they are parsed (a custom check zod cannot express), so they are written here.
  const schema = z.toJSONSchema(FunctionConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  schema.properties.env = stringMap('var');
  schema.properties.secrets = stringMap('secret');
  schema.properties = { $schema: { type: 'string' }, ...schema.properties };
  for (const [key, prop] of Object.entries(schema.properties as Record<string, JsonSchema>)) {
    const description = DESCRIPTIONS[key];
    if (description) prop.description = description;
  }
  return {
    $schema: schema.$schema,
    title: 'faas function config (*.faas.json)',
    ...schema,
    maxProperties: 64,
  };
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_FILE, configJsonSchemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
