import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FaasError } from './errors.ts';
import { createFileExclusiveSync } from './fs-atomic.ts';

export const SIGNING_KEY_ENV = 'FAAS_SIGNING_KEY';
export const SIGNING_KEY_FILE = 'signing.key';
const MIN_KEY_BYTES = 32;

/**
 * The key that signs artifacts this gateway compiled, so it only runs bytecode it produced
 * (bytecode is not verified by QuickJS and malformed bytecode can corrupt the engine).
 * `FAAS_SIGNING_KEY` wins, so several gateways can share one key; otherwise a per-data-dir key
 * file is created on first use.
 */
export function loadSigningKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): Uint8Array {
  const fromEnv = env[SIGNING_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return decodeEnvKey(fromEnv.trim());
  return loadOrCreateKeyFile(join(dataDir, SIGNING_KEY_FILE));
}

function decodeEnvKey(text: string): Uint8Array {
  // Hex first: every hex string is also valid base64 but would decode to different bytes.
  const bytes = /^(?:[0-9a-fA-F]{2})+$/.test(text)
    ? Buffer.from(text, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(text)
      ? Buffer.from(text, 'base64')
      : undefined;
  if (bytes === undefined) {
    throw configError(`${SIGNING_KEY_ENV} must be hex or base64 encoded (got something else)`);
  }
  if (bytes.byteLength < MIN_KEY_BYTES) {
    throw configError(
      `${SIGNING_KEY_ENV} decodes to ${bytes.byteLength} bytes; at least ${MIN_KEY_BYTES} are required ` +
        `(generate one with: openssl rand -hex 32)`,
    );
  }
  return new Uint8Array(bytes);
}

function loadOrCreateKeyFile(path: string): Uint8Array {
  mkdirSync(dirname(path), { recursive: true });
  // Exclusive creation: two processes starting on the same data dir must end up with one key.
  createFileExclusiveSync(path, randomBytes(MIN_KEY_BYTES), { mode: 0o600 });
  const bytes = readFileSync(path);
  if (bytes.byteLength < MIN_KEY_BYTES) {
    throw configError(`${path} holds ${bytes.byteLength} bytes; a signing key needs at least ${MIN_KEY_BYTES} (delete it to generate a new one; existing artifacts must then be recompiled)`);
  }
  return new Uint8Array(bytes);
}

function configError(message: string): FaasError {
  return new FaasError('internal_error', message);
}
