/** Tenants, as every layer names them. */

/** The tenant of every function deployed with the root token and of every function from before tenants existed. */
export const DEFAULT_TENANT = 'default';

/** Tenant names: like function names, so they can appear in URLs and KV namespace keys. */
export const TENANT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
