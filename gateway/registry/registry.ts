import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { checkDeploy } from '../../bindings/index.ts';
import { compileEntry, type EntryInput } from '../../compiler/index.ts';
import { verifyArtifact, type Artifact } from '../../contract/artifact.ts';
import { parseFunctionConfig, type FunctionConfig } from '../../contract/config.ts';
import { FaasError, isFaasError } from '../../contract/errors.ts';
import { DEFAULT_TENANT } from '../../contract/tenants.ts';
import type { ArtifactSource, DeployedFunction, FunctionHost } from '../../runtime/index.ts';
import { ROOT, type Principal, type TenantStore } from '../tenants/store.ts';
import { checkQuota } from '../tenants/quota.ts';
import { claimConflicts } from '../routing/routes.ts';
import type { RegistryBackend } from '../store/types.ts';
import { ArtifactFiles } from './artifacts.ts';
import { RegistryStore, type LiveRecord, type SplitEntry, type VersionRecord } from './store.ts';

export type { LiveRecord, SplitEntry, VersionRecord } from './store.ts';

export interface DeployInput {
  /** What to compile: a file (functions directory) or source text (admin API). */
  entry: EntryInput;
  /** Kept so the function can be rebuilt: the uploaded source, or a directory entry's bundle. */
  source: string;
  /** The name `source` compiles under (its extension picks the loader). */
  filename: string;
  origin: VersionRecord['origin'];
  sourceHash?: string;
}

/** Who deploys, and how the new version goes live. */
export interface DeployContext {
  principal?: Principal;
  /** A new function's tenant when the operator deploys it (default: "default"); a tenant always deploys into its own. */
  tenant?: string;
  /** 1..99: the new version takes this share of the traffic, the current live version the rest. */
  percent?: number;
  /** Checked under the function's lock, just before the new version is written: throwing refuses the deploy. */
  precondition?: () => void;
}

/** What GET /admin/functions shows: everything but the secrets. */
export type PublicFunction = Pick<VersionRecord, 'name' | 'version' | 'sha256' | 'bytecodeBytes' | 'deployedAt' | 'origin' | 'tenant'> & {
  config: Omit<FunctionConfig, 'secrets'>;
  /** The names of the secrets set (their values are never shown). */
  secretNames: string[];
  /** The traffic split when several versions are live (gradual rollout). */
  split?: SplitEntry[];
};

/** One kept version, as `faas versions` shows it. */
export interface VersionView {
  version: number;
  sha256: string;
  bytecodeBytes: number;
  deployedAt: string;
  deployedBy: string | null;
  origin: VersionRecord['origin'];
  /** Its share of the traffic now (0 when not live). */
  percent: number;
}

export interface LoadReport {
  /** Live functions in the database: each is loaded into the runtime on its first request. */
  functions: number;
}

export interface RegistryOptions {
  dataDir: string;
  /** The SQLite database (the default store); ignored when `store` is given. */
  db?: Database.Database;
  /** Another store (PostgreSQL, for a cluster of gateways). */
  store?: RegistryBackend;
  tenants: Pick<TenantStore, 'get'>;
  runtime: FunctionHost;
  signingKey: Uint8Array;
  logger: Logger;
  /** Versions kept per function (older ones are pruned with their artifact files). Default 10. */
  keepVersions?: number;
  /** Called once per deploy attempt with 'ok' or the error code. */
  onDeploy?: (outcome: string) => void;
  /** Called whenever live functions changed (deploy, delete, rollback, split), with their names. */
  onChange?: (names: readonly string[]) => void;
  /**
   * A change made here (not one applied from elsewhere), after `onChange`: the other processes of
   * `faas serve --processes` apply it before this resolves, so the change is not answered before
   * every process serves it.
   */
  announce?: (names: readonly string[]) => Promise<void>;
  /** Called when a function is loaded into the runtime (its first request since start or since it was forgotten). */
  onMaterialize?: (live: LiveRecord) => void;
  /** Called when an idle function is dropped from the runtime (it stays deployed). */
  onForget?: (name: string) => void;
}

