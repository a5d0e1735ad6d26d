/**
 * What faas/types declares, read through the TypeScript compiler API the way an author's editor sees
 * it (the recommended tsconfig: lib ESNext, types faas/types): every global value, and for the Web
 * globals their static and instance members. types/globals.test.ts compares it with the sandbox.
 */
import { join } from 'node:path';
import ts from 'typescript';

export const TYPES_DIR = new URL('.', import.meta.url).pathname;

/** The compiler options `faas init` writes, less what does not change what is declared. */
export const AUTHOR_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ['lib.esnext.d.ts'],
  types: [],
  strict: true,
  noEmit: true,
};

export interface DeclaredGlobal {
  /** `class`: has construct signatures; `function`: callable only; `object`: anything else. */
  kind: 'class' | 'function' | 'object';
  statics: string[];
  members: string[];
  /** Declared by faas/types itself (not TypeScript's ES lib). */
  ours: boolean;
}

/** Every global value the declarations make visible, by name. */
export function declaredGlobals(extraFiles: string[] = []): Map<string, DeclaredGlobal> {
  const probe = join(TYPES_DIR, '__probe__.ts');
  const host = ts.createCompilerHost(AUTHOR_OPTIONS);
  const read = host.readFile;
  host.readFile = (f) => (f === probe ? '' : read(f));
  const fileExists = host.fileExists;
  host.fileExists = (f) => f === probe || fileExists(f);
  const program = ts.createProgram([join(TYPES_DIR, 'index.d.ts'), ...extraFiles, probe], AUTHOR_OPTIONS, host);
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(probe)!;
  const out = new Map<string, DeclaredGlobal>();
  for (const sym of checker.getSymbolsInScope(source, ts.SymbolFlags.Value)) {
    const decl = sym.valueDeclaration ?? sym.declarations?.[0];
    if (!decl) continue;
    const file = decl.getSourceFile().fileName;
    const ours = file.startsWith(TYPES_DIR);
    const type = checker.getTypeOfSymbol(sym);
    const names = (t: ts.Type) => checker.getPropertiesOfType(t).map((p) => p.getName()).filter((n) => !n.startsWith('__@'));
    let kind: DeclaredGlobal['kind'] = 'object';
    let statics: string[] = [];
    let members: string[] = [];
    if (type.getConstructSignatures().length > 0) {
      kind = 'class';
      statics = names(type).filter((n) => n !== 'prototype');
      const proto = type.getProperty('prototype');
      if (proto) members = names(checker.getTypeOfSymbol(proto));
    } else if (type.getCallSignatures().length > 0) {
      kind = 'function';
    } else {
      members = names(type);
    }
    out.set(sym.getName(), { kind, statics, members, ours });
  }
  return out;
}

/** Compiles `files` with the author's options plus faas/types; returns the diagnostics as `file:line:col: message`. */
export function typecheckWithTypes(files: string[], extraTypes: string[] = []): string[] {
  const program = ts.createProgram([join(TYPES_DIR, 'index.d.ts'), ...extraTypes, ...files], AUTHOR_OPTIONS);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return text;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName.replace(TYPES_DIR, '')}:${line + 1}:${character + 1}: ${text}`;
  });
}
