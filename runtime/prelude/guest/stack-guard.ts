import { need } from './lazy.ts';
import { ownDescriptor } from './safe.ts';

/**
 * QuickJS-NG hands V8-style CallSites to `Error.prepareStackTrace`, and their getFunction() returns
 * the function of every frame: the host function and prelude internals too, whenever user code runs
 * beneath them (say, a patched builtin called while a chunk loads). So the user's function is
 * wrapped (in the `stack` chunk, loaded when one is set) to see sanitised call sites that, as V8
 * does for strict code, answer getFunction() with undefined.
 */
export function guardStackTraces(): void {
  // the engine keeps the function in an internal slot behind a native accessor: feed that slot
  const native = ownDescriptor(Error, 'prepareStackTrace');
  const set = native?.set;
  if (!set) return;
  // the captured Reflect.apply: a patched Function.prototype.call would otherwise receive the native setter
  native.set = (value: unknown) => ReflectApply(set, Error, [typeof value === 'function' ? need('stack').wrap(value) : value]);
  native.configurable = false;
  ObjectDefineProperty(Error, 'prepareStackTrace', native);
}