export const DEFAULT_KEEP_VERSIONS = 10;

/**
 * Durable function registry. A deploy goes compile → artifact file (fsynced) → database commit →
 * runtime swap, so a crash at any point leaves either the old version or the new one live, and
 * the runtime only ever serves what the database says is live. Every function belongs to a tenant;
 * a tenant's principal sees and changes only its own (another tenant's function is `not_found`).
 */
export class Registry {
  private readonly store: RegistryBackend;
  private readonly files: ArtifactFiles;
  private readonly keep: number;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly changeWatches = new Set<Set<string>>();
  /** Per-name chains: a function is never loaded into the runtime while a change to it is being made. */
  private readonly nameTails = new Map<string, Promise<unknown>>();
  /** Rebuilds from stored source under way, by name. */
  private readonly repairs = new Map<string, Promise<void>>();
  /** performance.now() of each loaded function's last request (for forgetting idle ones). */
  private readonly lastUsed = new Map<string, number>();

  constructor(private readonly opts: RegistryOptions) {
    mkdirSync(opts.dataDir, { recursive: true });
    if (!opts.store && !opts.db) throw new Error('Registry: a store or a database is required');
    this.store = opts.store ?? new RegistryStore(opts.db!, opts.dataDir);
    this.files = new ArtifactFiles(opts.dataDir);
    this.keep = Math.max(1, opts.keepVersions ?? DEFAULT_KEEP_VERSIONS);
  }

  /** The live record of `name`, if `principal` may see it (the operator sees all). */
  get(name: string, principal: Principal = ROOT): LiveRecord | undefined {
    const rec = this.store.current(name);
    return rec && visible(rec, principal) ? rec : undefined;
  }

  list(principal: Principal = ROOT): LiveRecord[] {
    return this.store.list(principal.kind === 'root' ? undefined : principal.tenant);
  }

  /** The functions directory's record of `name`'s files (see functions-dir.ts). */
  dirEntry(name: string): { fingerprint: string; sourceHash: string } | undefined {
    return this.store.dirEntry(name);
  }

  setDirEntry(name: string, fingerprint: string, sourceHash: string): void {
    this.store.setDirEntry(name, fingerprint, sourceHash);
  }

  /** One tenant's live functions. */
  ofTenant(tenant: string): LiveRecord[] {
    return this.store.list(tenant);
  }

  /** The names of all live functions (read from the index only: no config is parsed). */
  names(): string[] {
    return this.store.names();
  }

  /** Live functions in all (or of one tenant). */
  count(tenant?: string): number {
    return this.store.count(tenant);
  }

  /** The tenant that deployed a kept version (undefined when it is not kept). */
  tenantOf(name: string, version: number): string | undefined {
    return this.store.tenantOf ? this.store.tenantOf(name, version) : this.store.current(name)?.tenant;
  }

  /** One page of live functions by name, after `cursor` (a name), optionally by prefix and tenant. */
  page(principal: Principal, options: { cursor?: string; limit: number; prefix?: string; tenant?: string }): LiveRecord[] {
    // a tenant sees its own functions whatever it asks for; the operator may narrow to one tenant
    return this.store.page({ ...options, tenant: principal.kind === 'root' ? options.tenant : principal.tenant });
  }

  /** Live functions whose config has a non-empty list under `key` (routes, crons …). */
  withList(key: string): LiveRecord[] {
    return this.store.withList(key);
  }

