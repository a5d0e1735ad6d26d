import { need } from './lazy.ts';
import { dataDescriptor } from './safe.ts';

/** What the host describes; the guest turns it into the `env` handed to handlers. */
export interface EnvSpec {
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
  kv?: string[];
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
  const kv = spec.kv;
  if (kv && kv.length) {
    const { namespace } = need('kv');
    for (let i = 0; i < kv.length; i++) ObjectDefineProperty(env, kv[i]!, dataDescriptor(namespace(kv[i]), true, true));
  }
  return env;
}
