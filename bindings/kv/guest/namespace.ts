import { call, internals } from '../../../runtime/prelude/guest/host.ts';
import { isBufferSource, named, viewBytes } from '../../../runtime/prelude/guest/util.ts';

/** Workers KV's binding shape over the host's KV ops. Values cross as bytes; types are the guest's job. */

type ValueType = 'text' | 'json' | 'arrayBuffer' | 'stream';
const TYPES = ['text', 'json', 'arrayBuffer', 'stream'];
const ILLEGAL = {};

function valueType(options: unknown): ValueType {
  const t = (typeof options === 'string' ? options : (options as any)?.type) ?? 'text';
  if (!callWith(ArrayPrototypeIncludes, TYPES, t)) throw new TypeError(`Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".`);
  return t;
}

function decode(value: ArrayBuffer, type: ValueType): unknown {
  if (type === 'arrayBuffer') return value;
  if (type === 'stream') return internals.bodyStream(new internals.Response(value));
  const text: string = callWith(ArrayBufferPrototypeGetByteLength, value) ? call('utf8Decode', value, false, false) : '';
  return type === 'json' ? JSONParse(text) : text;
}

function encode(value: unknown): Uint8Array | ArrayBuffer {
  if (typeof value === 'string') return value ? call('utf8Encode', value) : new ArrayBuffer(0);
  if (isBufferSource(value)) return viewBytes(value);
  throw new TypeError('KV put() accepts only strings, ArrayBuffers and ArrayBufferViews.');
}

export class KVNamespace {
  #name: string;

  constructor(key: unknown, name: string) {
    if (key !== ILLEGAL) throw new TypeError('Illegal constructor');
    this.#name = name;
  }

  async get(key: unknown, options?: unknown): Promise<unknown> {
    const type = valueType(options);
    const r = await call('kvGet', this.#name, String(key));
    return r ? decode(r.value, type) : null;
  }

  async getWithMetadata(key: unknown, options?: unknown): Promise<{ value: unknown; metadata: unknown }> {
    const type = valueType(options);
    const r = await call('kvGet', this.#name, String(key));
    return r ? { value: decode(r.value, type), metadata: r.metadata ?? null } : { value: null, metadata: null };
  }

  async put(key: unknown, value: unknown, options?: { expirationTtl?: number; expiration?: number; metadata?: unknown }): Promise<void> {
    const opts: Record<string, unknown> = {};
    if (options?.expirationTtl !== undefined) opts.expirationTtl = Number(options.expirationTtl);
    if (options?.expiration !== undefined) opts.expiration = Number(options.expiration);
    if (options?.metadata !== undefined) opts.metadata = options.metadata;
    // Serialised here, under this function's own limits: the host never walks a guest object.
    await call('kvPut', this.#name, String(key), encode(value), JSONStringify(opts));
  }

  async delete(key: unknown): Promise<void> {
    await call('kvDelete', this.#name, String(key));
  }

  async list(options?: { prefix?: string; limit?: number; cursor?: string }): Promise<unknown> {
    const opts: Record<string, unknown> = {};
    if (options?.prefix != null) opts.prefix = String(options.prefix);
    if (options?.limit != null) opts.limit = Number(options.limit);
    if (options?.cursor != null) opts.cursor = String(options.cursor);
    return await call('kvList', this.#name, JSONStringify(opts));
  }
}

named(KVNamespace, 'KvNamespace');

export const namespace = (name: string) => new KVNamespace(ILLEGAL, name);
