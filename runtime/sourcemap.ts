import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';

const FRAME = /(\(|at )([^()\s]+):(\d+):(\d+)(\)?)/g;

/**
 * Rewrites a guest stack so that frames in the function's bundle point at the user's original files
 * and lines. Prelude frames (faas:prelude/…) are dropped: they are ours, not the user's; every other
 * file in a sandbox is the function's one bundle.
 */
export class StackMapper {
  private map: TraceMap | undefined;

  constructor(private readonly sourceMapJson: string) {}

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

  private lookup(line: number, column: number): { source: string; line: number; column: number } | undefined {
    if (!this.sourceMapJson) return undefined;
    try {
      this.map ??= new TraceMap(this.sourceMapJson);
      // QuickJS columns are 1-based; source maps are 0-based.
      const pos = originalPositionFor(this.map, { line, column: Math.max(0, column - 1) });
      if (pos.source === null || pos.line === null || pos.column === null) return undefined;
      return { source: pos.source, line: pos.line, column: pos.column + 1 };
    } catch {
      return undefined;
    }
  }
}