  /**
   * The function ready to run: its live versions put into the runtime (metadata only: artifacts are
   * read on first start) if they are not there yet. A deployed function costs nothing in memory until
   * its first request; `undefined` when it is not deployed.
   */
  async materialize(name: string): Promise<DeployedFunction | undefined> {
    const have = this.opts.runtime.get(name);
    if (have) {
      this.lastUsed.set(name, performance.now());
      return have;
    }
    return this.forName(name, async () => {
      const again = this.opts.runtime.get(name);
      if (again) return again;
      const live = this.store.current(name);
      if (!live) return undefined;
      await this.putLive(live);
      this.lastUsed.set(name, performance.now());
      this.opts.onMaterialize?.(live);
      return this.opts.runtime.get(name);
    });
  }

  /**
   * Changes another gateway made (the cluster store's change feed, by name): a function loaded here is
   * swapped to what is live now (its artifacts fetched and verified on first start, as at start-up),
   * or dropped when it was deleted; then `onChange`, as for a change made here.
   */
  async applyRemote(names: readonly string[]): Promise<void> {
    for (const name of names) {
      await this.forName(name, async () => {
        if (!this.opts.runtime.get(name)) return;
        const live = this.store.current(name);
        if (live) return this.putLive(live);
        await this.opts.runtime.undeploy(name);
        this.lastUsed.delete(name);
      }).catch((err: unknown) => this.opts.logger.warn({ function: name, err: errorMessage(err) }, 'applying a change from another gateway failed'));
    }
    this.changed(names);
  }

  /** Functions loaded into the runtime now. */
  loadedNames(): string[] {
    return [...this.lastUsed.keys()];
  }

  /** Marks a request to a loaded function (cheap: one map write). */
  touch(name: string): void {
    this.lastUsed.set(name, performance.now());
  }

  /** Drops functions idle for `idleMs` from the runtime; they stay deployed and load again on their next request. */
  async forgetIdle(idleMs: number): Promise<number> {
    const cutoff = performance.now() - idleMs;
    let forgotten = 0;
    for (const [name, at] of [...this.lastUsed]) {
      if (at >= cutoff) continue;
      await this.forName(name, async () => {
        if ((this.lastUsed.get(name) ?? 0) >= cutoff) return;
        this.lastUsed.delete(name);
        await this.opts.runtime.undeploy(name);
        this.opts.onForget?.(name);
        forgotten++;
      });
    }
    return forgotten;
  }
  /** Kept versions of a function, newest first, with their current share of the traffic. */
  async versions(name: string, principal: Principal = ROOT): Promise<VersionView[]> {
    const live = this.require(name, principal);
    const share = sharesOf(live);
    return (await this.keptVersions(live)).map((v) => ({
      version: v.version,
      sha256: v.sha256,
      bytecodeBytes: v.bytecodeBytes,
      deployedAt: v.deployedAt,
      deployedBy: v.deployedBy,
      origin: v.origin,
      percent: share.get(v.version) ?? 0,
    }));
  }

  /** The source a kept version (default: the primary live one) was compiled from: the upload, or a directory entry's bundle. */
  async source(name: string, version: number | undefined, principal: Principal = ROOT): Promise<{ version: number; filename: string; source: string }> {
    const live = this.require(name, principal);
    const rec = await this.store.version(name, version ?? live.version);
    const source = rec ? await this.store.source(name, rec.version) : null;
    if (!rec || source === null) throw new FaasError('not_found', `no stored source for version ${version ?? live.version} of function "${name}"`);
    return { version: rec.version, filename: rec.filename, source };
  }

  /**
   * Source text received over the wire, or stored with a version: compiled as one self-contained
   * module that can import nothing and reads no file on the gateway (compiler/self-contained.ts).
   */
  sourceEntry(source: string, filename: string): EntryInput {
    return { source, filename };
  }

