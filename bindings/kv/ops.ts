import type { BoundOp, OpContext } from '../../runtime/index.ts';
import { KvError, scopedNamespace, type KvBackend } from './store.ts';

/**
 * The guest's KV host operations. A namespace is reachable only by functions that declare it in
 * their own config's `kv` list: the binding name is the namespace, within the function's tenant.
 */
export function kvOps(store: KvBackend): Record<string, BoundOp> {
  const guard = (args: unknown[], ctx: OpContext): string => {
    const ns = String(args[0]);
    if (!ctx.fn.config.kv.includes(ns)) throw new KvError(`KV namespace "${ns}" is not bound to function "${ctx.fn.name}"`);
    return scopedNamespace(ctx.fn.tenant, ns);
  };
  const bytes = (v: unknown): Uint8Array => (v instanceof Uint8Array ? v : new Uint8Array(v as ArrayBuffer));
  // Resolved as promises: the guest API is asynchronous, and a future store may be too.
  return {
    kvGet: async (args, ctx) => store.get(guard(args, ctx), String(args[1])),
    kvPut: async (args, ctx) => store.put(guard(args, ctx), String(args[1]), bytes(args[2]), (args[3] ?? {}) as object),
    kvDelete: async (args, ctx) => store.delete(guard(args, ctx), String(args[1])),
    kvList: async (args, ctx) => store.list(guard(args, ctx), (args[1] ?? {}) as object),
  };
}
