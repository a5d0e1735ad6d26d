/** A tenant's quotas, checked when one of its functions is deployed. */
import type { FunctionConfig } from '../../contract/config.ts';
import { FaasError } from '../../contract/errors.ts';
import type { Quota, Tenant } from './store.ts';

/**
 * A config that leaves `cpuMs` or `timeoutMs` unset gets the tenant's maximum where that is lower
 * than the platform default, so a tenant with such a quota can deploy without spelling them out.
 */
export function withQuotaDefaults(config: unknown, quota: Quota, defaults: { cpuMs: number; timeoutMs: number }): unknown {
  if (config !== undefined && (typeof config !== 'object' || config === null || Array.isArray(config))) return config;
  const out: Record<string, unknown> = { ...(config as Record<string, unknown> | undefined) };
  if (out.cpuMs === undefined && quota.cpuMs !== undefined && quota.cpuMs < defaults.cpuMs) out.cpuMs = quota.cpuMs;
  if (out.timeoutMs === undefined && quota.timeoutMs !== undefined && quota.timeoutMs < defaults.timeoutMs) out.timeoutMs = quota.timeoutMs;
  return out;
}

/** What a quota limits in one version's config. */
export type QuotaFields = Pick<FunctionConfig, 'memoryMb' | 'cpuMs' | 'timeoutMs'>;

/**
 * Refuses (403 `quota_exceeded`, naming the quota, its limit and the current use) a live deployment
 * of one function that would take `tenant` over one of its quotas. `versions` are the configs of its
 * versions that will be live (one, or each version of a traffic split: every one runs its own
 * instances, so their memory adds up); `others` are the tenant's other live functions with the memory
 * all their live versions take (the function being deployed, if it exists, is replaced and so not counted).
 */
/** The tenant's other live functions: how many, and (read only when a memoryMb quota asks) their memoryMb summed. */
export interface OtherFunctions {
  count: number;
  memoryMb(): number | Promise<number>;
}

export async function checkQuota(tenant: Tenant, versions: readonly QuotaFields[], others: OtherFunctions): Promise<void> {
  const q = tenant.quota;
  const refuse = (quota: string, message: string, detail: Record<string, number>) => {
    throw new FaasError('quota_exceeded', `tenant "${tenant.name}" quota ${quota}: ${message}`, { quota, ...detail });
  };
  if (q.functions !== undefined && others.count + 1 > q.functions) {
    refuse('functions', `${others.count} functions deployed, ${q.functions} allowed`, { limit: q.functions, used: others.count });
  }
  if (q.memoryMb !== undefined) {
    const used = await others.memoryMb();
    const asked = versions.reduce((sum, v) => sum + v.memoryMb, 0);
    if (used + asked > q.memoryMb) {
      const what = versions.length > 1 ? `${asked} MB asked by ${versions.length} live versions` : `${asked} MB asked`;
      refuse('memoryMb', `${used} MB used by other functions + ${what} > ${q.memoryMb} MB allowed`, {
        limit: q.memoryMb,
        used,
        requested: asked,
      });
    }
  }
  for (const v of versions) {
    if (q.cpuMs !== undefined && v.cpuMs > q.cpuMs) {
      refuse('cpuMs', `cpuMs ${v.cpuMs} asked, at most ${q.cpuMs} allowed per function`, { limit: q.cpuMs, requested: v.cpuMs });
    }
    if (q.timeoutMs !== undefined && v.timeoutMs > q.timeoutMs) {
      refuse('timeoutMs', `timeoutMs ${v.timeoutMs} asked, at most ${q.timeoutMs} allowed per function`, { limit: q.timeoutMs, requested: v.timeoutMs });
    }
  }
}
