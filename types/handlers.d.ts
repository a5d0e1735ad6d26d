/**
 * What a faas function exports and what it is handed: the handler object, `ctx`, the cron
 * controller, and the bindings on `env` (KV namespaces). Types only: none of these is a global.
 */

/** The third argument of `fetch` and `scheduled`. */
interface ExecutionContext {
  /**
   * Keeps the instance working on `promise` after the response is sent, bounded by the function's
   * `timeoutMs`. Call it before returning the response.
   */
  waitUntil(promise: Promise<unknown>): void;
  /** Accepted for Workers compatibility; it does nothing here. */
  passThroughOnException(): void;
}

/** The first argument of `scheduled`: which cron expression fired, and when (ms since the epoch). */
interface ScheduledController {
  readonly cron: string;
  readonly scheduledTime: number;
}

type ExportedHandlerFetchHandler<Env = unknown> = (request: Request, env: Env, ctx: ExecutionContext) => Response | Promise<Response>;
type ExportedHandlerScheduledHandler<Env = unknown> = (controller: ScheduledController, env: Env, ctx: ExecutionContext) => void | Promise<void>;

/**
 * The default export of a function: `export default { fetch(request, env, ctx) { … } } satisfies
 * ExportedHandler<Env>`. `scheduled` runs for the cron expressions in the config's `crons`.
 */
interface ExportedHandler<Env = unknown> {
  fetch?: ExportedHandlerFetchHandler<Env>;
  scheduled?: ExportedHandlerScheduledHandler<Env>;
}

/**
 * The function's bindings: config `env` and `secrets` (strings) and `kv` namespaces. `faas types`
 * writes this interface from the function's config (faas-env.d.ts); declare it yourself otherwise.
 */
interface Env {}

// ---------------------------------------------------------------------------------------------
// KV namespaces (config "kv"): Workers KV's shape
// ---------------------------------------------------------------------------------------------

interface KVNamespaceGetOptions<Type> {
  type: Type;
}

interface KVNamespacePutOptions {
  /** Seconds from now (at least 1). */
  expirationTtl?: number;
  /** Seconds since the epoch. */
  expiration?: number;
  /** Any JSON-serialisable value, at most 1 KiB as JSON. */
  metadata?: any | null;
}

interface KVNamespaceListOptions {
  prefix?: string | null;
  /** 1..1000, default 1000. */
  limit?: number;
  cursor?: string | null;
}

interface KVNamespaceListKey<Metadata = unknown, Key extends string = string> {
  name: Key;
  expiration?: number;
  metadata?: Metadata;
}

type KVNamespaceListResult<Metadata = unknown, Key extends string = string> =
  | { list_complete: false; keys: KVNamespaceListKey<Metadata, Key>[]; cursor: string }
  | { list_complete: true; keys: KVNamespaceListKey<Metadata, Key>[]; cursor?: string };

interface KVNamespaceGetWithMetadataResult<Value, Metadata> {
  value: Value | null;
  metadata: Metadata | null;
}

/** `env.<BINDING>` for each name in the config's `kv`. Values are at most 1 MiB, keys 1..512 bytes. */
interface KVNamespace<Key extends string = string> {
  get(key: Key, options?: Partial<KVNamespaceGetOptions<undefined>>): Promise<string | null>;
  get(key: Key, type: 'text'): Promise<string | null>;
  get<ExpectedValue = unknown>(key: Key, type: 'json'): Promise<ExpectedValue | null>;
  get(key: Key, type: 'arrayBuffer'): Promise<ArrayBuffer | null>;
  get(key: Key, type: 'stream'): Promise<ReadableStream<Uint8Array> | null>;
  get(key: Key, options?: KVNamespaceGetOptions<'text'>): Promise<string | null>;
  get<ExpectedValue = unknown>(key: Key, options?: KVNamespaceGetOptions<'json'>): Promise<ExpectedValue | null>;
  get(key: Key, options?: KVNamespaceGetOptions<'arrayBuffer'>): Promise<ArrayBuffer | null>;
  get(key: Key, options?: KVNamespaceGetOptions<'stream'>): Promise<ReadableStream<Uint8Array> | null>;

  getWithMetadata<Metadata = unknown>(key: Key, options?: Partial<KVNamespaceGetOptions<undefined>>): Promise<KVNamespaceGetWithMetadataResult<string, Metadata>>;
  getWithMetadata<Metadata = unknown>(key: Key, type: 'text'): Promise<KVNamespaceGetWithMetadataResult<string, Metadata>>;
  getWithMetadata<ExpectedValue = unknown, Metadata = unknown>(key: Key, type: 'json'): Promise<KVNamespaceGetWithMetadataResult<ExpectedValue, Metadata>>;
  getWithMetadata<Metadata = unknown>(key: Key, type: 'arrayBuffer'): Promise<KVNamespaceGetWithMetadataResult<ArrayBuffer, Metadata>>;
  getWithMetadata<Metadata = unknown>(key: Key, type: 'stream'): Promise<KVNamespaceGetWithMetadataResult<ReadableStream<Uint8Array>, Metadata>>;
  getWithMetadata<Metadata = unknown>(key: Key, options: KVNamespaceGetOptions<'text'>): Promise<KVNamespaceGetWithMetadataResult<string, Metadata>>;
  getWithMetadata<ExpectedValue = unknown, Metadata = unknown>(key: Key, options: KVNamespaceGetOptions<'json'>): Promise<KVNamespaceGetWithMetadataResult<ExpectedValue, Metadata>>;
  getWithMetadata<Metadata = unknown>(key: Key, options: KVNamespaceGetOptions<'arrayBuffer'>): Promise<KVNamespaceGetWithMetadataResult<ArrayBuffer, Metadata>>;
  getWithMetadata<Metadata = unknown>(key: Key, options: KVNamespaceGetOptions<'stream'>): Promise<KVNamespaceGetWithMetadataResult<ReadableStream<Uint8Array>, Metadata>>;

  put(key: Key, value: string | ArrayBuffer | ArrayBufferView, options?: KVNamespacePutOptions): Promise<void>;
  delete(key: Key): Promise<void>;
  list<Metadata = unknown>(options?: KVNamespaceListOptions): Promise<KVNamespaceListResult<Metadata, Key>>;
}
