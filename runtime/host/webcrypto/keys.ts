import type { webcrypto } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { CRYPTO_LIMITS } from './limits.ts';
import { cryptoError } from './errors.ts';

export type HostKey = webcrypto.CryptoKey;

/** What the guest's CryptoKey shows: everything but the key material. */
export interface KeyDescriptor {
  id: number;
  type: string;
  extractable: boolean;
  algorithm: Record<string, unknown>;
  usages: string[];
}

/**
 * Ids are never reused in the process (each thread counts in its own range), so an id that another
 * instance holds or held is in no other table: a stolen or forged id is refused rather than
 * resolving to somebody's key.
 */
let nextId = threadId * 2 ** 32 + 1;

/** Bookkeeping of one key on the host besides its material (the KeyObject, the CryptoKey, the map entry). */
const OVERHEAD_BYTES = 1024;

interface Entry {
  key: HostKey;
  bytes: number;
  descriptor: KeyDescriptor;
  /** Guest CryptoKeys that hold this id (more than one when identical keys were made again, see `shared`). */
  refs: number;
  digest?: string;
}

/**
 * The CryptoKeys of one function instance, held on the host: the guest only ever has an id into
 * this table. Bounded in number and estimated bytes; emptied when the instance is disposed, and a
 * key the guest dropped is freed when its guest CryptoKey is collected (a FinalizationRegistry in
 * the prelude calls `cryptoFreeKey`). QuickJS-NG runs those callbacks as soon as the last reference
 * goes; Bellard's QuickJS (quickjs-emscripten) only in its cycle collector, which runs when the heap
 * has grown by half. So that the common pattern of importing the same key on every request never
 * depends on that, a key made again from the same inputs (import, derive, unwrap: deterministic)
 * shares the first one's entry, counted once per guest CryptoKey; and an instance whose table is
 * nearly full is retired, so keys made fresh on every request (generateKey) are given back with
 * the instance whatever the engine's collector does.
 */
export class KeyTable {
  private readonly keys = new Map<number, Entry>();
  private readonly byDigest = new Map<string, number>();
  private bytes = 0;

  constructor(
    private readonly maxKeys: number = CRYPTO_LIMITS.keysPerInstance,
    private readonly maxBytes: number = CRYPTO_LIMITS.keyBytesPerInstance,
  ) {}

  get size(): number {
    return this.keys.size;
  }

  /**
   * Past three quarters of either bound: the instance should be recycled (FunctionInstance retires
   * it, so its keys go with it once its requests are done) rather than wait for a collection that
   * may not come soon enough.
   */
  get nearlyFull(): boolean {
    return this.keys.size * 4 >= this.maxKeys * 3 || this.bytes * 4 >= this.maxBytes * 3;
  }

  /** Refuses before the work when `count` more keys would not fit (an RSA key search is not done for nothing). */
  reserve(count: number): void {
    if (this.keys.size + count > this.maxKeys) throw this.full();
  }

  /** `knownBytes`: the size of the material when the caller knows it (imported key data). */
  add(key: HostKey, knownBytes?: number, digest?: string): KeyDescriptor {
    const bytes = OVERHEAD_BYTES + (knownBytes ?? materialBytes(key));
    if (this.keys.size >= this.maxKeys || this.bytes + bytes > this.maxBytes) throw this.full();
    const id = nextId++;
    const descriptor = describe(id, key);
    this.keys.set(id, { key, bytes, descriptor, refs: 1, digest });
    this.bytes += bytes;
    if (digest !== undefined && !this.byDigest.has(digest)) this.byDigest.set(digest, id);
    return descriptor;
  }

  /**
   * The key made from inputs whose digest is `digest`: the entry already made from the same inputs
   * (one more guest CryptoKey holds it), else `make()`'s key, added.
   */
  async shared(digest: string, make: () => Promise<{ key: HostKey; knownBytes?: number }>): Promise<KeyDescriptor> {
    const id = this.byDigest.get(digest);
    const entry = id === undefined ? undefined : this.keys.get(id);
    if (entry) {
      entry.refs++;
      return entry.descriptor;
    }
    this.reserve(1);
    const made = await make();
    return this.add(made.key, made.knownBytes, digest);
  }

  /** The key behind a guest's id; a TypeError (as for any argument that is not a CryptoKey) otherwise. */
  get(id: unknown): HostKey {
    const entry = typeof id === 'number' ? this.keys.get(id) : undefined;
    if (!entry) throw new TypeError('not a CryptoKey of this function instance');
    return entry.key;
  }

  /** One guest CryptoKey holding `id` was collected. */
  free(id: number): void {
    const entry = this.keys.get(id);
    if (!entry || --entry.refs > 0) return;
    this.keys.delete(id);
    this.bytes -= entry.bytes;
    if (entry.digest !== undefined && this.byDigest.get(entry.digest) === id) this.byDigest.delete(entry.digest);
  }

  clear(): void {
    this.keys.clear();
    this.byDigest.clear();
    this.bytes = 0;
  }

  private full(): Error {
    return cryptoError(
      'QuotaExceededError',
      `this function instance holds ${this.keys.size} CryptoKeys (${Math.round(this.bytes / 1024)} KiB); the limits are ${this.maxKeys} keys and ${this.maxBytes / 1024 / 1024} MiB: drop the keys you no longer use (a collected CryptoKey is freed)`,
    );
  }
}

/** An estimate of the material behind a key, from its algorithm (the material itself is never read). */
function materialBytes(key: HostKey): number {
  const alg = key.algorithm as { length?: number; modulusLength?: number; namedCurve?: string };
  if (typeof alg.modulusLength === 'number') return (alg.modulusLength / 8) * (key.type === 'private' ? 5 : 1);
  if (typeof alg.length === 'number') return Math.ceil(alg.length / 8);
  if (key.type === 'secret') return CRYPTO_LIMITS.keyDataBytes; // PBKDF2, HKDF keys do not show their length: at most this
  return 256; // EC, Ed25519, X25519
}

function describe(id: number, key: HostKey): KeyDescriptor {
  const a = key.algorithm as unknown as Record<string, unknown>;
  const algorithm: Record<string, unknown> = { name: a.name };
  for (const m of ['namedCurve', 'length', 'modulusLength'] as const) if (a[m] !== undefined) algorithm[m] = a[m];
  // bytes cross as a list of numbers: the descriptor stays plain JSON
  if (a.publicExponent instanceof Uint8Array) algorithm.publicExponent = [...a.publicExponent];
  if (a.hash !== undefined) algorithm.hash = { name: (a.hash as { name: string }).name };
  return { id, type: key.type, extractable: key.extractable, algorithm, usages: [...key.usages] };
}
