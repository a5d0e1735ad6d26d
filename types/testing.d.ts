/**
 * faas/testing: run a function in the real sandbox from your own tests.
 *
 *   import { createFunction } from 'faas/testing';
 *   const fn = await createFunction({ entry: new URL('../functions/hello.ts', import.meta.url) });
 *   const res = await fn.fetch('/hello');          // a Response
 *   await fn.scheduled();                          // runs scheduled() for the first cron
 *   await fn.kv('COUNTER').get('n');               // the function's KV, from the host side
 *   await fn.close();
 *
 * kit/testing.ts implements it (and is typechecked against this file).
 */

/** A function config as in `<name>.faas.json` (see faas/config.schema.json). */
export interface FunctionConfigInput {
  memoryMb?: number;
  cpuMs?: number;
  timeoutMs?: number;
  priority?: number;
  maxConcurrency?: number;
  allowedHosts?: string[];
  env?: Record<string, string>;
  secrets?: Record<string, string>;
  kv?: string[];
  crons?: string[];
  isolation?: 'shared' | 'instance';
  routes?: string[];
  rateLimit?: { requestsPerSecond: number; burst?: number };
  stripPrefix?: boolean;
  $schema?: string;
}

export interface CreateFunctionOptions {
  /** The entry file (a path or a file: URL); its imports and npm packages are bundled. */
  entry?: string | URL;
  /** Or the source text of the function (its imports resolve from `resolveDir`, default cwd). */
  source?: string;
  /** The source's file name (`.ts`, `.js` …): default `function.ts`. */
  filename?: string;
  resolveDir?: string;
  /** The config: an object, or the path of a config file. Default: `<entry>.faas.json` beside the entry, if any. */
  config?: FunctionConfigInput | string;
  /** Where local KV lives (`kv.db`). Default: a temp directory, removed by close(). */
  dataDir?: string;
  /** The function's name (default: the entry's file name). */
  name?: string;
  /** The engine (default quickjs-wasi, as `faas serve`). */
  engine?: 'quickjs-wasi' | 'quickjs-emscripten';
  /** Called with each console line of the function. */
  log?: (line: TestLogLine) => void;
}

export interface TestLogLine {
  level: 'log' | 'info' | 'warn' | 'error' | 'debug';
  text: string;
  requestId?: string;
}

/** The host side of one of the function's KV namespaces: to seed data before a request and read it after. */
export interface TestKVNamespace {
  get(key: string, type?: 'text'): Promise<string | null>;
  get<T = unknown>(key: string, type: 'json'): Promise<T | null>;
  get(key: string, type: 'arrayBuffer'): Promise<ArrayBuffer | null>;
  getWithMetadata<M = unknown>(key: string): Promise<{ value: string | null; metadata: M | null }>;
  put(key: string, value: string | ArrayBuffer | ArrayBufferView, options?: { expirationTtl?: number; expiration?: number; metadata?: unknown }): Promise<void>;
  delete(key: string): Promise<void>;
  list(options?: { prefix?: string; limit?: number; cursor?: string }): Promise<{
    keys: { name: string; expiration?: number; metadata?: unknown }[];
    list_complete: boolean;
    cursor?: string;
  }>;
}

export interface TestFunction {
  readonly name: string;
  /** The parsed config, defaults filled in. */
  readonly config: Required<Omit<FunctionConfigInput, 'isolation' | 'rateLimit' | '$schema'>> & Pick<FunctionConfigInput, 'isolation' | 'rateLimit'>;
  /** The heap the module needs once initialized, as `faas compile` reports it. */
  readonly memory?: { neededBytes: number; moduleBytes: number; suggestedMemoryMb: number; complete: boolean };
  /** Every console line the function wrote, in order. */
  readonly logs: TestLogLine[];
  readonly dataDir: string;
  /**
   * One request through the sandbox. A path (`'/users?id=1'`) is taken on http://localhost. A
   * failed invocation answers as the gateway would: `{ error, message, requestId, stack? }` with
   * the error's status (500 function_error, 503 memory_limit_exceeded / cpu_limit_exceeded, 504 timeout …).
   */
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
  /** Runs `scheduled()` now, for `cron` (default: the config's first cron) at `scheduledTime` (default: now). */
  scheduled(cron?: string, scheduledTime?: number): Promise<void>;
  /** Resolves when every request's ctx.waitUntil work is done. */
  waitUntilSettled(): Promise<void>;
  /** A KV namespace the function's config binds. */
  kv(binding: string): TestKVNamespace;
  /** Waits for background work, disposes the sandbox, and removes the temp data directory. */
  close(): Promise<void>;
}

/** Compiles the function (as `faas compile`: a module that does not fit its memoryMb is refused) and starts it. */
export function createFunction(options: CreateFunctionOptions): Promise<TestFunction>;