  async deploy(name: string, input: DeployInput, config: FunctionConfig, ctx: DeployContext = {}): Promise<VersionRecord> {
    const started = performance.now();
    const principal = ctx.principal ?? ROOT;
    try {
      // Ownership, quotas and routes are checked before the (slow) compile and again under the lock.
      await this.admit(name, config, principal, ctx);
      if (ctx.percent !== undefined && !(Number.isInteger(ctx.percent) && ctx.percent >= 1 && ctx.percent <= 99)) {
        throw new FaasError('bad_request', `percent must be an integer from 1 to 99 (got ${ctx.percent})`);
      }
      // Compiling is the slow part and touches no shared state, so deploys compile in parallel.
      // Probed under the function's own limits: a module that cannot fit its memoryMb is refused here.
      const { bytes, header } = await compileEntry(input.entry, this.opts.signingKey, { limits: { memoryMb: config.memoryMb, cpuMs: config.cpuMs } });
      const artifact = verifyArtifact(bytes, this.opts.signingKey);
      const refused = checkDeploy(config, { verified: header.exports.verified, fetch: !!header.exports.fetch, scheduled: !!header.exports.scheduled });
      if (refused) throw new FaasError('bad_request', `function "${name}" ${refused}`);
      const record = await this.exclusive(name, async () => {
        const tenant = await this.admit(name, config, principal, ctx);
        ctx.precondition?.();
        const previous = this.store.current(name);
        const version = await this.store.nextVersion(name);
        const rec: VersionRecord = {
          name,
          version,
          sha256: header.sha256,
          bytecodeBytes: header.bytecodeBytes,
          deployedAt: new Date().toISOString(),
          config,
          artifact: this.files.pathFor(name, version, header.sha256),
          origin: input.origin,
          filename: input.filename,
          sourceHash: input.sourceHash ?? null,
          tenant,
          deployedBy: input.origin === 'dir' ? 'dir' : deployer(principal),
        };
        const split = ctx.percent !== undefined && previous ? splitWith(rec.version, ctx.percent, previous) : null;
        // The version with the larger share is the primary one (its config's routes and rate limit apply, crons run on it).
        const canary = split !== null && ctx.percent! < 50;
        await this.store.writeArtifact(rec, bytes);
        await this.store.commit(rec, input.source, split, canary ? previous! : rec);
        // Already in the runtime (a request came, or an older version serves): swap in place, with
        // the artifact in hand. Otherwise it loads on its first request, like every function at start.
        if (this.opts.runtime.get(name)) {
          await this.opts.runtime.deploy(name, version, artifact, config, { tenant, alongside: split ? split.map((s) => s.version) : [], secondary: canary });
        }
        await this.prune(name);
        this.changed([name]);
        return rec;
      });
      await this.announce(name);
      this.opts.onDeploy?.('ok');
      this.opts.logger.info(
        { function: name, version: record.version, tenant: record.tenant, sha256: record.sha256, bytecodeBytes: record.bytecodeBytes, origin: record.origin, percent: ctx.percent, ms: round(performance.now() - started) },
        'deployed',
      );
      return record;
    } catch (err) {
      this.opts.onDeploy?.(isFaasError(err) ? err.code : 'internal_error');
      this.opts.logger.warn({ function: name, origin: input.origin, error: errorCode(err), err: errorMessage(err) }, 'deploy failed');
      throw err;
    }
  }

  /** Makes a kept version the only live one again: its artifact is loaded and verified, nothing is compiled. */
  rollback(name: string, version: number | undefined, principal: Principal = ROOT): Promise<LiveRecord> {
    return this.announced(name, async () => {
      const live = this.require(name, principal);
      const target = version ?? (await this.previousVersion(live));
      const rec = await this.keptVersion(live, target);
      const config = parseFunctionConfig(rec.config);
      await this.checkLive(name, live.tenant, config, []);
      // Verified before it goes live: a rollback to an artifact that no longer loads is refused, not served broken.
      const artifact = await this.loadArtifact(rec);
      await this.store.makeLive(rec, null);
      if (this.opts.runtime.get(name)) await this.opts.runtime.deploy(name, rec.version, artifact, config, { tenant: rec.tenant });
      this.changed([name]);
      this.opts.logger.info({ function: name, version: rec.version, from: live.version }, 'rolled back');
      return this.store.current(name)!;
    });
  }

