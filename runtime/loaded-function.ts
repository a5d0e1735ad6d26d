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

/** A verified artifact plus its config, ready to be instantiated any number of times. */
export class LoadedFunction {
  readonly code: GuestCode;
  readonly envSpec: EnvSpec;
  /** The env spec as the guest receives it (sent to a sandbox only when it differs from its last one). */
  readonly envJson: string;
  readonly stackMapper: StackMapper;
  readonly memoryLimitBytes: number;

  constructor(
    readonly name: string,
    readonly version: number,
    readonly artifact: Artifact,
    readonly config: FunctionConfig,
    /** The tenant the function belongs to: bindings scope their data by it (KV namespaces …). */
    readonly tenant: string = DEFAULT_TENANT,
  ) {
    const filename = artifact.header.entry;
    this.code = { filename, bytecode: artifact.bytecode, source: artifact.js };
    this.envSpec = { vars: { ...config.env }, secrets: { ...config.secrets }, bindings: envEntries(config).map((e) => [e.name, e.chunk]) };
    this.envJson = JSON.stringify(this.envSpec);
    // frames name the bundle `<stem>.js` (bytecode, compiled so) or the entry itself (source engines)
    const stem = filename.replace(/\.[^.]*$/, '');
    this.stackMapper = new StackMapper(artifact.sourceMap, artifact.js, [`${stem}.js`, filename]);
    this.memoryLimitBytes = Math.round(config.memoryMb * 1024 * 1024);
  }

  get sha256(): string {
    return this.artifact.header.sha256;
  }
}
