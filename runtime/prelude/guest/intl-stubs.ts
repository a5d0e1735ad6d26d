import { need } from './lazy.ts';
import { dataDescriptor } from './safe.ts';

/**
 * The locale-sensitive methods of built-ins (Number, BigInt, Date, String, Array) are ECMA-402's:
 * QuickJS's own ignore their locales. Here they are small stubs that load the `intl` chunk on first
 * call and hand over to its implementations (intl.ts `localeMethods`, same order), so a function that
 * never formats anything pays for a few function objects only.
 */
const NAMES = ['toLocaleString', 'toLocaleString', 'toLocaleString', 'toLocaleDateString', 'toLocaleTimeString', 'localeCompare', 'toLocaleUpperCase', 'toLocaleLowerCase', 'toLocaleString'];

export function installLocaleStubs(): void {
  const protos = [Number.prototype, BigInt.prototype, Date.prototype, Date.prototype, Date.prototype, String.prototype, String.prototype, String.prototype, Array.prototype];
  for (let i = 0; i < 9; i++) {
    // a method definition: no prototype, not a constructor
    const stub = { m() { return ReflectApply(need('intl').localeMethods[i], this, arguments); } }.m;
    ObjectDefineProperty(stub, 'name', dataDescriptor(NAMES[i], false));
    if (i === 5) ObjectDefineProperty(stub, 'length', dataDescriptor(1, false));
    ObjectDefineProperty(protos[i]!, NAMES[i]!, dataDescriptor(stub));
  }
}
