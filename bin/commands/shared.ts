import { existsSync, readFileSync } from 'node:fs';
import { dirname, basename, extname, join } from 'node:path';
import { FaasError } from '../../runtime/errors.ts';

/** Prints an error the way every command does (`error: <code>: <message>`) and exits 1. */
export function exitWithError(err: unknown): never {
  if (err instanceof FaasError) {
    if (err.code === 'compile_error') process.stderr.write(`${err.message}\n`);
    else process.stderr.write(`error: ${err.code}: ${err.message}\n`);
    const stack = err.detail?.stack;
    if (typeof stack === 'string' && stack) process.stderr.write(`${stack}\n`);
  } else {
    process.stderr.write(`error: internal_error: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
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
