/**
 * The bounds of WebCrypto in the sandbox. Node's WebCrypto runs a job to its end once started (an
 * RSA key search or a PBKDF2 loop cannot be interrupted), so every parameter that sets a job's
 * length is capped, and so is what a function instance can make the host hold.
 */
import { KiB, MiB } from '../../../contract/host-ops.ts';

export const CRYPTO_LIMITS = {
  /** CryptoKeys one function instance holds on the host at once. */
  keysPerInstance: 1024,
  /** Their estimated host memory together (key material plus 1 KiB of bookkeeping per key). */
  keyBytesPerInstance: 4 * MiB,
  /** `modulusLength` of a generated RSA key (a 4096-bit search takes ~2 s of one host thread). */
  rsaGenerateBits: 4096,
  /** Modulus of an imported (or unwrapped) RSA key. */
  rsaImportBits: 8192,
  /** PBKDF2 `iterations` (OWASP's 600,000 for SHA-256 fits; Workers allows 100,000). */
  pbkdf2Iterations: 1_000_000,
  /** PBKDF2 output, in bits (each hash-sized block costs `iterations` HMACs). */
  pbkdf2Bits: 1024,
  /** Secret key material: key data to import, a generated HMAC key, a wrapped key. */
  keyDataBytes: 16 * KiB,
  /** The request JSON the guest serialises (algorithm, usages, a JWK …). */
  requestChars: 64 * KiB,
  /** An algorithm's BufferSource members (iv, additionalData, salt, info, label …) together. */
  paramBytes: 1 * MiB,
  /** A signature to verify. */
  signatureBytes: 64 * KiB,
  /** Jobs running at once on one runtime (one per worker thread); libuv's pool has 4 threads for the process. */
  jobsPerRuntime: 2,
  /** Operations one invocation may have queued or running; more are refused at once. */
  jobsPerInvocation: 32,
} as const;
