/**
 * The bindings (bindings/index.ts), wired into the gateway the same way whatever they are: their host
 * operations where guests run (this thread, or each worker thread, which loads the binding's host
 * module itself) and their gateway parts (cron timers …), kept in step with the deployed functions.
 */
import { BINDINGS, type BindingDefinition, type BindingHostOptions, type GatewayContext, type GatewayPart } from '../bindings/index.ts';
import type { BoundOp, OpsModule, OpsProvider } from '../runtime/index.ts';

const all = BINDINGS as readonly BindingDefinition[];

/** Every binding's host operations for guests on this thread; close them with the returned providers. */
export async function openBindingHosts(options: BindingHostOptions): Promise<OpsProvider[]> {
  const out: OpsProvider[] = [];
  for (const b of all) {
    if (!b.host) continue;
    const mod = (await import(b.host.href)) as { createOps(o: BindingHostOptions): OpsProvider | Promise<OpsProvider> };
    out.push(await mod.createOps(options));
  }
  return out;
}

export function mergeOps(providers: readonly OpsProvider[]): Record<string, BoundOp> {
  return Object.assign({}, ...providers.map((p) => p.ops));
}

export async function closeAll(providers: readonly OpsProvider[]): Promise<void> {
  for (const p of providers) {
    try {
      await p.close?.();
    } catch {
      // closing is best effort on shutdown
    }
  }
}

/** The modules worker threads import to serve the bindings' host operations. */
export function bindingOpsModules(options: BindingHostOptions): OpsModule[] {
  return all.filter((b) => b.host).map((b) => ({ module: b.host!.href, options }));
}

/** Every binding's gateway part, by binding name. */
export async function attachGatewayParts(ctx: GatewayContext): Promise<Map<string, GatewayPart>> {
  const parts = new Map<string, GatewayPart>();
  for (const b of all) {
    if (!b.gateway) continue;
    const mod = (await import(b.gateway.href)) as { attachGateway(c: GatewayContext): GatewayPart };
    parts.set(b.name, mod.attachGateway(ctx));
  }
  return parts;
}