  /**
   * Sets the live deployment to a traffic split over kept versions (`[{version, percent}]`, percents
   * summing to 100). The version with the largest share becomes the primary one.
   */
  setSplit(name: string, split: SplitEntry[], principal: Principal = ROOT): Promise<LiveRecord> {
    return this.announced(name, async () => {
      const live = this.require(name, principal);
      const entries = validSplit(split);
      const records: VersionRecord[] = [];
      for (const e of entries) records.push(await this.keptVersion(live, e.version));
      const primary = entries.reduce((a, b) => (b.percent > a.percent ? b : a));
      const configs = records.map((rec) => parseFunctionConfig(rec.config));
      const primaryAt = entries.indexOf(primary);
      await this.checkLive(name, live.tenant, configs[primaryAt]!, configs.filter((_, i) => i !== primaryAt));
      // verified before they go live: a split onto an artifact that no longer loads is refused, not served broken
      for (const rec of records) await this.loadArtifact(rec);
      const single = entries.length === 1;
      await this.store.makeLive(records[primaryAt]!, single ? null : entries);
      if (this.opts.runtime.get(name)) await this.putLive(this.store.current(name)!);
      this.changed([name]);
      this.opts.logger.info({ function: name, split: entries }, 'traffic split set');
      return this.store.current(name)!;
    });
  }

  async remove(name: string, principal: Principal = ROOT): Promise<boolean> {
    let found = false;
    const removed = await this.exclusive(name, async () => {
      const rec = this.store.current(name);
      if (!rec || !visible(rec, principal)) return false;
      found = true;
      const removed = await this.store.remove(name);
      await this.opts.runtime.undeploy(name);
      this.lastUsed.delete(name);
      this.changed([name]);
      if (removed) this.opts.logger.info({ function: name }, 'deleted');
      return removed;
    });
    // nothing of that name (or not the caller's): nothing for the other processes to apply
    if (found) await this.announce(name);
    return removed;
  }

  /**
   * Start-up: nothing is read but a count, so readiness does not depend on how many functions are
   * deployed. Each function is put into the runtime on its first request (materialize), its artifact
   * read and verified when an instance first starts; an artifact that fails then is rebuilt from its
   * stored source (repair). Leftovers of interrupted deploys are removed in the background.
   */
  start(): LoadReport {
    const startedAt = Date.now();
    setImmediate(() => {
      void this.store.collectGarbage(startedAt).then(
        (removed: string[]) => removed.length && this.opts.logger.info({ removed: removed.length }, 'removed leftover artifact files'),
        (err: unknown) => this.opts.logger.warn({ err: errorMessage(err) }, 'artifact clean-up failed'),
      );
    });
    const functions = this.store.count();
    this.opts.logger.info({ functions }, 'registry opened');
    return { functions };
  }

  /** The rebuild of `name` under way, if any. */
  repairing(name: string): Promise<void> | undefined {
    return this.repairs.get(name);
  }

  /**
   * Rebuilds a function whose recorded artifact no longer loads (another signing key or engine,
   * corruption, a file swapped in) from the source stored with its version, as a new version; once
   * per name at a time. Resolves when done; the error when it cannot be rebuilt.
   */
  repair(name: string, version: number, cause: unknown): Promise<void> {
    let running = this.repairs.get(name);
    if (running) return running;
    running = (async () => {
      const live = this.store.current(name);
      if (!live || !sharesOf(live).has(version)) return;
      const rec = (await this.store.version(name, version)) ?? live;
      const source = await this.store.source(name, rec.version);
      const reason = `${errorCode(cause)}: ${errorMessage(cause)}`;
      if (source === null) {
        this.opts.logger.error({ function: name, version, error: errorCode(cause), err: errorMessage(cause) }, 'artifact cannot be loaded and no source is stored to rebuild it');
        throw new FaasError('artifact_invalid', `cannot load version ${version} of function "${name}" (${reason}) and no source is stored to rebuild it`);
      }
      this.opts.logger.warn({ function: name, version, error: errorCode(cause), err: errorMessage(cause) }, 'rebuilding function from stored source');
      await this.deploy(
        name,
        { entry: this.sourceEntry(source, rec.filename), source, filename: rec.filename, origin: rec.origin, sourceHash: rec.sourceHash ?? undefined },
        parseFunctionConfig(rec.config),
        { tenant: rec.tenant },
      );
    })();
    this.repairs.set(name, running);
    const done = () => this.repairs.delete(name);
    running.then(done, done);
    return running;
  }

