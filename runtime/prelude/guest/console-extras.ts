import { internals } from './host.ts';

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
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  const elapsed = (label: string) => `${label}: ${(now() - timers.get(label)!).toFixed(3)}ms`;
  const missing = (label: string) => emit('warn', `Warning: No such label '${label}' for console.timeEnd()`);
  const group = (...args: unknown[]) => {
    if (args.length) emit('log', format(args));
    state.indent += '  ';
  };
  return {
    assert: (cond: unknown, ...args: unknown[]) => {
      if (!cond) emit('error', args.length ? `Assertion failed: ${format(args)}` : 'Assertion failed');
    },
    count: (label = 'default') => {
      const n = (counts.get(label) ?? 0) + 1;
      counts.set(label, n);
      emit('info', `${label}: ${n}`);
    },
    countReset: (label = 'default') => void counts.delete(label),
    dir: (v: unknown) => emit('log', inspect(v)),
    group,
    groupCollapsed: group,
    groupEnd: () => {
      state.indent = state.indent.slice(2);
    },
    table: (...args: unknown[]) => emit('log', format(args)),
    time: (label = 'default') => void timers.set(label, now()),
    timeLog: (label = 'default', ...args: unknown[]) =>
      timers.has(label) ? emit('info', [elapsed(label), ...args.map(inspect)].join(' ')) : missing(label),
    timeEnd: (label = 'default') => {
      if (!timers.has(label)) return missing(label);
      emit('info', elapsed(label));
      timers.delete(label);
    },
    trace: (...args: unknown[]) => {
      const frames = new Error().stack?.split('\n').slice(1).join('\n') ?? '';
      emit('log', `Trace: ${format(args)}\n${frames}`);
    },
  };
}
