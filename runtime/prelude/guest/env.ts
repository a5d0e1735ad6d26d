import { need } from './lazy.ts';
import { dataDescriptor } from './safe.ts';

/** What the host describes; the guest turns it into the `env` handed to handlers. */
export interface EnvSpec {
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
  /** `[name, chunk]`: a binding (bindings/<name>/guest/chunk.ts) whose `binding(name)` is the value on env. */
  bindings?: [string, string][];
}

// An instance serves one function, so one remembered env is the whole cache. The host sends the
// spec's JSON text only when it changed (undefined: same as last time).
let lastKey = '';
let lastEnv: Record<string, unknown> = {};

export function envFor(spec: string | null | undefined): Record<string, unknown> {
  const key = spec ?? '{}';
  if (key !== lastKey || !lastKey) {
    const spec = JSONParse(key) as EnvSpec;
    // a field the host left out must not be found on Object.prototype
    ObjectSetPrototypeOf(spec, null);
    lastEnv = buildEnv(spec);
    lastKey = key;
  }
  return lastEnv;
}

function copyInto(env: Record<string, unknown>, from: Record<string, string> | undefined): void {
  if (!from) return;
  const keys = ObjectKeys(from);
  for (let i = 0; i < keys.length; i++) ObjectDefineProperty(env, keys[i]!, dataDescriptor(from[keys[i]!], true, true));
}

/** Defined, not assigned: a setter planted on Object.prototype never sees a secret. */
function buildEnv(spec: EnvSpec): Record<string, unknown> {
  const env: Record<string, unknown> = {};
  copyInto(env, spec.vars);
  copyInto(env, spec.secrets);
  const bindings = spec.bindings;
  if (bindings) {
    for (let i = 0; i < bindings.length; i++) {
      const entry = bindings[i]!;
      ObjectDefineProperty(env, entry[0], dataDescriptor(need(entry[1]).binding(entry[0]), true, true));
    }
  }
  return env;
}
