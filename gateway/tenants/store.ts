/**
 * Tenants, their quotas and their tokens, in the registry's database. A token is shown once, when
 * issued: only its SHA-256 is stored (tokens are 32 random bytes, so a plain hash is as good as a
 * slow one), looked up by its public id part, compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { FaasError } from '../../contract/errors.ts';
import { DEFAULT_TENANT, TENANT_NAME } from '../../contract/tenants.ts';
import type { TenantBackend } from '../store/types.ts';

/** Limits the operator sets per tenant; an absent one is unlimited. */
export const QuotaSchema = z
  .object({
    /** Deployed functions. */
    functions: z.number().int().min(0).optional(),
    /** `memoryMb` summed over the tenant's functions. */
    memoryMb: z.number().min(0).optional(),
    /** The largest `cpuMs` one function may ask for. */
    cpuMs: z.number().int().min(1).optional(),
    /** The largest `timeoutMs` one function may ask for. */
    timeoutMs: z.number().int().min(1).optional(),
    /** Bytes of KV values (and keys and metadata) over all the tenant's namespaces. */
    kvBytes: z.number().int().min(0).optional(),
    /** Requests per second over all the tenant's functions (token bucket; burst = 2 s worth unless given). */
    requestsPerSecond: z.number().positive().optional(),
    burst: z.number().int().positive().optional(),
  })
  .strict();

export type Quota = z.output<typeof QuotaSchema>;

export interface Tenant {
  name: string;
  createdAt: string;
  quota: Quota;
}

export interface TokenInfo {
  id: string;
  tenant: string;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}

/** Who is calling the admin API. */
export type Principal = { kind: 'root' } | { kind: 'tenant'; tenant: string; tokenId: string };

export const ROOT: Principal = { kind: 'root' };

/** A tenant token: `faas_<id>_<secret>`. */
export const TOKEN = /^faas_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export class TenantStore implements TenantBackend {
  private readonly stmts;

  constructor(private readonly db: Database.Database) {
    this.stmts = {
      get: db.prepare<[string], { name: string; created_at: string; quota: string }>('SELECT * FROM tenants WHERE name = ?'),
      list: db.prepare<[], { name: string; created_at: string; quota: string }>('SELECT * FROM tenants ORDER BY name'),
      insert: db.prepare<[string, string]>('INSERT INTO tenants (name, created_at) VALUES (?, ?)'),
      setQuota: db.prepare<[string, string]>('UPDATE tenants SET quota = ? WHERE name = ?'),
      remove: db.prepare<[string]>('DELETE FROM tenants WHERE name = ?'),
      token: db.prepare<[string], { id: string; tenant: string; label: string | null; hash: string; created_at: string; revoked_at: string | null }>(
        'SELECT * FROM tokens WHERE id = ?',
      ),
      tokens: db.prepare<[string], { id: string; tenant: string; label: string | null; created_at: string; revoked_at: string | null }>(
        'SELECT id, tenant, label, created_at, revoked_at FROM tokens WHERE tenant = ? ORDER BY created_at',
      ),
      insertToken: db.prepare<[string, string, string | null, string, string]>('INSERT INTO tokens (id, tenant, label, hash, created_at) VALUES (?, ?, ?, ?, ?)'),
      revoke: db.prepare<[string, string, string]>('UPDATE tokens SET revoked_at = ? WHERE id = ? AND tenant = ? AND revoked_at IS NULL'),
      revokeAll: db.prepare<[string, string]>('UPDATE tokens SET revoked_at = ? WHERE tenant = ? AND revoked_at IS NULL'),
    };
  }

  get(name: string): Tenant | undefined {
    const row = this.stmts.get.get(name);
    return row && { name: row.name, createdAt: row.created_at, quota: JSON.parse(row.quota) as Quota };
  }

  list(): Tenant[] {
    return this.stmts.list.all().map((row) => ({ name: row.name, createdAt: row.created_at, quota: JSON.parse(row.quota) as Quota }));
  }

  create(name: string): Tenant {
    if (!TENANT_NAME.test(name)) throw new FaasError('bad_request', `invalid tenant name "${name.slice(0, 64)}": must match ${TENANT_NAME}`);
    if (this.get(name)) throw new FaasError('conflict', `tenant "${name}" already exists`);
    const at = new Date().toISOString();
    this.stmts.insert.run(name, at);
    return { name, createdAt: at, quota: {} };
  }

  setQuota(name: string, quota: Quota): void {
    if (this.stmts.setQuota.run(JSON.stringify(quota), name).changes === 0) throw notFound(name);
  }

  /** A tenant with no function left; its tokens are revoked with it. */
  remove(name: string): void {
    if (name === DEFAULT_TENANT) throw new FaasError('bad_request', `the "${DEFAULT_TENANT}" tenant cannot be deleted`);
    this.db.transaction(() => {
      this.stmts.revokeAll.run(new Date().toISOString(), name);
      this.db.prepare('DELETE FROM tokens WHERE tenant = ?').run(name);
      if (this.stmts.remove.run(name).changes === 0) throw notFound(name);
    })();
  }

  /** A new token for `tenant`: the secret is returned once and never stored. */
  issueToken(tenant: string, label: string | null): { token: string; info: TokenInfo } {
    if (!this.get(tenant)) throw notFound(tenant);
    const { id, token } = newToken();
    const at = new Date().toISOString();
    this.stmts.insertToken.run(id, tenant, label, hash(token), at);
    return { token, info: { id, tenant, label, createdAt: at, revokedAt: null } };
  }

  tokens(tenant: string): TokenInfo[] {
    return this.stmts.tokens.all(tenant).map((r) => ({ id: r.id, tenant: r.tenant, label: r.label, createdAt: r.created_at, revokedAt: r.revoked_at }));
  }

  revokeToken(tenant: string, id: string): boolean {
    return this.stmts.revoke.run(new Date().toISOString(), id, tenant).changes > 0;
  }

  /** The tenant principal a presented token stands for, or undefined (unknown, revoked, or not a tenant token). */
  authenticate(presented: string): Principal | undefined {
    const m = TOKEN.exec(presented);
    if (!m) return undefined;
    return matchToken(presented, this.stmts.token.get(m[1]!));
  }
}

/** A fresh token and its public id part. */
export function newToken(): { id: string; token: string } {
  const id = randomBytes(9).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 12);
  return { id, token: `faas_${id}_${randomBytes(32).toString('base64url')}` };
}

/** The principal `presented` stands for if `row` (looked up by its id part) is live and its hash matches. */
export function matchToken(presented: string, row: { id: string; tenant: string; hash: string; revoked_at: string | null } | undefined): Principal | undefined {
  if (!row || row.revoked_at) return undefined;
  const expected = Buffer.from(row.hash, 'hex');
  if (!timingSafeEqual(Buffer.from(hash(presented), 'hex'), expected)) return undefined;
  return { kind: 'tenant', tenant: row.tenant, tokenId: row.id };
}

export function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function notFound(name: string): FaasError {
  return new FaasError('not_found', `tenant "${name}" does not exist`);
}
