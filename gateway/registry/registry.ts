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
}

/** What GET /admin/functions shows: everything but the secrets. */
export type PublicFunction = Pick<VersionRecord, 'name' | 'version' | 'sha256' | 'bytecodeBytes' | 'deployedAt' | 'origin' | 'tenant'> & {
  config: Omit<FunctionConfig, 'secrets'>;
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
  db: Database.Database;
  tenants: TenantStore;
  runtime: FunctionHost;
  signingKey: Uint8Array;
  logger: Logger;
  /** Versions kept per function (older ones are pruned with their artifact files). Default 10. */
  keepVersions?: number;
  /** Called once per deploy attempt with 'ok' or the error code. */
  onDeploy?: (outcome: string) => void;
  /** Called whenever live functions changed (deploy, delete, rollback, split), with their names. */
  onChange?: (names: readonly string[]) => void;
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
  private readonly store: RegistryStore;
  private readonly files: ArtifactFiles;
  private readonly keep: number;
  private tail: Promise<unknown> = Promise.resolve();
  /** Per-name chains: a function is never loaded into the runtime while a change to it is being made. */
  private readonly nameTails = new Map<string, Promise<unknown>>();
  /** Rebuilds from stored source under way, by name. */
  private readonly repairs = new Map<string, Promise<void>>();
  /** performance.now() of each loaded function's last request (for forgetting idle ones). */
  private readonly lastUsed = new Map<string, number>();

  constructor(private readonly opts: RegistryOptions) {
    mkdirSync(opts.dataDir, { recursive: true });
    this.store = new RegistryStore(opts.db);
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

  /** Live functions in all (or of one tenant). */
  count(tenant?: string): number {
    return this.store.count(tenant);
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
  versions(name: string, principal: Principal = ROOT): VersionView[] {
    const live = this.require(name, principal);
    const share = sharesOf(live);
    return this.store.versions(name).map((v) => ({
      version: v.version,
      sha256: v.sha256,
      bytecodeBytes: v.bytecodeBytes,
      deployedAt: v.deployedAt,
      deployedBy: v.deployedBy,
      origin: v.origin,
      percent: share.get(v.version) ?? 0,
    }));
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
      this.admit(name, config, principal, ctx);
      if (ctx.percent !== undefined && !(Number.isInteger(ctx.percent) && ctx.percent >= 1 && ctx.percent <= 99)) {
        throw new FaasError('bad_request', `percent must be an integer from 1 to 99 (got ${ctx.percent})`);
      }
      // Compiling is the slow part and touches no shared state, so deploys compile in parallel.
      const { bytes, header } = await compileEntry(input.entry, this.opts.signingKey);
      const artifact = verifyArtifact(bytes, this.opts.signingKey);
      const refused = checkDeploy(config, { verified: header.exports.verified, fetch: !!header.exports.fetch, scheduled: !!header.exports.scheduled });
      if (refused) throw new FaasError('bad_request', `function "${name}" ${refused}`);
      const record = await this.exclusive(name, async () => {
        const tenant = this.admit(name, config, principal, ctx);
        const previous = this.store.current(name);
        const version = this.store.nextVersion(name);
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
        await this.files.write(rec.artifact, bytes);
        this.store.commit(rec, input.source, split, canary ? previous : rec);
        // Already in the runtime (a request came, or an older version serves): swap in place, with
        // the artifact in hand. Otherwise it loads on its first request, like every function at start.
        if (this.opts.runtime.get(name)) {
          await this.opts.runtime.deploy(name, version, artifact, config, { tenant, alongside: split ? split.map((s) => s.version) : [], secondary: canary });
        }
        this.prune(name);
        this.opts.onChange?.([name]);
        return rec;
      });
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
    return this.exclusive(name, async () => {
      const live = this.require(name, principal);
      const target = version ?? this.previousVersion(live);
      const rec = this.store.version(name, target);
      if (!rec) throw new FaasError('not_found', `version ${target} of function "${name}" is not kept (see its versions)`);
      // Verified before it goes live: a rollback to an artifact that no longer loads is refused, not served broken.
      const artifact = await this.loadArtifact(rec);
      const config = parseFunctionConfig(rec.config);
      this.store.makeLive(rec, null);
      if (this.opts.runtime.get(name)) await this.opts.runtime.deploy(name, rec.version, artifact, config, { tenant: rec.tenant });
      this.opts.onChange?.([name]);
      this.opts.logger.info({ function: name, version: rec.version, from: live.version }, 'rolled back');
      return this.store.current(name)!;
    });
  }

  /**
   * Sets the live deployment to a traffic split over kept versions (`[{version, percent}]`, percents
   * summing to 100). The version with the largest share becomes the primary one.
   */
  setSplit(name: string, split: SplitEntry[], principal: Principal = ROOT): Promise<LiveRecord> {
    return this.exclusive(name, async () => {
      this.require(name, principal);
      const entries = validSplit(split);
      const records = entries.map((e) => {
        const rec = this.store.version(name, e.version);
        if (!rec) throw new FaasError('not_found', `version ${e.version} of function "${name}" is not kept (see its versions)`);
        return rec;
      });
      for (const rec of records) await this.loadArtifact(rec);
      const primary = entries.reduce((a, b) => (b.percent > a.percent ? b : a));
      const single = entries.length === 1;
      this.store.makeLive(records[entries.indexOf(primary)]!, single ? null : entries);
      if (this.opts.runtime.get(name)) await this.putLive(this.store.current(name)!);
      this.opts.onChange?.([name]);
      this.opts.logger.info({ function: name, split: entries }, 'traffic split set');
      return this.store.current(name)!;
    });
  }

  remove(name: string, principal: Principal = ROOT): Promise<boolean> {
    return this.exclusive(name, async () => {
      const rec = this.store.current(name);
      if (!rec || !visible(rec, principal)) return false;
      const removed = this.store.remove(name);
      await this.opts.runtime.undeploy(name);
      this.lastUsed.delete(name);
      this.opts.onChange?.([name]);
      if (removed) this.opts.logger.info({ function: name }, 'deleted');
      return removed;
    });
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
      void this.files.collectGarbageAsync((path) => this.store.isReferenced(path), startedAt).then(
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
      const rec = this.store.version(name, version) ?? live;
      const source = this.store.source(name, rec.version);
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
  private admit(name: string, config: FunctionConfig, principal: Principal, ctx: DeployContext): string {
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
    const t = this.opts.tenants.get(tenant);
    if (!t) throw new FaasError('not_found', `tenant "${tenant}" does not exist`);
    // Each deploy reads only what its checks need, never every live function: a bulk deploy of
    // 100,000 functions stays linear in time and flat in memory.
    const counted = t.quota.functions !== undefined || t.quota.memoryMb !== undefined;
    checkQuota(t, config, counted ? this.store.list(tenant).filter((f) => f.name !== name) : []);
    const conflict = config.routes.length > 0 ? claimConflicts(name, tenant, config.routes, this.store.withList('routes')) : undefined;
    if (conflict) throw new FaasError('conflict', conflict);
    return tenant;
  }

  /** The version before the live one: the newest kept version older than the newest live one (during a rollout, the one it started from). */
  private previousVersion(live: LiveRecord): number {
    const newest = Math.max(...sharesOf(live).keys());
    const older = this.store.versions(live.name).find((v) => v.version < newest);
    if (!older) throw new FaasError('not_found', `function "${live.name}" has no kept version before ${newest}`);
    return older.version;
  }

  /** Keeps the newest `keep` versions and every version in the live deployment; deletes the rest and their files. */
  private prune(name: string): void {
    const live = this.store.current(name);
    const inUse = new Set(live ? sharesOf(live).keys() : []);
    const versions = this.store.versions(name);
    for (const v of versions.slice(this.keep)) {
      if (inUse.has(v.version)) continue;
      this.store.deleteVersion(name, v.version);
      this.files.remove(v.artifact);
    }
  }

  private async loadArtifact(rec: VersionRecord): Promise<Artifact> {
    const artifact = verifyArtifact(await this.files.read(this.recordedPath(rec)), this.opts.signingKey);
    if (artifact.header.sha256 !== rec.sha256) {
      throw new FaasError(
        'artifact_invalid',
        `${rec.artifact} holds an artifact with sha256 ${artifact.header.sha256}, not the ${rec.sha256} recorded for version ${rec.version}`,
      );
    }
    return artifact;
  }

  /** Only the path this registry would have written for the version: a row cannot point elsewhere. */
  private recordedPath(rec: VersionRecord): string {
    const expected = this.files.pathFor(rec.name, rec.version, rec.sha256);
    if (rec.artifact !== expected) {
      throw new FaasError('artifact_invalid', `the database names artifact "${rec.artifact.slice(0, 200)}" for version ${rec.version}, not ${expected}`);
    }
    return expected;
  }

  /**
   * Puts a live record's versions into the runtime with lazy artifact sources: the others of a split
   * first (each kept alive by the next), the primary last.
   */
  private async putLive(live: LiveRecord): Promise<void> {
    const others = (live.split ?? []).filter((s) => s.version !== live.version);
    const sent: number[] = [];
    for (const s of others) {
      const rec = this.store.version(live.name, s.version);
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
          const rebuilding = this.store.source(rec.name, rec.version) !== null;
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

  /** Changes run one at a time (quotas and routes are checked against the others), and each under its function's own chain. */
  private exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const locked = () => this.forName(name, fn);
    const run = this.tail.then(locked, locked);
    this.tail = run.catch(() => {});
    return run;
  }
}

export function publicView(rec: LiveRecord): PublicFunction {
  const { secrets: _secrets, ...config } = rec.config;
  return {
    name: rec.name,
    version: rec.version,
    sha256: rec.sha256,
    bytecodeBytes: rec.bytecodeBytes,
    deployedAt: rec.deployedAt,
    origin: rec.origin,
    tenant: rec.tenant,
    config,
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
