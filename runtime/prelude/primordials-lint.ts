/**
 * The rule "the prelude never calls a built-in the guest can patch", checked with the TypeScript type
 * checker over the guest prelude's own sources (runtime/prelude/guest/, its tsconfig).
 *
 * User code runs in the same realm as the prelude and may replace any method of a built-in
 * prototype or namespace (`Array.prototype.push = …`, `Object.defineProperty = …`), any accessor
 * (`Uint8Array.prototype.length`, `Error.prototype.stack`), a `constructor` (and so the species a
 * `slice` builds its result with), add an own `Symbol.hasInstance` to any constructor (the prelude's
 * own classes included), replace `%ArrayIteratorPrototype%.next`, or put getters for `get`/`set`/
 * `value` on Object.prototype. So prelude code may not:
 * - call a method declared by the default library (`arr.push(x)`, `Object.keys(o)`, `map.get(k)`);
 * - read an accessor a built-in prototype declares (`u8.length`, `buffer.byteLength`, `map.size`);
 * - use `instanceof` at all;
 * - write a template literal with a substitution: QuickJS compiles `` `a${b}` `` to a call of
 *   `String.prototype.concat`, looked up on the string (use `+`);
 * - iterate with `for…of`, spread, array destructuring or `yield*` (all go through an iterator's
 *   replaceable `next`);
 * - use a primordial that builds its result through a species constructor (SPECIES below);
 * - hand Object.defineProperty / defineProperties / create a descriptor that inherits from
 *   Object.prototype.
 * It calls the originals captured in primordials.ts before user code ran (`callWith(ArrayPrototypePush,
 * arr, x)`, `ObjectKeys(o)`), checks brands with `isInstance` or private fields, and loops by index.
 * primordials.ts itself is where the capturing happens. A line (or the line above it) may carry
 * `// primordials-lint: allow <reason>` for a case that is provably safe; keep those rare.
 *
 * Vendored code is not linted: only sources under guest/ (and the bindings' guest/ folders) are. The
 * one vendored library, web-streams-polyfill (bundled into the `stream` chunk by guest/streams.ts),
 * cannot follow the rule, and need not: it only ever handles the guest's own data (its queues hold
 * the user's chunks) and holds no host capability, so a user who patches a built-in it calls only
 * disturbs their own streams. Everything between streams and the host (body streams, compression
 * handles, the readers the prelude itself uses) is in guest/ and follows the rule. The build lowers
 * template literals in every bundle (primordials-lint.test.ts checks the built output), so the
 * vendored code's error messages do not go through String.prototype.concat either.
 */
import ts from 'typescript';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';

