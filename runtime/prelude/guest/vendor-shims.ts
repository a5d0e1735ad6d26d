/**
 * What the build hands vendored code (web-streams-polyfill in the stream chunk) in place of
 * `Object.defineProperty` and `Object.defineProperties` (build.ts: `define` + `inject`). Its
 * descriptors are object literals: read as they are, a getter user code put on Object.prototype for
 * `get`, `set` or `value` would be part of every one of them (and make it invalid, so the chunk would
 * not even load). These read only the descriptors' own properties, into objects without a prototype.
 */
const FIELDS = ['value', 'writable', 'get', 'set', 'enumerable', 'configurable'];

function own(d: any): PropertyDescriptor {
  const out: any = { __proto__: null };
  for (let i = 0; i < FIELDS.length; i++) {
    const f = FIELDS[i]!;
    if (callWith(ObjectPrototypeHasOwnProperty, d, f)) out[f] = d[f];
  }
  return out;
}

export function vendorDefineProperty<T>(o: T, key: PropertyKey, d: PropertyDescriptor): T {
  return ObjectDefineProperty(o, key, own(d));
}

export function vendorDefineProperties<T>(o: T, map: PropertyDescriptorMap): T {
  const keys = ReflectOwnKeys(map);
  for (let i = 0; i < keys.length; i++) ObjectDefineProperty(o, keys[i]!, own((map as any)[keys[i]!]));
  return o;
}
