/** `faas tenant …` and `faas usage`: the operator's side of a multi-tenant gateway (root token). */
import { call, integer, printTable, type AdminOptions } from './admin.ts';
import { exitWithError } from './shared.ts';

export interface QuotaFlags {
  functions?: string;
  memoryMb?: string;
  cpuMs?: string;
  timeoutMs?: string;
  kvBytes?: string;
  rps?: string;
  burst?: string;
}

interface TenantView {
  name: string;
  createdAt: string;
  quota: Record<string, number>;
  functions: number;
  kvBytes: number;
}

const MAX = Number.MAX_SAFE_INTEGER;

export async function tenantCreateCommand(name: string, opts: AdminOptions & QuotaFlags): Promise<void> {
  try {
    const quota = quotaOf(opts);
    const res = await call(opts, 'POST', '/admin/tenants', { name, ...(Object.keys(quota).length ? { quota } : {}) });
    const t = (await res.json()) as TenantView;
    process.stdout.write(`created tenant ${t.name}${describeQuota(t.quota)}\n`);
  } catch (err) {
    exitWithError(err);
  }
}

export async function tenantListCommand(opts: AdminOptions & { json?: boolean }): Promise<void> {
  try {
    const list = (await (await call(opts, 'GET', '/admin/tenants')).json()) as TenantView[];
    if (opts.json) return void process.stdout.write(`${JSON.stringify(list)}\n`);
    printTable([['TENANT', 'FUNCTIONS', 'KV BYTES', 'QUOTA'], ...list.map((t) => [t.name, String(t.functions), String(t.kvBytes), describeQuota(t.quota).trim() || '-'])]);
  } catch (err) {
    exitWithError(err);
  }
}

export async function tenantDeleteCommand(name: string, opts: AdminOptions): Promise<void> {
  try {
    await call(opts, 'DELETE', `/admin/tenants/${encodeURIComponent(name)}`);
    process.stdout.write(`deleted tenant ${name}\n`);
  } catch (err) {
    exitWithError(err);
  }
}

export async function tenantQuotaCommand(name: string, opts: AdminOptions & QuotaFlags): Promise<void> {
  try {
    const res = await call(opts, 'PUT', `/admin/tenants/${encodeURIComponent(name)}/quota`, quotaOf(opts));
    const t = (await res.json()) as TenantView;
    process.stdout.write(`tenant ${t.name}${describeQuota(t.quota) || ': no quota'}\n`);
  } catch (err) {
    exitWithError(err);
  }
}

export async function tokenIssueCommand(name: string, opts: AdminOptions & { label?: string }): Promise<void> {
  try {
    const res = await call(opts, 'POST', `/admin/tenants/${encodeURIComponent(name)}/tokens`, opts.label ? { label: opts.label } : {});
    const out = (await res.json()) as { token: string; id: string };
    // The token alone on stdout (for scripts); what it is on stderr. It is not shown again.
    process.stderr.write(`token ${out.id} for tenant ${name} (shown once; store it now):\n`);
    process.stdout.write(`${out.token}\n`);
  } catch (err) {
    exitWithError(err);
  }
}

export async function tokenListCommand(name: string, opts: AdminOptions & { json?: boolean }): Promise<void> {
  try {
    const list = (await (await call(opts, 'GET', `/admin/tenants/${encodeURIComponent(name)}/tokens`)).json()) as {
      id: string;
      label: string | null;
      createdAt: string;
      revokedAt: string | null;
    }[];
    if (opts.json) return void process.stdout.write(`${JSON.stringify(list)}\n`);
    printTable([['ID', 'LABEL', 'CREATED', 'REVOKED'], ...list.map((t) => [t.id, t.label ?? '-', t.createdAt, t.revokedAt ?? '-'])]);
  } catch (err) {
    exitWithError(err);
  }
}

export async function tokenRevokeCommand(name: string, id: string, opts: AdminOptions): Promise<void> {
  try {
    await call(opts, 'DELETE', `/admin/tenants/${encodeURIComponent(name)}/tokens/${encodeURIComponent(id)}`);
    process.stdout.write(`revoked token ${id} of tenant ${name}\n`);
  } catch (err) {
    exitWithError(err);
  }
}

export async function usageCommand(opts: AdminOptions & { from?: string; to?: string; tenant?: string; json?: boolean }): Promise<void> {
  try {
    const q = new URLSearchParams();
    if (opts.from) q.set('from', opts.from);
    if (opts.to) q.set('to', opts.to);
    if (opts.tenant) q.set('tenant', opts.tenant);
    const out = (await (await call(opts, 'GET', `/admin/usage?${q}`)).json()) as {
      functions: Record<string, { invocations: number; errors: number; cpuMs: number; wallMs: number; egressBytes: number; kvOps: number }>;
    };
    if (opts.json) return void process.stdout.write(`${JSON.stringify(out)}\n`);
    printTable([
      ['TENANT/FUNCTION', 'INVOCATIONS', 'ERRORS', 'CPU MS', 'WALL MS', 'EGRESS B', 'KV OPS'],
      ...Object.entries(out.functions).map(([k, f]) => [k, String(f.invocations), String(f.errors), f.cpuMs.toFixed(1), f.wallMs.toFixed(1), String(f.egressBytes), String(f.kvOps)]),
    ]);
  } catch (err) {
    exitWithError(err);
  }
}

function quotaOf(f: QuotaFlags): Record<string, number> {
  const q: Record<string, number> = {};
  if (f.functions !== undefined) q.functions = integer('--functions', f.functions, 0, MAX);
  if (f.memoryMb !== undefined) q.memoryMb = integer('--memory-mb', f.memoryMb, 0, MAX);
  if (f.cpuMs !== undefined) q.cpuMs = integer('--cpu-ms', f.cpuMs, 1, MAX);
  if (f.timeoutMs !== undefined) q.timeoutMs = integer('--timeout-ms', f.timeoutMs, 1, MAX);
  if (f.kvBytes !== undefined) q.kvBytes = integer('--kv-bytes', f.kvBytes, 0, MAX);
  if (f.rps !== undefined) q.requestsPerSecond = integer('--rps', f.rps, 1, MAX);
  if (f.burst !== undefined) q.burst = integer('--burst', f.burst, 1, MAX);
  return q;
}

function describeQuota(q: Record<string, number>): string {
  const parts = Object.entries(q).map(([k, v]) => `${k} ${v}`);
  return parts.length ? `: ${parts.join(', ')}` : '';
}
