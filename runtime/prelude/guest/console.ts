import { call } from './host.ts';
import { need } from './lazy.ts';

/**
 * console.* formats like Node's util.format: %s %d %i %f %j %o %O %c placeholders, then the remaining
 * arguments joined by spaces. Primitives are formatted here; objects and placeholders by the
 * `inspect` chunk, so a function that only logs strings never loads it.
 */

type Level = 'debug' | 'info' | 'log' | 'warn' | 'error';

export function inspect(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return `${v}n`;
    case 'symbol':
      return v.toString();
    case 'object':
    case 'function':
      if (v !== null) return need('inspect').inspect(v);
  }
  return String(v);
}

export function format(args: unknown[]): string {
  const out: string[] = [];
  let i = 0;
  const first = args[0];
  if (typeof first === 'string') {
    i = 1;
    out.push(
      args.length > 1 && first.includes('%')
        ? first.replace(/%[sdifjoOc%]/g, (m) => (m === '%%' ? '%' : i < args.length ? need('inspect').placeholder(m[1], args[i++]) : m))
        : first,
    );
  }
  for (; i < args.length; i++) out.push(inspect(args[i]));
  return out.join(' ');
}

const LEVELS: Level[] = ['log', 'info', 'warn', 'error', 'debug'];
/** Rarely used methods live in the `console` chunk (console-extras.ts). */
const EXTRAS = ['assert', 'count', 'countReset', 'dir', 'group', 'groupCollapsed', 'groupEnd', 'table', 'time', 'timeEnd', 'timeLog', 'trace'];

/** Shared with the extras: console.group() indents what the core methods print. */
export const consoleState = { indent: '' };

export function emit(level: Level, text: string): void {
  const indent = consoleState.indent;
  call('log', level, indent ? indent + text.replace(/\n/g, '\n' + indent) : text);
}

/** The extras are stubs that forward to the chunk: plain properties, one shared function body. */
export function makeConsole(): object {
  const c: Record<string, unknown> = {};
  for (const level of LEVELS) c[level] = (...args: unknown[]) => emit(level, format(args));
  for (const name of EXTRAS) c[name] = (...args: unknown[]) => need('console')[name](...args);
  return c;
}
