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
import type { FunctionHost } from '../../runtime/index.ts';
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
  loaded: string[];
  rebuilt: string[];
  skipped: { name: string; code: string; message: string }[];
  /** Leftovers of interrupted deploys that were removed. */
  removedFiles: string[];
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
  /** Called whenever the set of live functions changed (deploy, delete, rollback, split, load). */
  onChange?: () => void;
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

  /** One tenant's live functions. */
  ofTenant(tenant: string): LiveRecord[] {
    return this.store.list(tenant);
  }

  /** Whether the runtime is serving exactly this version. */
  isLive(name: string, version: number): boolean {
    return this.opts.runtime.versions(name).includes(version);
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
      // Probed under the function's own limits: a module that cannot fit its memoryMb is refused here.
      const { bytes, header } = await compileEntry(input.entry, this.opts.signingKey, { limits: { memoryMb: config.memoryMb, cpuMs: config.cpuMs } });
      const artifact = verifyArtifact(bytes, this.opts.signingKey);
      const refused = checkDeploy(config, { verified: header.exports.verified, fetch: !!header.exports.fetch, scheduled: !!header.exports.scheduled });
      if (refused) throw new FaasError('bad_request', `function "${name}" ${refused}`);
      const record = await this.exclusive(async () => {
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
        await this.opts.runtime.deploy(name, version, artifact, config, { tenant, alongside: split ? split.map((s) => s.version) : [], secondary: canary });
        this.prune(name);
        this.opts.onChange?.();
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
    return this.exclusive(async () => {
      const live = this.require(name, principal);
      const target = version ?? this.previousVersion(live);
      const rec = this.store.version(name, target);
      if (!rec) throw new FaasError('not_found', `version ${target} of function "${name}" is not kept (see its versions)`);
      const artifact = await this.loadArtifact(rec);
      const config = parseFunctionConfig(rec.config);
      this.store.makeLive(rec, null);
      await this.opts.runtime.deploy(name, rec.version, artifact, config, { tenant: rec.tenant });
      this.opts.onChange?.();
      this.opts.logger.info({ function: name, version: rec.version, from: live.version }, 'rolled back');
      return this.store.current(name)!;
    });
  }

  /**
   * Sets the live deployment to a traffic split over kept versions (`[{version, percent}]`, percents
   * summing to 100). The version with the largest share becomes the primary one.
   */
  setSplit(name: string, split: SplitEntry[], principal: Principal = ROOT): Promise<LiveRecord> {
    return this.exclusive(async () => {
      this.require(name, principal);
      const entries = validSplit(split);
      const records = entries.map((e) => {
        const rec = this.store.version(name, e.version);
        if (!rec) throw new FaasError('not_found', `version ${e.version} of function "${name}" is not kept (see its versions)`);
        return rec;
      });
      const loaded = await Promise.all(records.map(async (rec) => ({ rec, artifact: await this.loadArtifact(rec) })));
      const primary = entries.reduce((a, b) => (b.percent > a.percent ? b : a));
      const single = entries.length === 1;
      this.store.makeLive(records[entries.indexOf(primary)]!, single ? null : entries);
      // the others first, each kept alive by the next; the primary last, with all of them alongside
      const order = [...loaded].sort((a, b) => (a.rec.version === primary.version ? 1 : b.rec.version === primary.version ? -1 : 0));
      const sent: number[] = [];
      for (const { rec, artifact } of order) {
        await this.opts.runtime.deploy(name, rec.version, artifact, parseFunctionConfig(rec.config), { tenant: rec.tenant, alongside: [...sent] });
        sent.push(rec.version);
      }
      this.opts.onChange?.();
      this.opts.logger.info({ function: name, split: entries }, 'traffic split set');
      return this.store.current(name)!;
    });
  }

  remove(name: string, principal: Principal = ROOT): Promise<boolean> {
    return this.exclusive(async () => {
      const rec = this.store.current(name);
      if (!rec || !visible(rec, principal)) return false;
      const removed = this.store.remove(name);
      await this.opts.runtime.undeploy(name);
      this.opts.onChange?.();
      if (removed) this.opts.logger.info({ function: name }, 'deleted');
      return removed;
    });
  }

  /**
   * Puts every registered function back into the runtime without compiling (every version of a
   * traffic split). An artifact this gateway can no longer run (another signing key or engine,
   * corruption) or that is not the one recorded for its version (a validly signed artifact of
   * another function or version in its place) is rebuilt from the source stored with its version,
   * as a new version.
   */
  async loadAll(): Promise<LoadReport> {
    const report: LoadReport = {
      loaded: [],
      rebuilt: [],
      skipped: [],
      removedFiles: this.files.collectGarbage(this.store.referencedArtifacts()),
    };
    for (const live of this.store.list()) {
      try {
        const config = parseFunctionConfig(live.config);
        const others = (live.split ?? []).filter((s) => s.version !== live.version);
        const sent: number[] = [];
        for (const s of others) {
          const rec = this.store.version(live.name, s.version);
          if (!rec) continue;
          await this.opts.runtime.deploy(live.name, rec.version, await this.loadArtifact(rec), parseFunctionConfig(rec.config), { tenant: rec.tenant, alongside: [...sent] });
          sent.push(rec.version);
        }
        await this.opts.runtime.deploy(live.name, live.version, await this.loadArtifact(live), config, { tenant: live.tenant, alongside: sent });
        report.loaded.push(live.name);
      } catch (err) {
        await this.rebuild(live, err, report);
      }
    }
    this.opts.onChange?.();
    this.opts.logger.info(
      { loaded: report.loaded.length, rebuilt: report.rebuilt, skipped: report.skipped, removedFiles: report.removedFiles.length },
      'registry loaded',
    );
    return report;
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
    const others = this.store.list(tenant).filter((f) => f.name !== name);
    checkQuota(t, config, others);
    const conflict = claimConflicts(name, tenant, config.routes, this.store.list());
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

  private async rebuild(rec: VersionRecord, cause: unknown, report: LoadReport): Promise<void> {
    const source = this.store.source(rec.name, rec.version);
    const reason = `${errorCode(cause)}: ${errorMessage(cause)}`;
    if (source === null) {
      report.skipped.push({ name: rec.name, code: errorCode(cause), message: `cannot load version ${rec.version} (${reason}) and no source is stored to rebuild it` });
      this.opts.logger.error({ function: rec.name, version: rec.version, error: errorCode(cause), err: errorMessage(cause) }, 'function skipped');
      return;
    }
    this.opts.logger.warn({ function: rec.name, version: rec.version, error: errorCode(cause), err: errorMessage(cause) }, 'rebuilding function from stored source');
    try {
      await this.deploy(
        rec.name,
        { entry: this.sourceEntry(source, rec.filename), source, filename: rec.filename, origin: rec.origin, sourceHash: rec.sourceHash ?? undefined },
        parseFunctionConfig(rec.config),
        { tenant: rec.tenant },
      );
      report.rebuilt.push(rec.name);
    } catch (err) {
      report.skipped.push({ name: rec.name, code: errorCode(err), message: `cannot load version ${rec.version} (${reason}) and rebuilding it failed: ${errorMessage(err)}` });
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
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
