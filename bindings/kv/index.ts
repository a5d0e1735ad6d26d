/**
 * KV namespaces (Workers KV's shape): `kv: ["COUNTER"]` in a function's config puts a namespace of
 * that name on `env`; two functions that declare the same name share it. Host operations in host.ts
 * (over store.ts), the guest side in guest/.
 */
import { z } from 'zod';
import { KiB, MiB, bytes, json, str } from '../../contract/host-ops.ts';
import { sibling, type BindingDefinition } from '../types.ts';

export const KV_LIMITS_CONFIG = { namespaces: 64 } as const;
const BINDING_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export const kv = {
  name: 'kv',
  config: {
    kv: z
      .array(z.string().max(128, 'must be at most 128 characters').regex(BINDING_NAME, 'must be a JavaScript identifier'))
      .max(KV_LIMITS_CONFIG.namespaces, `must have at most ${KV_LIMITS_CONFIG.namespaces} entries`)
      .default([]),
  },
  ops: {
    kvGet: { kind: 'bound', args: [str(64), str(2 * KiB)] },
    /** namespace, key, value, `{ expirationTtl?, expiration?, metadata? }` as JSON */
    kvPut: { kind: 'bound', args: [str(64), str(2 * KiB), bytes(32 * MiB), json(64 * KiB, true)] },
    kvDelete: { kind: 'bound', args: [str(64), str(2 * KiB)] },
    /** namespace, `{ prefix?, limit?, cursor? }` as JSON */
    kvList: { kind: 'bound', args: [str(64), json(16 * KiB, true)] },
  },
  guest: { chunk: 'kv', entry: 'guest/chunk.ts', envType: 'KVNamespace' },
  envEntries: (config) => ((config.kv as string[] | undefined) ?? []).map((name) => ({ name, chunk: 'kv' })),
  host: sibling(import.meta.url, 'host'),
} as const satisfies BindingDefinition;
