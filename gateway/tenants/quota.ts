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

/**
 * Refuses (403 `quota_exceeded`, naming the quota, its limit and the current use) a deploy of
 * `config` that would take `tenant` over one of its quotas; `others` are its other live functions
 * (the one being deployed, if it exists, is replaced and so not counted).
 */
export function checkQuota(tenant: Tenant, config: FunctionConfig, others: readonly { config: Pick<FunctionConfig, 'memoryMb'> }[]): void {
  const q = tenant.quota;
  const refuse = (quota: string, message: string, detail: Record<string, number>) => {
    throw new FaasError('quota_exceeded', `tenant "${tenant.name}" quota ${quota}: ${message}`, { quota, ...detail });
  };
  if (q.functions !== undefined && others.length + 1 > q.functions) {
    refuse('functions', `${others.length} functions deployed, ${q.functions} allowed`, { limit: q.functions, used: others.length });
  }
  if (q.memoryMb !== undefined) {
    const used = others.reduce((sum, f) => sum + f.config.memoryMb, 0);
    if (used + config.memoryMb > q.memoryMb) {
      refuse('memoryMb', `${used} MB used by other functions + ${config.memoryMb} MB asked > ${q.memoryMb} MB allowed`, {
        limit: q.memoryMb,
        used,
        requested: config.memoryMb,
      });
    }
  }
  if (q.cpuMs !== undefined && config.cpuMs > q.cpuMs) {
    refuse('cpuMs', `cpuMs ${config.cpuMs} asked, at most ${q.cpuMs} allowed per function`, { limit: q.cpuMs, requested: config.cpuMs });
  }
  if (q.timeoutMs !== undefined && config.timeoutMs > q.timeoutMs) {
    refuse('timeoutMs', `timeoutMs ${config.timeoutMs} asked, at most ${q.timeoutMs} allowed per function`, { limit: q.timeoutMs, requested: config.timeoutMs });
  }
}