  /** The live record, if `principal` may see it; else `not_found` (never "unauthorized": another tenant's name is not revealed). */
  private require(name: string, principal: Principal): LiveRecord {
    const rec = this.store.current(name);
    if (!rec || !visible(rec, principal)) throw new FaasError('not_found', `function "${name}" is not deployed`);
    return rec;
  }

  /** Who may deploy `name` with `config`; returns the tenant it belongs to (or will). */
  private async admit(name: string, config: FunctionConfig, principal: Principal, ctx: DeployContext): Promise<string> {
    const existing = this.store.current(name);
    let tenant: string;
    if (principal.kind === 'tenant') {
      if (existing && existing.tenant !== principal.tenant) throw new FaasError('conflict', `function name "${name}" is taken`);
      tenant = principal.tenant;
    } else {
      if (existing && ctx.tenant !== undefined && existing.tenant !== ctx.tenant) {
        throw new FaasError('conflict', `function "${name}" belongs to tenant "${existing.tenant}", not "${ctx.tenant}"`);
      }
      tenant = existing?.tenant ?? ctx.tenant ?? DEFAULT_TENANT;
    }
    // a gradual rollout keeps the live (primary) version running beside the new one
    await this.checkLive(name, tenant, config, ctx.percent !== undefined && existing ? [existing.config] : []);
    return tenant;
  }

  /**
   * Refuses a live deployment of `name`, `primary` (whose routes it claims) with `alongside` (the
   * other versions of its traffic split), that would take `tenant` over one of its quotas (every
   * live version counts) or claim a route another tenant's function holds. Deploys, rollbacks and
   * splits all pass here: a kept version admitted under an older quota or route table is checked again.
   */
  private async checkLive(name: string, tenant: string, primary: FunctionConfig, alongside: readonly FunctionConfig[]): Promise<void> {
    const t = this.opts.tenants.get(tenant);
    if (!t) throw new FaasError('not_found', `tenant "${tenant}" does not exist`);
    // counted, and listed only for a memoryMb quota: a deploy costs the same with 100 functions or 100,000
    const mine = this.store.current(name)?.tenant === tenant;
    await checkQuota(t, [primary, ...alongside], {
      count: this.store.count(tenant) - (mine ? 1 : 0),
      memoryMb: async () => {
        let sum = 0;
        for (const f of this.store.list(tenant)) if (f.name !== name) sum += await this.liveMemoryMb(f);
        return sum;
      },
    });
    const conflict = primary.routes.length === 0 ? undefined : claimConflicts(name, tenant, primary.routes, this.store.withList('routes'));
    if (conflict) throw new FaasError('conflict', conflict);
  }

  /** `memoryMb` of every live version of a function (each version of a split runs its own instances). */
  private async liveMemoryMb(live: LiveRecord): Promise<number> {
    let sum = 0;
    for (const version of sharesOf(live).keys()) {
      const config = version === live.version ? live.config : (await this.store.version(live.name, version))?.config;
      sum += config?.memoryMb ?? 0;
    }
    return sum;
  }

