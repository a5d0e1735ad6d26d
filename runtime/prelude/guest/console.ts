import { call } from './host.ts';
import { need } from './lazy.ts';
import { hardenRegExp, regexReplace } from './safe.ts';

/**
 * console.* formats like Node's util.format: %s %d %i %f %j %o %O %c placeholders, then the remaining
 * arguments joined by spaces. Primitives are formatted here; objects and placeholders by the
 * `inspect` chunk, so a function that only logs strings never loads it.
 */

type Level = 'debug' | 'info' | 'log' | 'warn' | 'error';

/** One console call's text at most (the host refuses longer: runtime/host/op-table.ts MAX_LOG_CHARS). */
const MAX_LOG_CHARS = 16 * 1024;
const PLACEHOLDER = hardenRegExp(/%[sdifjoOc%]/g);
const NEWLINE = hardenRegExp(/\n/g);

export function inspect(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return ObjectIs(v, -0) ? '-0' : callWith(NumberPrototypeToString, v);
    case 'bigint':
      return '' + v + 'n';
    case 'symbol':
      return callWith(SymbolPrototypeToString, v);
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
    callWith(
      ArrayPrototypePush,
      out,
      args.length > 1 && callWith(StringPrototypeIncludes, first, '%')
        ? regexReplace(PLACEHOLDER, first, (m: string) => (m === '%%' ? '%' : i < args.length ? need('inspect').placeholder(m[1], args[i++]) : m))
        : first,
    );
  }
  for (; i < args.length; i++) callWith(ArrayPrototypePush, out, inspect(args[i]));
  return callWith(ArrayPrototypeJoin, out, ' ');
}

const LEVELS: Level[] = ['log', 'info', 'warn', 'error', 'debug'];
/** Rarely used methods live in the `console` chunk (console-extras.ts). */
const EXTRAS = ['assert', 'count', 'countReset', 'dir', 'group', 'groupCollapsed', 'groupEnd', 'table', 'time', 'timeEnd', 'timeLog', 'trace'];

/** Shared with the extras: console.group() indents what the core methods print. */
export const consoleState = { indent: '' };

export function emit(level: Level, text: string): void {
  const indent = consoleState.indent;
  let line = indent ? indent + regexReplace(NEWLINE, text, '\n' + indent) : text;
  if (line.length > MAX_LOG_CHARS) line = callWith(StringPrototypeSlice, line, 0, MAX_LOG_CHARS) + '… [truncated ' + (line.length - MAX_LOG_CHARS) + ' characters]';
  call('log', level, line);
}

/** The extras are stubs that forward to the chunk: plain properties, one shared function body. */
export function makeConsole(): object {
  const c: Record<string, unknown> = {};
  for (let j = 0; j < LEVELS.length; j++) {
    const level = LEVELS[j]!;
    c[level] = (...args: unknown[]) => emit(level, format(args));
  }
  for (let j = 0; j < EXTRAS.length; j++) {
    const name = EXTRAS[j]!;
    c[name] = (...args: unknown[]) => {
      return ReflectApply(need('console')[name], undefined, args);
    };
  }
  return c;
}
