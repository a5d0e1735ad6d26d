import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';

const FRAME = /(\(|at )([^()\s]+):(\d+):(\d+)(\)?)/g;
/** A stack line of the prelude (its frames carry no position the user could use). */
const PRELUDE_LINE = /(?:\r?\n|\\n)[ \t]+at [^\n\\]*?\((?:faas:prelude\/|<null>:)[^)\n\\]*\)/g;
/**
 * The longest source name a frame is mapped to: the source map of uploaded source is the uploader's,
 * and a frame left as it is beats a megabyte-long "file name" repeated in every frame.
 */
const MAX_SOURCE_NAME = 1024;
/**
 * How much mapping may add to a text the guest produced (a console line, an error body): the guest
 * chooses how many frames it prints, so without a bound a small text would become a huge one on the
 * host. Past it, the remaining frames are left as they are.
 */
const MAX_MAPPED_GROWTH = 64 * 1024;
/** QuickJS-NG's message for calling a value that is not a function; it names nothing. */
const NOT_A_FUNCTION = 'not a function';

/**
 * Rewrites a guest stack so that frames in the function's bundle point at the user's original files
 * and lines. Prelude frames (faas:prelude/…) are dropped: they are ours, not the user's; every other
 * file in a sandbox is the function's one bundle.
 *
 * With the bundle's text it also names what a bare "not a function" called (`req.buffer is not a
 * function`): QuickJS reports the call's position, and the bundle (whitespace-minified, identifiers
 * kept) holds the callee there.
 */
export class StackMapper {
  private map: TraceMap | undefined;
  private lines: string[] | undefined;
  private readonly filePattern: RegExp | undefined;

  constructor(
    private readonly sourceMapJson: string,
    private readonly bundle = '',
    /** The names frames give the bundle (`hello.js` from bytecode, the entry's name from source). */
    private readonly bundleFiles: readonly string[] = [],
  ) {
    const names = bundleFiles.filter(Boolean).map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.filePattern = names.length ? new RegExp(`(?:${names.join('|')}):\\d+:\\d+`) : undefined;
  }

  mapStack(stack: string | undefined): string | undefined {
    if (!stack) return stack;
    const lines = stack.split('\n').filter((l) => !l.includes('faas:prelude/') && !l.includes('(<null>:'));
    return lines
      .map((line) => line.replace(FRAME, (whole, open: string, file: string, l: string, c: string, close: string) => {
        if (file.startsWith('faas:') || file === '<native>') return whole;
        const pos = this.lookup(Number(l), Number(c));
        if (!pos) return whole;
        return `${open}${pos.source}:${pos.line}:${pos.column}${close}`;
      }))
      .join('\n')
      .trimEnd();
  }

  /** An uncaught error's message, with the callee of a bare "not a function" named. */
  explain(message: string, stack: string | undefined): string {
    if (message !== NOT_A_FUNCTION || !stack) return message;
    const top = this.firstBundleFrame(stack);
    const callee = top && this.calleeAt(top.line, top.column);
    return callee ? `${callee} is ${NOT_A_FUNCTION}` : message;
  }

  /**
   * Text the function produced (a console line, an error response body) that shows stack frames of
   * its bundle: those frames mapped to the user's source, prelude frames dropped, and a bare "not a
   * function" before them explained. `json`: the text is JSON, so what is put in is escaped.
   */
  mapText(text: string, json = false): string {
    if (!this.filePattern || !this.filePattern.test(text)) return text;
    const quote = json ? (s: string) => JSON.stringify(s).slice(1, -1) : (s: string) => s;
    let out = text.replace(
      new RegExp(`${NOT_A_FUNCTION}(?=(?:\\r?\\n|\\\\n)[ \\t]+at [^\\n\\\\]*?\\(([^()\\s]+):(\\d+):(\\d+)\\))`, 'g'),
      (whole, file: string, l: string, c: string) => {
        if (!this.bundleFiles.includes(file)) return whole;
        const callee = this.calleeAt(Number(l), Number(c));
        return callee ? `${quote(callee)} is ${NOT_A_FUNCTION}` : whole;
      },
    );
    out = out.replace(PRELUDE_LINE, '');
    let growth = out.length - text.length;
    return out.replace(FRAME, (whole, open: string, file: string, l: string, c: string, close: string) => {
      if (growth > MAX_MAPPED_GROWTH || !this.bundleFiles.includes(file)) return whole;
      const pos = this.lookup(Number(l), Number(c));
      if (!pos) return whole;
      const mapped = `${open}${quote(pos.source)}:${pos.line}:${pos.column}${close}`;
      growth += mapped.length - whole.length;
      return growth > MAX_MAPPED_GROWTH ? whole : mapped;
    });
  }

