/**
 * The committed JSON Schema of `*.faas.json` (types/faas-config.schema.json) is the one the config's
 * zod schema generates, describes every key, and judges configs as the gateway does (where JSON
 * Schema can say it; the cases only the gateway refuses are listed).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { FunctionConfigSchema, parseFunctionConfig } from '../contract/config.ts';
import { REPO_ROOT } from '../test/helpers/gateway.ts';
import { configJsonSchema, configJsonSchemaText, SCHEMA_FILE } from './config-schema.ts';

const validate = new Ajv2020({ strict: false }).compile(configJsonSchema());
const gatewayAccepts = (config: unknown) => {
  try {
    parseFunctionConfig(config);
    return true;
  } catch {
    return false;
  }
};

describe('the config JSON schema', () => {
  it('is committed as generated (run `node bin/run-ts.js kit/config-schema.ts` after changing the config schema)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(configJsonSchemaText());
  });

  it('describes every key of the config', () => {
    const props = configJsonSchema().properties as Record<string, { description?: string }>;
    for (const key of [...Object.keys(FunctionConfigSchema.shape), '$schema']) expect(props[key]?.description, key).toBeTruthy();
  });

  it('accepts the example functions\' configs, as the gateway does', () => {
    const dir = join(REPO_ROOT, 'functions');
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.faas.json'))) {
      const config = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      expect(validate(config), `${f}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(gatewayAccepts(config), f).toBe(true);
    }
  });

  const cases: [string, unknown][] = [
    ['empty', {}],
    ['$schema', { $schema: './node_modules/faas/types/faas-config.schema.json', memoryMb: 2 }],
    ['fractional memoryMb', { memoryMb: 1.5 }],
    ['everything', { memoryMb: 4, cpuMs: 50, timeoutMs: 1000, priority: -3, maxConcurrency: 2, allowedHosts: ['api.example.com', '*.example.org', 'localhost:8080'], env: { A: 'x' }, secrets: { B: 'y' }, kv: ['K'], crons: ['* * * * *'], isolation: 'instance', routes: ['example.com/*'], rateLimit: { requestsPerSecond: 5, burst: 10 }, stripPrefix: false }],
    ['unknown key', { memoryMB: 2 }],
    ['memoryMb 0', { memoryMb: 0 }],
    ['memoryMb over 128', { memoryMb: 129 }],
    ['memoryMb as a string', { memoryMb: '2' }],
    ['cpuMs fractional', { cpuMs: 1.5 }],
    ['priority out of range', { priority: 11 }],
    ['isolation unknown', { isolation: 'process' }],
    ['kv name not an identifier', { kv: ['my-ns'] }],
    ['env name not an identifier', { env: { 'A-B': 'x' } }],
    ['env value not a string', { env: { A: 1 } }],
    ['secret name __proto__ is an identifier', { secrets: { __proto__x: 'y' } }],
    ['rateLimit unknown key', { rateLimit: { requestsPerSecond: 1, extra: 1 } }],
    ['rateLimit without rate', { rateLimit: { burst: 1 } }],
    ['allowedHosts with a path', { allowedHosts: ['example.com/x'] }],
    ['$schema not a string', { $schema: 1 }],
    ['65 keys', Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 1]))],
    ['not an object', []],
  ];
  it.each(cases)('judges "%s" as the gateway does', (_, config) => {
    expect(validate(config)).toBe(gatewayAccepts(config));
  });

  /** JSON Schema cannot say these: the editor accepts them, the gateway refuses them with bad_request. */
  const gatewayOnly: [string, unknown][] = [
    ['an invalid cron expression', { crons: ['every minute'] }],
    ['a malformed route', { routes: ['example.com'] }],
    ['a binding declared twice', { env: { A: 'x' }, kv: ['A'] }],
  ];
  it.each(gatewayOnly)('leaves "%s" to the gateway', (_, config) => {
    expect(validate(config)).toBe(true);
    expect(gatewayAccepts(config)).toBe(false);
  });
});