  /**
   * Versions kept under the function's name that belong to its tenant, newest first. A name a tenant
   * deleted and another one took keeps counting versions, but the old owner's stay out of reach: never
   * listed, rolled back to or split into (they carry its code, secrets and KV namespaces).
   */
  private async keptVersions(live: LiveRecord): Promise<VersionRecord[]> {
    return (await this.store.versions(live.name)).filter((v) => v.tenant === live.tenant);
  }

  private async keptVersion(live: LiveRecord, version: number): Promise<VersionRecord> {
    const rec = await this.store.version(live.name, version);
    if (!rec || rec.tenant !== live.tenant) throw new FaasError('not_found', `version ${version} of function "${live.name}" is not kept (see its versions)`);
    return rec;
  }

  /** The version before the live one: the newest kept version older than the newest live one (during a rollout, the one it started from). */
  private async previousVersion(live: LiveRecord): Promise<number> {
    const newest = Math.max(...sharesOf(live).keys());
    const older = (await this.keptVersions(live)).find((v) => v.version < newest);
    if (!older) throw new FaasError('not_found', `function "${live.name}" has no kept version before ${newest}`);
    return older.version;
  }

  /** Keeps the newest `keep` versions and every version in the live deployment; deletes the rest and their files. */
  private async prune(name: string): Promise<void> {
    const live = this.store.current(name);
    const inUse = new Set(live ? sharesOf(live).keys() : []);
    const versions = await this.store.versions(name);
    for (const v of versions.slice(this.keep)) {
      if (inUse.has(v.version)) continue;
      await this.store.deleteVersion(name, v.version);
      await this.store.removeArtifact(v);
    }
  }

  private async loadArtifact(rec: VersionRecord): Promise<Artifact> {
    const artifact = verifyArtifact(await this.store.readArtifact(rec), this.opts.signingKey);
    if (artifact.header.sha256 !== rec.sha256) {
      throw new FaasError(
        'artifact_invalid',
        `${rec.artifact} holds an artifact with sha256 ${artifact.header.sha256}, not the ${rec.sha256} recorded for version ${rec.version}`,
      );
    }
    return artifact;
  }

  /**
   * Puts a live record's versions into the runtime with lazy artifact sources: the others of a split
   * first (each kept alive by the next), the primary last.
   */
  private async putLive(live: LiveRecord): Promise<void> {
    const others = (live.split ?? []).filter((s) => s.version !== live.version);
    const sent: number[] = [];
    for (const s of others) {
      const rec = await this.store.version(live.name, s.version);
      if (!rec) continue;
      await this.opts.runtime.deploy(live.name, rec.version, this.sourceOf(rec), parseFunctionConfig(rec.config), { tenant: rec.tenant, alongside: [...sent] });
      sent.push(rec.version);
    }
    await this.opts.runtime.deploy(live.name, live.version, this.sourceOf(live), parseFunctionConfig(live.config), { tenant: live.tenant, alongside: sent });
  }

  /** Where the runtime reads a version's artifact: its recorded file, verified; a failure starts a rebuild. */
  private sourceOf(rec: VersionRecord): ArtifactSource {
    return {
      sha256: rec.sha256,
      load: async () => {
        try {
          return await this.loadArtifact(rec);
        } catch (err) {
          // The cluster database away: the artifact is fine, it cannot be fetched now.
          if (isFaasError(err) && err.code === 'unavailable') throw err;
          const rebuilding = (await Promise.resolve(this.store.source(rec.name, rec.version)).catch(() => null)) !== null;
          if (rebuilding) void this.repair(rec.name, rec.version, err).catch(() => {});
          throw new FaasError(
            'artifact_invalid',
            `version ${rec.version} of function "${rec.name}" cannot be loaded (${errorCode(err)}: ${errorMessage(err)})${rebuilding ? '; it is being rebuilt from its stored source, retry shortly' : ''}`,
            { retryAfterSeconds: rebuilding ? 1 : undefined },
          );
        }
      },
    };
  }