  private firstBundleFrame(stack: string): { line: number; column: number } | undefined {
    for (const m of stack.matchAll(FRAME)) {
      const file = m[2]!;
      if (file.startsWith('faas:') || file === '<native>' || file === '<null>') continue;
      return { line: Number(m[3]), column: Number(m[4]) };
    }
    return undefined;
  }

  /**
   * What the call at (line, column) of the bundle called. QuickJS points at the `.` before a
   * method's name (`req.formData()`), at the callee of `new`, and otherwise at the character just
   * before a plain callee (`;f()`, `(f()`). Anything else names nothing.
   */
  private calleeAt(line: number, column: number): string | undefined {
    if (!this.bundle) return undefined;
    this.lines ??= this.bundle.split('\n');
    const text = this.lines[line - 1];
    if (text === undefined) return undefined;
    const i = column - 1;
    if (i < 0 || i >= text.length) return undefined;
    const chain = '[A-Za-z_$][\\w$]*(?:\\??\\.[A-Za-z_$][\\w$]*)*';
    if (text[i] === '.') {
      const member = /^\.([A-Za-z_$][\w$]*)(?:\?\.)?[(`]/.exec(text.slice(i, i + 256));
      if (!member) return undefined;
      let j = i;
      while (j > 0 && /[\w$.?]/.test(text[j - 1]!)) j--;
      const object = text.slice(j, i).replace(/^[.?]+/, '');
      return object ? `${object}.${member[1]}` : member[1];
    }
    if (/\bnew\s+$/.test(text.slice(Math.max(0, i - 8), i))) return new RegExp(`^${chain}`).exec(text.slice(i, i + 256))?.[0];
    if (/[\w$]/.test(text[i]!)) return undefined;
    const plain = new RegExp(`^(${chain})\\(`).exec(text.slice(i + 1, i + 257));
    if (!plain) return undefined;
    // `f()` but not `f()()`, `f().g()`: there the value called is what `f()` returned
    const after = closingParen(text, i + 1 + plain[0].length - 1);
    return after !== undefined && !/^\s*(?:[(`[]|\??\.)/.test(text.slice(after + 1, after + 8)) ? plain[1] : undefined;
  }

  private lookup(line: number, column: number): { source: string; line: number; column: number } | undefined {
    if (!this.sourceMapJson) return undefined;
    try {
      this.map ??= new TraceMap(this.sourceMapJson);
      // QuickJS columns are 1-based; source maps are 0-based.
      const pos = originalPositionFor(this.map, { line, column: Math.max(0, column - 1) });
      if (pos.source === null || pos.line === null || pos.column === null || pos.source.length > MAX_SOURCE_NAME) return undefined;
      return { source: pos.source, line: pos.line, column: pos.column + 1 };
    } catch {
      return undefined;
    }
  }
}

/** The index of the `)` that closes the `(` at `open`, skipping string literals; undefined past 4 KiB. */
function closingParen(text: string, open: number): number | undefined {
  let depth = 0;
  const end = Math.min(text.length, open + 4096);
  for (let k = open; k < end; k++) {
    const ch = text[k]!;
    if (ch === '"' || ch === "'" || ch === '`') {
      for (k++; k < end && text[k] !== ch; k++) if (text[k] === '\\') k++;
    } else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return k;
  }
  return undefined;
}