export interface Violation {
  file: string;
  line: number;
  column: number;
  rule: 'builtin-call' | 'builtin-getter' | 'builtin-instanceof' | 'builtin-iteration' | 'species' | 'descriptor' | 'template';
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
/** Accessor properties of built-in prototypes, by the lib interface that declares them. */
const VIEW_ACCESSORS = ['buffer', 'byteLength', 'byteOffset', 'length'];
const ACCESSORS: Record<string, string[]> = {
  ArrayBufferView: VIEW_ACCESSORS,
  DataView: VIEW_ACCESSORS,
  ArrayBuffer: ['byteLength', 'maxByteLength', 'resizable', 'detached'],
  SharedArrayBuffer: ['byteLength', 'maxByteLength', 'growable'],
  Map: ['size'],
  ReadonlyMap: ['size'],
  Set: ['size'],
  ReadonlySet: ['size'],
  RegExp: ['flags', 'source', 'global', 'ignoreCase', 'multiline', 'sticky', 'unicode', 'dotAll', 'hasIndices', 'unicodeSets'],
  Symbol: ['description'],
  Error: ['stack'],
};
const TYPED_ARRAY = /^(?:Big)?(?:Int|Uint|Float)(?:8|16|32|64)(?:Clamped)?Array$/;
/** Primordials that make their result with the species constructor (`x.constructor[Symbol.species]`). */
const SPECIES = new Set([
  'ArrayPrototypeSlice', 'ArrayPrototypeSplice', 'ArrayPrototypeMap', 'ArrayPrototypeFilter', 'ArrayPrototypeConcat', 'ArrayPrototypeFlat', 'ArrayPrototypeFlatMap',
  'ArrayBufferPrototypeSlice', 'TypedArrayPrototypeSlice', 'TypedArrayPrototypeSubarray', 'TypedArrayPrototypeMap', 'TypedArrayPrototypeFilter',
  'ArrayFrom',
]);
/** Primordials whose descriptor arguments (by position) must not inherit from Object.prototype. */
const DESCRIPTOR_ARGS: Record<string, { index: number; map: boolean }> = {
  ObjectDefineProperty: { index: 2, map: false },
  ReflectDefineProperty: { index: 2, map: false },
  ObjectDefineProperties: { index: 1, map: true },
  ObjectCreate: { index: 1, map: true },
};
const ALLOW = /\/\/\s*primordials-lint:\s*allow\s+\S/;

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
  /** A lib-declared property that is an accessor on its built-in prototype. */
  const isAccessor = (symbol: ts.Symbol | undefined): boolean => {
    if (!symbol || !fromLib(symbol)) return false;
    return symbol.getDeclarations()!.some((d) => {
      const owner = d.parent;
      if (!ts.isInterfaceDeclaration(owner)) return false;
      const name = owner.name.text;
      const list = TYPED_ARRAY.test(name) ? VIEW_ACCESSORS : ACCESSORS[name];
      return !!list && list.includes(symbol.name);
    });
  };
  /** An object literal that inherits from Object.prototype (no `__proto__: null`). */
  const inherits = (node: ts.Expression): boolean =>
    ts.isObjectLiteralExpression(node) &&
    !node.properties.some((p) => ts.isPropertyAssignment(p) && p.name.getText() === '__proto__' && p.initializer.kind === ts.SyntaxKind.NullKeyword);

  for (const sf of program.getSourceFiles()) {
    // the prelude's own files and the bindings' guest chunks (bindings/<name>/guest/, bundled with it)
    if (sf.isDeclarationFile || !(sf.fileName.startsWith(dir) || /\/bindings\/[^/]+\/guest\//.test(sf.fileName))) continue;
    const file = relative(dir, sf.fileName);
    if (EXEMPT.has(file)) continue;
    const lines = sf.text.split('\n');
    const report = (node: ts.Node, rule: Violation['rule']) => {
      const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
      if (ALLOW.test(lines[line] ?? '') || ALLOW.test(lines[line - 1] ?? '')) return;
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
        if (ts.isCallExpression(node) && ts.isIdentifier(callee)) {
          // `callWith(ObjectDefineProperty, …)` is not a thing; the statics are called directly
          const spec = DESCRIPTOR_ARGS[callee.text];
          const arg = spec && node.arguments[spec.index];
          if (arg) {
            if (spec.map && ts.isObjectLiteralExpression(arg)) {
              for (const p of arg.properties) if (ts.isPropertyAssignment(p) && inherits(p.initializer)) report(p.initializer, 'descriptor');
            } else if (!spec.map && inherits(arg)) report(arg, 'descriptor');
          }
        }
      }
      if (ts.isPropertyAccessExpression(node) && isAccessor(checker.getSymbolAtLocation(node.name))) {
        const parent = node.parent;
        const isCallee = (ts.isCallExpression(parent) || ts.isNewExpression(parent)) && parent.expression === node;
        if (!isCallee) report(node, 'builtin-getter');
      }
      if (ts.isIdentifier(node) && SPECIES.has(node.text) && !ts.isPropertyAccessExpression(node.parent)) report(node, 'species');
      if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.InstanceOfKeyword) report(node, 'builtin-instanceof');
      if (ts.isTemplateExpression(node) || ts.isTaggedTemplateExpression(node)) report(node, 'template');
      if (ts.isForOfStatement(node)) report(node.expression, 'builtin-iteration');
      if (ts.isSpreadElement(node)) report(node, 'builtin-iteration');
      if (ts.isArrayBindingPattern(node)) report(node, 'builtin-iteration');
      if (ts.isYieldExpression(node) && node.asteriskToken) report(node, 'builtin-iteration');
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
