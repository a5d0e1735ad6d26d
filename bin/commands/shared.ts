import { FaasError } from '../../contract/errors.ts';

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
