/**
 * The layering, enforced: reads every import of every source file and fails on an edge the
 * architecture forbids (README "How it works"). Dependencies point one way:
 * bin → gateway → runtime → runtime/engine → contract; compiler → contract; the guest prelude imports
 * nothing outside itself; the gateway and the CLI use the runtime's and the compiler's public entries.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/gateway.ts';

const ROOTS = ['contract', 'compiler', 'runtime', 'gateway', 'bindings', 'bin'];

interface Rule {
  /** Files this rule is about (prefix of the repo-relative path). */
  from: string;
  /** Prefixes (repo-relative) the files may import from; anything else is a violation. */
  may: string[];
}

/** Most specific `from` wins. */
const RULES: Rule[] = [
  { from: 'contract/', may: ['contract/'] },
  { from: 'compiler/', may: ['compiler/', 'contract/'] },
  { from: 'runtime/prelude/guest/', may: ['runtime/prelude/guest/'] },
  { from: 'runtime/engine/', may: ['runtime/engine/', 'contract/'] },
  { from: 'runtime/', may: ['runtime/', 'contract/'] },
  { from: 'bindings/', may: ['bindings/', 'contract/', 'runtime/index.ts', 'runtime/prelude/guest/'] },
  { from: 'gateway/', may: ['gateway/', 'contract/', 'runtime/index.ts', 'compiler/index.ts', 'bindings/'] },
  { from: 'bin/', may: ['bin/', 'contract/', 'runtime/index.ts', 'compiler/index.ts', 'gateway/', 'bindings/', 'dist/'] },
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
      const rule = RULES.filter((r) => rel.startsWith(r.from)).sort((a, b) => b.from.length - a.from.length)[0];
      if (!rule) continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(IMPORT)) {
        const spec = m[1] ?? m[2] ?? m[3]!;
        const target = normalize(relative(REPO_ROOT, join(dirname(file), spec)));
        if (!rule.may.some((p) => target === p || target.startsWith(p))) out.push(`${rel} → ${target}`);
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
