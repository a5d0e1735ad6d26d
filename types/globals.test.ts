/**
 * faas/types declares exactly the guest's globals: a sandbox is booted, every global (after touching
 * each lazy one, which may add more: a chunk can define the classes only it hands out) and the
 * members of every Web global are listed, and compared both ways with what the declarations make
 * visible to TypeScript. A global added to the prelude without a declaration, or declared without
 * existing, fails here with its name.
 */
import { describe, expect, it } from 'vitest';
import { invokeSource } from '../test/helpers/sandbox.ts';
import { declaredGlobals, type DeclaredGlobal } from './declared-globals.ts';

/**
 * Declared by TypeScript's ES lib but not in the sandbox; an author who uses one gets a
 * ReferenceError at run time. README "Guest globals" lists them.
 */
const ES_LIB_ONLY: Record<string, string> = {
  Atomics: 'QuickJS-NG is built without atomics (no shared memory between agents)',
};

/** Properties of every global object that TypeScript keeps out of its scope list (keywords, in effect). */
const ALWAYS = new Set(['undefined', 'globalThis']);

/** Members an Error subclass inherits (declared by the ES lib's Error, checked there). */
const ERROR_MEMBERS = new Set(['name', 'message', 'stack', 'cause', 'toString']);

interface RuntimeGlobal {
  type: string;
  statics?: string[];
  members?: string[];
  /** An Error subclass: members are its own, not Error's. */
  error?: boolean;
}

async function runtimeGlobals(): Promise<Record<string, RuntimeGlobal>> {
  const res = await invokeSource(`export default { fetch() {
    const before = new Set(Object.getOwnPropertyNames(globalThis));
    for (const n of before) { try { globalThis[n]; } catch {} }
    const names = Object.getOwnPropertyNames(globalThis);
    const chain = (o) => {
      const out = new Set();
      for (let p = o; p && p !== Error.prototype && p !== Object.prototype && p !== Function.prototype; p = Object.getPrototypeOf(p))
        for (const k of Object.getOwnPropertyNames(p)) if (k !== 'constructor') out.add(k);
      return [...out];
    };
    const out = {};
    for (const n of names) {
      const v = globalThis[n];
      const e = { type: typeof v };
      if (typeof v === 'function' && v.prototype && Object.getOwnPropertyNames(v.prototype).length > 1) {
        e.statics = Object.getOwnPropertyNames(v).filter((k) => !['length', 'name', 'prototype'].includes(k));
        e.members = chain(v.prototype);
        // [LegacyUnforgeable] members (Event's isTrusted) are own accessors of every instance, not
        // on the prototype: they belong to the instance type too.
        let instance;
        try { instance = new v('x'); } catch {}
        if (instance !== null && typeof instance === 'object')
          for (const k of Object.getOwnPropertyNames(instance))
            if (Object.getOwnPropertyDescriptor(instance, k).get && !e.members.includes(k)) e.members.push(k);
        e.error = v.prototype instanceof Error;
      } else if (v !== null && typeof v === 'object' && v !== globalThis) {
        e.members = chain(v);
      }
      out[n] = e;
    }
    return Response.json(out);
  } }`);
  return res.json();
}

describe('faas/types declares exactly the guest globals', async () => {
  const [runtime, declared] = await Promise.all([runtimeGlobals(), Promise.resolve(declaredGlobals())]);

  it('every global of the sandbox is declared', () => {
    const missing = Object.keys(runtime).filter((n) => !declared.has(n) && !ALWAYS.has(n));
    expect(missing, 'globals in the sandbox without a declaration in types/').toEqual([]);
  });

  it('every declared global exists in the sandbox (TypeScript ES lib exceptions listed)', () => {
    const extra = [...declared.keys()].filter((n) => !(n in runtime) && !(n in ES_LIB_ONLY));
    expect(extra, 'declared in types/ (or the ES lib) but not in the sandbox').toEqual([]);
    for (const n of Object.keys(ES_LIB_ONLY)) expect(n in runtime, `${n} now exists in the sandbox: remove it from ES_LIB_ONLY`).toBe(false);
  });

  it('the members of every Web global match, both ways', () => {
    const problems: string[] = [];
    const compare = (what: string, have: string[] = [], want: string[] = []) => {
      for (const m of have) if (!want.includes(m)) problems.push(`${what}.${m} exists but is not declared`);
      for (const m of want) if (!have.includes(m)) problems.push(`${what}.${m} is declared but does not exist`);
    };
    for (const [name, d] of declared as Map<string, DeclaredGlobal>) {
      const r = runtime[name];
      if (!d.ours || !r || name === 'self') continue;
      if (d.kind === 'class') {
        compare(name, r.statics, d.statics);
        const own = (list: string[] = []) => (r.error ? list.filter((m) => !ERROR_MEMBERS.has(m)) : list);
        compare(`${name}.prototype`, own(r.members), own(d.members));
      } else if (d.kind === 'object') {
        compare(name, r.members, d.members);
      }
    }
    expect(problems).toEqual([]);
  });
});
