import { checkDeploy } from '../../bindings/index.ts';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { compileEntry, type EntryInput } from '../../compiler/index.ts';
import { verifyArtifact } from '../../contract/artifact.ts';
import { parseFunctionConfig, type FunctionConfig } from '../../contract/config.ts';
import { FaasError, isFaasError } from '../../contract/errors.ts';
import type { FunctionHost } from '../../runtime/index.ts';
import { ArtifactFiles } from './artifacts.ts';
import { RegistryStore, type VersionRecord } from './store.ts';

export type { VersionRecord } from './store.ts';

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

/** What GET /admin/functions shows: everything but the secrets. */
export type PublicFunction = Pick<VersionRecord, 'name' | 'version' | 'sha256' | 'bytecodeBytes' | 'deployedAt' | 'origin'> & {
  config: Omit<FunctionConfig, 'secrets'>;
};

export interface LoadReport {
  loaded: string[];
  rebuilt: string[];
  skipped: { name: string; code: string; message: string }[];
  /** Leftovers of interrupted deploys that were removed. */
  removedFiles: string[];
}

export interface RegistryOptions {
  dataDir: string;
  runtime: FunctionHost;
  signingKey: Uint8Array;
  logger: Logger;
  /** Called once per deploy attempt with 'ok' or the error code. */
  onDeploy?: (outcome: string) => void;
  /** Called whenever the set of live functions changed (deploy, delete, load). */
  onChange?: () => void;
}

/**
 * Durable function registry. A deploy goes compile → artifact file (fsynced) → database commit →
 * runtime swap, so a crash at any point leaves either the old version or the new one live, and
 * the runtime only ever serves what the database says is live.
 */
export class Registry {
  private readonly store: RegistryStore;
  private readonly files: ArtifactFiles;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: RegistryOptions) {
    mkdirSync(opts.dataDir, { recursive: true });
    this.store = new RegistryStore(join(opts.dataDir, 'faas.db'));
    this.files = new ArtifactFiles(opts.dataDir);
  }

  get(name: string): VersionRecord | undefined {
    return this.store.current(name);
  }

  list(): VersionRecord[] {
    return this.store.list();
  }

  /** Whether the runtime is serving exactly this version. */
  isLive(name: string, version: number): boolean {
    return this.opts.runtime.get(name)?.version === version;
  }

  /**
   * Source text received over the wire, or stored with a version: compiled as one self-contained
   * module that can import nothing and reads no file on the gateway (compiler/self-contained.ts).
   */
  sourceEntry(source: string, filename: string): EntryInput {
    return { source, filename };
  }

  async deploy(name: string, input: DeployInput, config: FunctionConfig): Promise<VersionRecord> {
    const started = performance.now();
    try {
      // Compiling is the slow part and touches no shared state, so deploys compile in parallel.
      const { bytes, header } = await compileEntry(input.entry, this.opts.signingKey);
      const artifact = verifyArtifact(bytes, this.opts.signingKey);
      const refused = checkDeploy(config, { verified: header.exports.verified, fetch: !!header.exports.fetch, scheduled: !!header.exports.scheduled });
      if (refused) throw new FaasError('bad_request', `function "${name}" ${refused}`);
      const record = await this.exclusive(async () => {
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
        };
        await this.files.write(rec.artifact, bytes);
        this.store.commit(rec, input.source);
        await this.opts.runtime.deploy(name, version, artifact, config);
        this.opts.onChange?.();
        return rec;
      });
      this.opts.onDeploy?.('ok');
      this.opts.logger.info(
        { function: name, version: record.version, sha256: record.sha256, bytecodeBytes: record.bytecodeBytes, origin: record.origin, ms: round(performance.now() - started) },
        'deployed',
      );
      return record;
    } catch (err) {
      this.opts.onDeploy?.(isFaasError(err) ? err.code : 'internal_error');
      this.opts.logger.warn({ function: name, origin: input.origin, error: errorCode(err), err: errorMessage(err) }, 'deploy failed');
      throw err;
    }
  }

  remove(name: string): Promise<boolean> {
    return this.exclusive(async () => {
      const removed = this.store.remove(name);
      await this.opts.runtime.undeploy(name);
      this.opts.onChange?.();
      if (removed) this.opts.logger.info({ function: name }, 'deleted');
      return removed;
    });
  }

  /**
   * Puts every registered function back into the runtime without compiling. An artifact this
   * gateway can no longer run (another signing key or engine, corruption) or that is not the one
   * recorded for its version (a validly signed artifact of another function or version in its
   * place) is rebuilt from the source stored with its version, as a new version.
   */
  async loadAll(): Promise<LoadReport> {
    const report: LoadReport = {
      loaded: [],
      rebuilt: [],
      skipped: [],
      removedFiles: this.files.collectGarbage(this.store.referencedArtifacts()),
    };
    for (const rec of this.store.list()) {
      try {
        const config = parseFunctionConfig(rec.config);
        const artifact = verifyArtifact(await this.files.read(this.recordedPath(rec)), this.opts.signingKey);
        if (artifact.header.sha256 !== rec.sha256) {
          throw new FaasError(
            'artifact_invalid',
            `${rec.artifact} holds an artifact with sha256 ${artifact.header.sha256}, not the ${rec.sha256} recorded for version ${rec.version}`,
          );
        }
        await this.opts.runtime.deploy(rec.name, rec.version, artifact, config);
        report.loaded.push(rec.name);
      } catch (err) {
        await this.rebuild(rec, err, report);
      }
    }
    this.opts.onChange?.();
    this.opts.logger.info(
      { loaded: report.loaded.length, rebuilt: report.rebuilt, skipped: report.skipped, removedFiles: report.removedFiles.length },
      'registry loaded',
    );
    return report;
  }

  close(): void {
    this.store.close();
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

export function publicView(rec: VersionRecord): PublicFunction {
  const { secrets: _secrets, ...config } = rec.config;
  return { name: rec.name, version: rec.version, sha256: rec.sha256, bytecodeBytes: rec.bytecodeBytes, deployedAt: rec.deployedAt, origin: rec.origin, config };
}

function errorCode(err: unknown): string {
  return isFaasError(err) ? err.code : 'internal_error';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const round = (n: number) => Math.round(n * 10) / 10;

