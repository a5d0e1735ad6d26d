/**
 * The layering, enforced: reads every import of every source file and fails on an edge the
 * architecture forbids (README "How it works"). Dependencies point one way:
 * bin → gateway → runtime → runtime/engine → contract; compiler → contract; the guest prelude imports
 * nothing outside itself; the gateway and the CLI use the runtime's and the compiler's public entries;
 * the web console's browser code (console/) imports nothing outside itself.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/gateway.ts';

const ROOTS = ['contract', 'compiler', 'runtime', 'gateway', 'bindings', 'bin', 'console', 'kit', 'types'];

interface Rule {
  /** Files this rule is about (prefix of the repo-relative path). */
  from: string;
  /** Prefixes (repo-relative) the files may import from; anything else is a violation. */
  may: string[];
}

/** Most specific `from` wins. */
/**
 * The bindings' definitions (bindings/index.ts, types.ts, <name>/index.ts) are data the contract and
 * the runtime read (config fields, op declarations): they may import only each other and
 * contract/host-ops.ts. A binding's guest chunk is prelude code; its host and gateway parts are the
 * only places that reach further.
 */
const isDefinition = (p: string) => p === 'bindings/index.ts' || p === 'bindings/types.ts' || /^bindings\/[^/]+\/index\.ts$/.test(p);
const isBindingGuest = (p: string) => /^bindings\/[^/]+\/guest\//.test(p);

const RULES: Rule[] = [
  { from: 'contract/', may: ['contract/', 'bindings/index.ts'] },
  { from: 'compiler/', may: ['compiler/', 'contract/'] },
  { from: 'runtime/prelude/guest/', may: ['runtime/prelude/guest/'] },
  { from: 'runtime/engine/', may: ['runtime/engine/', 'contract/'] },
  { from: 'runtime/', may: ['runtime/', 'contract/', 'bindings/index.ts'] },
  { from: 'bindings/', may: ['bindings/', 'contract/', 'runtime/index.ts'] },
  { from: 'gateway/', may: ['gateway/', 'contract/', 'runtime/index.ts', 'compiler/index.ts', 'bindings/'] },
  { from: 'bin/', may: ['bin/', 'contract/', 'runtime/index.ts', 'compiler/index.ts', 'gateway/', 'bindings/', 'dist/', 'kit/'] },
  // the web console's browser code: bundled for the browser, it shares nothing with the server's modules
  { from: 'console/', may: ['console/'] },
  // the authoring kit (faas init, faas types, typecheck on compile, faas/testing): the public entries, the bindings, and the gateway's binding wiring
  { from: 'kit/', may: ['kit/', 'contract/', 'runtime/index.ts', 'compiler/index.ts', 'bindings/', 'gateway/bindings.ts', 'types/', 'dist/'] },
  { from: 'types/', may: ['types/'] },
];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|js)$/.test(name) && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|new URL\(\s*['"](\.[^'"]+\.(?:ts|js))['"]/g;

function violations(): string[] {
  const out: string[] = [];
  for (const root of ROOTS) {
    let files: string[];
    try {
      files = sourceFiles(join(REPO_ROOT, root));
    } catch {
      continue;
    }
    for (const file of files) {
      const rel = relative(REPO_ROOT, file);
      const own = rel.slice(0, rel.indexOf('/guest/') + '/guest/'.length);
      const rule = isDefinition(rel)
        ? { from: rel, may: ['contract/host-ops.ts'], also: isDefinition }
        : isBindingGuest(rel)
          ? { from: rel, may: [own, 'runtime/prelude/guest/'] }
          : RULES.filter((r) => rel.startsWith(r.from)).sort((a, b) => b.from.length - a.from.length)[0];
      if (!rule) continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(IMPORT)) {
        const spec = m[1] ?? m[2] ?? m[3]!;
        const target = normalize(relative(REPO_ROOT, join(dirname(file), spec)));
        const allowed = rule.may.some((p) => target === p || target.startsWith(p)) || ('also' in rule && rule.also(target));
        if (!allowed) out.push(`${rel} → ${target}`);
      }
    }
  }
  return out;
}

describe('import rules', () => {
  it('no module imports across a forbidden edge', () => {
    expect(violations()).toEqual([]);
  });
});
