import { envEntries } from '../bindings/index.ts';
import { DEFAULT_TENANT } from '../contract/tenants.ts';
import type { Artifact } from '../contract/artifact.ts';
import type { FunctionConfig } from '../contract/config.ts';
import type { GuestCode } from './engine/types.ts';
import { StackMapper } from './sourcemap.ts';

/** What the guest receives as `env`: built into an object by the prelude, secrets never on globalThis. */
export interface EnvSpec {
  vars: Record<string, string>;
  secrets: Record<string, string>;
  /** `[name, chunk]`: the guest puts `need(chunk).binding(name)` on env (KV namespaces …). */
  bindings: [string, string][];
}

/**
 * An artifact read (and verified) only when the function is first invoked, and again after the host
 * dropped it to stay within its artifact budget: a deployed function costs metadata until it runs.
 */
export interface ArtifactSource {
  readonly sha256: string;
  load(): Promise<Artifact>;
}

export function isArtifactSource(a: Artifact | ArtifactSource): a is ArtifactSource {
  return typeof (a as ArtifactSource).load === 'function';
}

interface Loaded {
  artifact: Artifact;
  code: GuestCode;
  stackMapper: StackMapper;
}

/** A deployed version plus its config; its artifact is loaded on first use and can be dropped again. */
export class LoadedFunction {
  readonly envSpec: EnvSpec;
  /** The env spec as the guest receives it (sent to a sandbox only when it differs from its last one). */
  readonly envJson: string;
  readonly memoryLimitBytes: number;
  readonly sha256: string;
  private loaded: Loaded | undefined;
  private loading: Promise<void> | undefined;
  /** performance.now() of the last load or use (the artifact cache's LRU order). */
  lastUsedAt = performance.now();

  constructor(
    readonly name: string,
    readonly version: number,
    private readonly source: Artifact | ArtifactSource,
    readonly config: FunctionConfig,
    /** The tenant the function belongs to: bindings scope their data by it (KV namespaces …). */
    readonly tenant: string = DEFAULT_TENANT,
  ) {
    this.envSpec = { vars: { ...config.env }, secrets: { ...config.secrets }, bindings: envEntries(config).map((e) => [e.name, e.chunk]) };
    this.envJson = JSON.stringify(this.envSpec);
    this.memoryLimitBytes = Math.round(config.memoryMb * 1024 * 1024);
    if (isArtifactSource(source)) {
      this.sha256 = source.sha256;
    } else {
      this.sha256 = source.header.sha256;
      this.loaded = loadedFrom(source);
    }
  }

  get isLoaded(): boolean {
    return this.loaded !== undefined;
  }

  /** Whether the artifact can be dropped and loaded again later. */
  get reloadable(): boolean {
    return isArtifactSource(this.source);
  }

  /** Bytes the loaded artifact holds (bytecode, bundle and source map). */
  get loadedBytes(): number {
    const a = this.loaded?.artifact;
    return a ? (a.bytecode?.byteLength ?? 0) + a.js.length + a.sourceMap.length : 0;
  }

  /** Loads the artifact once, however many callers ask at once; a failed load is retried by the next caller. */
  load(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    this.loading ??= (async () => {
      try {
        const artifact = await (this.source as ArtifactSource).load();
        this.loaded = loadedFrom(artifact);
        this.lastUsedAt = performance.now();
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  /** Drops the loaded artifact (instances already started keep their own copy of the code). */
  unload(): boolean {
    if (!this.loaded || !this.reloadable) return false;
    this.loaded = undefined;
    return true;
  }

  get artifact(): Artifact {
    return this.require().artifact;
  }

  get code(): GuestCode {
    return this.require().code;
  }

  get stackMapper(): StackMapper {
    return this.require().stackMapper;
  }

  private require(): Loaded {
    if (!this.loaded) throw new Error(`artifact of ${this.name} v${this.version} is not loaded`);
    return this.loaded;
  }
}

function loadedFrom(artifact: Artifact): Loaded {
  return {
    artifact,
    code: { filename: artifact.header.entry, bytecode: artifact.bytecode, source: artifact.js },
    stackMapper: new StackMapper(artifact.sourceMap),
  };
}