  private forName<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.nameTails.get(name) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.nameTails.set(name, tail);
    void tail.then(() => {
      if (this.nameTails.get(name) === tail) this.nameTails.delete(name);
    });
    return run;
  }

  /**
   * The names changed from now until `stop` (deployed, rolled back, split or deleted, here or applied
   * from another gateway or process): the functions directory's background check leaves them alone.
   */
  watchChanges(): { changed: ReadonlySet<string>; stop(): void } {
    const changed = new Set<string>();
    this.changeWatches.add(changed);
    return { changed, stop: () => void this.changeWatches.delete(changed) };
  }

  private changed(names: readonly string[]): void {
    for (const watch of this.changeWatches) for (const name of names) watch.add(name);
    this.opts.onChange?.(names);
  }

  /**
   * A change under the function's lock, then announced to the other processes of --processes (resolving
   * once each applied it). Announced after the lock is released: another process's apply of the same
   * name takes that lock here, so a process waiting for the others while holding it, as another does
   * the same (one function deployed on two processes at once), waited for an apply that waited for it.
   */
  private async announced<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const result = await this.exclusive(name, fn);
    await this.announce(name);
    return result;
  }

  private announce(name: string): Promise<void> {
    return this.opts.announce?.([name]) ?? Promise.resolve();
  }

  /** Changes run one at a time (quotas and routes are checked against the others), and each under its function's own chain. */
  private exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const locked = () => this.forName(name, fn);
    const run = this.tail.then(locked, locked);
    this.tail = run.catch(() => {});
    return run;
  }
}

export function publicView(rec: LiveRecord): PublicFunction {
  const { secrets, ...config } = rec.config;
  return {
    name: rec.name,
    version: rec.version,
    sha256: rec.sha256,
    bytecodeBytes: rec.bytecodeBytes,
    deployedAt: rec.deployedAt,
    origin: rec.origin,
    tenant: rec.tenant,
    config,
    secretNames: Object.keys(secrets ?? {}).sort(),
    ...(rec.split ? { split: rec.split } : {}),
  };
}

/** Each live version's share: the split, or 100% for the primary version. */
export function sharesOf(live: LiveRecord): Map<number, number> {
  return new Map(live.split ? live.split.map((s) => [s.version, s.percent]) : [[live.version, 100]]);
}

function visible(rec: { tenant: string }, principal: Principal): boolean {
  return principal.kind === 'root' || rec.tenant === principal.tenant;
}

function deployer(principal: Principal): string {
  return principal.kind === 'root' ? 'root' : principal.tokenId;
}

function splitWith(version: number, percent: number, previous: LiveRecord): SplitEntry[] {
  return [
    { version, percent },
    { version: previous.version, percent: 100 - percent },
  ];
}

function validSplit(split: SplitEntry[]): SplitEntry[] {
  if (!Array.isArray(split) || split.length === 0 || split.length > 10) throw new FaasError('bad_request', 'a split lists 1 to 10 versions');
  const seen = new Set<number>();
  let sum = 0;
  for (const e of split) {
    if (!Number.isInteger(e?.version) || !Number.isInteger(e?.percent) || e.percent < 1 || e.percent > 100) {
      throw new FaasError('bad_request', 'each split entry is { "version": <integer>, "percent": <integer 1..100> }');
    }
    if (seen.has(e.version)) throw new FaasError('bad_request', `version ${e.version} appears twice in the split`);
    seen.add(e.version);
    sum += e.percent;
  }
  if (sum !== 100) throw new FaasError('bad_request', `the split's percents must sum to 100 (they sum to ${sum})`);
  return split.map((e) => ({ version: e.version, percent: e.percent }));
}

function errorCode(err: unknown): string {
  return isFaasError(err) ? err.code : 'internal_error';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const round = (n: number) => Math.round(n * 10) / 10;
