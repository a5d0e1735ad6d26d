/**
 * The rule "the prelude never calls a built-in the guest can patch", checked with the TypeScript type
 * checker over the guest prelude's own sources (runtime/prelude/guest/, its tsconfig).
 *
 * User code runs in the same realm as the prelude and may replace any method of a built-in
 * prototype or namespace (`Array.prototype.push = …`, `Object.defineProperty = …`), add an own
 * `Symbol.hasInstance` to a constructor, or replace `%ArrayIteratorPrototype%.next`. So prelude code
 * may not: call a method declared by the default library (`arr.push(x)`, `Object.keys(o)`,
 * `map.get(k)`), use `instanceof` with a built-in constructor, or iterate a built-in iterable with
 * `for…of`, spread or array destructuring. It calls the originals captured in primordials.ts before
 * user code ran (`callWith(ArrayPrototypePush, arr, x)`, `ObjectKeys(o)`), checks brands with
 * `isInstance`, and loops by index. primordials.ts itself is where the capturing happens.
 */
import ts from 'typescript';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';

export interface Violation {
  file: string;
  line: number;
  column: number;
  rule: 'builtin-call' | 'builtin-instanceof' | 'builtin-iteration';
  text: string;
}

const GUEST_DIR = fileURLToPath(new URL('./guest/', import.meta.url));
/** Where the originals are captured: the only file allowed to touch built-ins directly. */
const EXEMPT = new Set(['primordials.ts']);
/**
 * Calls that never reach guest-patchable code: function objects' own call (`fn(...)` is not a
 * member call), and members that are non-writable and non-configurable on their built-in (a
 * replaced one cannot be installed).
 */
const SAFE_MEMBERS = new Set<string>([]);

export function lintPrelude(dir = GUEST_DIR): Violation[] {
  const configPath = join(dir, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, dirname(configPath));
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  const checker = program.getTypeChecker();
  const out: Violation[] = [];

  const fromLib = (symbol: ts.Symbol | undefined): boolean => {
    const decls = symbol?.getDeclarations();
    return !!decls && decls.length > 0 && decls.every((d) => program.isSourceFileDefaultLibrary(d.getSourceFile()));
  };
  /** A type declared (wholly) by the default library: Array, Map, Uint8Array, string … */
  const isLibType = (type: ts.Type): boolean => {
    if (type.isUnion()) return type.types.some(isLibType);
    if (type.flags & (ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike | ts.TypeFlags.BigIntLike)) return true;
    const symbol = type.getSymbol() ?? type.aliasSymbol;
    return fromLib(symbol);
  };

  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || !sf.fileName.startsWith(dir)) continue;
    const file = relative(dir, sf.fileName);
    if (EXEMPT.has(file)) continue;
    const report = (node: ts.Node, rule: Violation['rule']) => {
      const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
      out.push({ file, line: line + 1, column: character + 1, rule, text: node.getText(sf).slice(0, 80) });
    };
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
        const callee = node.expression;
        if (ts.isPropertyAccessExpression(callee) || ts.isElementAccessExpression(callee)) {
          const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : callee.argumentExpression.getText(sf);
          const symbol = checker.getSymbolAtLocation(ts.isPropertyAccessExpression(callee) ? callee.name : callee.argumentExpression);
          if (!SAFE_MEMBERS.has(name) && fromLib(symbol)) report(node, 'builtin-call');
        }
      }
      if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.InstanceOfKeyword) {
        if (fromLib(checker.getSymbolAtLocation(node.right)) || isLibType(checker.getTypeAtLocation(node.right))) report(node, 'builtin-instanceof');
      }
      if (ts.isForOfStatement(node) && isLibType(checker.getTypeAtLocation(node.expression))) report(node.expression, 'builtin-iteration');
      if (ts.isSpreadElement(node) && isLibType(checker.getTypeAtLocation(node.expression))) report(node, 'builtin-iteration');
      if (ts.isArrayBindingPattern(node)) {
        const init = ts.isVariableDeclaration(node.parent) ? node.parent.initializer : undefined;
        if (init && isLibType(checker.getTypeAtLocation(init))) report(node, 'builtin-iteration');
      }
      if (ts.isArrayLiteralExpression(node) && ts.isBinaryExpression(node.parent) && node.parent.left === node) {
        if (node.parent.operatorToken.kind === ts.SyntaxKind.EqualsToken) report(node, 'builtin-iteration');
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const v = lintPrelude();
  for (const x of v) console.log(`${x.file}:${x.line}:${x.column}: ${x.rule}: ${x.text}`);
  console.log(`${v.length} violation(s)`);
}
