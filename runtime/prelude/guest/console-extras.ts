import { internals } from './host.ts';
import { errorStack } from './safe.ts';

/** console methods beyond log/info/warn/error/debug, loaded on first use. */

type Emit = (level: string, text: string) => void;

export function consoleExtras(): Record<string, (...args: any[]) => unknown> {
  const { emit, format, inspect, state, now } = internals.console as {
    emit: Emit;
    format: (args: unknown[]) => string;
    inspect: (v: unknown) => string;
    state: { indent: string };
    now: () => number;
  };
  const counts = new Map<unknown, number>();
  const timers = new Map<unknown, number>();
  const elapsed = (label: unknown) => String(label) + ': ' + callWith(NumberPrototypeToFixed, now() - callWith(MapPrototypeGet, timers, label)!, 3) + 'ms';
  const missing = (label: unknown) => emit('warn', 'Warning: No such label \'' + String(label) + '\' for console.timeEnd()');
  const group = (...args: unknown[]) => {
    if (args.length) emit('log', format(args));
    state.indent += '  ';
  };
  return {
    /** HTML's "report the exception" without an error event: logged as an uncaught exception is. */
    reportError: (e: unknown) => emit('error', 'Uncaught ' + format([e])),
    assert: (cond: unknown, ...args: unknown[]) => {
      if (!cond) emit('error', args.length ? ('Assertion failed: ' + format(args)) : 'Assertion failed');
    },
    count: (label: unknown = 'default') => {
      const n = (callWith(MapPrototypeGet, counts, label) ?? 0) + 1;
      callWith(MapPrototypeSet, counts, label, n);
      emit('info', String(label) + ': ' + String(n));
    },
    countReset: (label: unknown = 'default') => void callWith(MapPrototypeDelete, counts, label),
    dir: (v: unknown) => emit('log', inspect(v)),
    group,
    groupCollapsed: group,
    groupEnd: () => {
      state.indent = callWith(StringPrototypeSlice, state.indent, 2);
    },
    table: (...args: unknown[]) => emit('log', format(args)),
    time: (label: unknown = 'default') => void callWith(MapPrototypeSet, timers, label, now()),
    timeLog: (label: unknown = 'default', ...args: unknown[]) => {
      if (!callWith(MapPrototypeHas, timers, label)) return missing(label);
      let line = elapsed(label);
      for (let i = 0; i < args.length; i++) line += (' ' + inspect(args[i]));
      emit('info', line);
    },
    timeEnd: (label: unknown = 'default') => {
      if (!callWith(MapPrototypeHas, timers, label)) return missing(label);
      emit('info', elapsed(label));
      callWith(MapPrototypeDelete, timers, label);
    },
    trace: (...args: unknown[]) => {
      // the stack without its first frame (this function)
      const stack = errorStack(new Error());
      const first = typeof stack === 'string' ? callWith(StringPrototypeIndexOf, stack, '\n') : -1;
      const frames = first < 0 ? '' : callWith(StringPrototypeSlice, stack as string, first + 1);
      emit('log', 'Trace: ' + format(args) + '\n' + frames);
    },
  };
}
