import { need } from './lazy.ts';

/** What the host describes; the guest turns it into the `env` handed to handlers. */
export interface EnvSpec {
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
  kv?: string[];
}

// An instance serves one function, so one remembered env is the whole cache. The host may hand over
// a fresh copy of the same spec on every call (or its JSON text), hence the comparison by content.
let lastSpec: EnvSpec | string | undefined;
let lastKey = '';
let lastEnv: Record<string, unknown> = {};

export function envFor(spec: EnvSpec | string | null | undefined): Record<string, unknown> {
  spec ??= {};
  if (spec === lastSpec) return lastEnv;
  const key = typeof spec === 'string' ? spec : JSON.stringify(spec);
  if (key !== lastKey || lastSpec === undefined) {
    lastEnv = buildEnv(typeof spec === 'string' ? JSON.parse(spec) : spec);
    lastKey = key;
  }
  lastSpec = spec;
  return lastEnv;
}

function buildEnv(spec: EnvSpec): Record<string, unknown> {
  const env: Record<string, unknown> = { ...spec.vars, ...spec.secrets };
  if (spec.kv?.length) {
    const { namespace } = need('kv');
    for (const name of spec.kv) env[name] = namespace(name);
  }
  return env;
}
