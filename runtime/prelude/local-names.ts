import ts from 'typescript';

/**
 * QuickJS keeps the names of local variables in bytecode even with STRIP_DEBUG (closures and
 * `arguments` reach them by name), and every distinct name is an atom every instance allocates when
 * it loads the code: a minified bundle's ~150 short names cost each instance several KB. Renaming
 * each short name, consistently, to a string that is an atom anyway (a property name or a string
 * literal the code uses, e.g. `status`, or a standard built-in method's name) makes those names free.
 *
 * The renaming is a bijection on names, not on bindings: every identifier that is not in a property-name
 * position and spells a renamed name is renamed, so scoping is unchanged as long as no target spells
 * an identifier the code already uses (excluded, as are the `avoid` names the wrapper binds) and no free
 * reference spells a renamed name: it runs on esbuild's module output, whose minifier never gives a
 * binding the name of a global the module refers to, and only renames its short names.
 */
const RESERVED = new Set(
  ('break case catch class const continue debugger default delete do else enum export extends false finally for function if import in ' +
    'instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package ' +
    'private protected public await async of get set as from target meta arguments eval undefined NaN Infinity globalThis constructor prototype __proto__').split(' '),
);

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Whether `id` names a property (or a label) rather than a binding. */
function namesProperty(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p)) return p.name === id;
  if (ts.isPropertyAssignment(p) || ts.isMethodDeclaration(p) || ts.isGetAccessorDeclaration(p) || ts.isSetAccessorDeclaration(p) || ts.isPropertyDeclaration(p)) return p.name === id;
  if (ts.isBindingElement(p)) return p.propertyName === id;
  // `export { local as exported }`: only the local name is a binding's
  if (ts.isExportSpecifier(p)) return id !== (p.propertyName ?? p.name);
  return ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p) || ts.isMetaProperty(p) || ts.isImportSpecifier(p);
}

function declares(id: ts.Identifier): boolean {
  const p = id.parent;
  return (
    (ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isFunctionDeclaration(p) || ts.isFunctionExpression(p) || ts.isClassDeclaration(p) || ts.isClassExpression(p) || ts.isBindingElement(p)) &&
    p.name === id
  );
}

/** `code` (minified script) with its short local names renamed to atoms it already holds. */
export function renameLocals(code: string, avoid: readonly string[], maxLength = 2): string {
  const file = ts.createSourceFile('prelude.js', code, ts.ScriptTarget.ESNext, true, ts.ScriptKind.JS);
  const refs: ts.Identifier[] = [];
  const declared = new Set<string>();
  const used = new Set<string>();
  const atoms = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n)) {
      if (namesProperty(n)) atoms.add(n.text);
      else {
        refs.push(n);
        used.add(n.text);
        if (declares(n)) declared.add(n.text);
      }
    } else if ((ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) && IDENTIFIER.test(n.text)) atoms.add(n.text);
    ts.forEachChild(n, visit);
  };
  visit(file);
  // every context holds the names of the standard built-ins' methods as atoms already
  for (const o of [Math, Reflect, JSON, Object, Array.prototype, String.prototype, Number.prototype, Promise.prototype]) {
    for (const k of Object.getOwnPropertyNames(o)) if (IDENTIFIER.test(k)) atoms.add(k);
  }
  const skip = new Set(avoid);
  const names = [...declared].filter((s) => s.length <= maxLength).sort();
  // a class or function takes its binding's name: never one that reads like a global; lower case first
  const targets = [...atoms]
    .filter((s) => !(s in globalThis) && !used.has(s) && !RESERVED.has(s) && !skip.has(s))
    .sort((a, b) => Number(/^[A-Z]/.test(a)) - Number(/^[A-Z]/.test(b)) || (a < b ? -1 : a > b ? 1 : 0));
  const to = new Map<string, string>();
  for (let i = 0; i < names.length && i < targets.length; i++) to.set(names[i]!, targets[i]!);
  const edits: { start: number; end: number; text: string }[] = [];
  for (const id of refs) {
    const name = to.get(id.text);
    if (name === undefined) continue;
    const p = id.parent;
    // `{ a }` reads or binds property "a", `export { a }` exports "a": they keep that key
    const keep = ts.isShorthandPropertyAssignment(p) || (ts.isBindingElement(p) && !p.propertyName && ts.isObjectBindingPattern(p.parent));
    const exported = ts.isExportSpecifier(p) && !p.propertyName;
    edits.push({ start: id.getStart(file), end: id.getEnd(), text: keep ? id.text + ':' + name : exported ? name + ' as ' + id.text : name });
  }
  edits.sort((a, b) => b.start - a.start);
  let out = code;
  for (const e of edits) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}
