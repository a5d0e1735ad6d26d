// Deployed by prelude-patching.test.ts (the %…% tokens are filled in there). The attack: before any
// Web API is touched, replace every method of the built-ins the prelude could be tempted to call with
// a recorder that keeps every function it sees (as `this`, argument or return value) and then calls
// the original; then use every API, and see whether anything not ours and not public came by.
//
// Variants:
//   record  - the recorders (and an own Symbol.hasInstance recorder on every built-in constructor); the report lists every function seen that is neither created here nor
//             reachable from globalThis (own properties, prototypes, statics), each probed with
//             hostile arguments.
//   species - `constructor` of Array, ArrayBuffer and every typed array prototype replaced by one
//             whose Symbol.species records being called: the prelude must never build a result
//             through a species constructor (this module itself never calls slice/map/filter/…).
//   indices - accessors for the indices 0…63 on Array.prototype: a write into an array that lacks that
//             index goes through the setter, which looks into what is written (and stores it, so
//             arrays still work): no prelude function may pass through an array this way.
//   strict  - the recorders again, with each API call made in a window where any recorder call
//             (other than on this module's own data) counts: the prelude calls no patched built-in.
const VARIANT = '%VARIANT%';
const UPSTREAM = '%UPSTREAM%';
const REPORT_KEY = 'report-' + VARIANT;

// ---- originals, taken before anything is patched ----
const apply = Reflect.apply;
const construct = Reflect.construct;
const ownKeys = Reflect.ownKeys;
const getDesc = Object.getOwnPropertyDescriptor;
const defProp = Object.defineProperty;
const getProto = Object.getPrototypeOf;
const setProto = Object.setPrototypeOf;
const fnToString = Function.prototype.toString;
const symToString = Symbol.prototype.toString;
const push = Array.prototype.push;
const strIndexOf = String.prototype.indexOf;
const strSlice = String.prototype.slice;
const strRepeat = String.prototype.repeat;
const strStartsWith = String.prototype.startsWith;
const stringify = JSON.stringify;
const wsAdd = WeakSet.prototype.add;
const wsHas = WeakSet.prototype.has;
const ArrayCtor = Array;
const ProxyCtor = Proxy;
const reflectDefine = Reflect.defineProperty;
const stackOf = getDesc(Error.prototype, 'stack')?.get;

const add = (set, v) => apply(wsAdd, set, [v]);
const has = (set, v) => apply(wsHas, set, [v]);
const append = (list, v) => apply(push, list, [v]);
const descriptor = (o, k) => {
  const d = getDesc(o, k);
  if (d) setProto(d, null);
  return d;
};
const keyName = (k) => (typeof k === 'symbol' ? '[' + apply(symToString, k, []) + ']' : k);
const isObject = (v) => (typeof v === 'object' && v !== null) || typeof v === 'function';
const data = (value) => ({ __proto__: null, value, writable: true, enumerable: false, configurable: true });

// ---- what this module made, what the public API is ----
/** Functions created here (every function this module defines or hands out is registered). */
const mine = new WeakSet();
const own = (f) => (add(mine, f), f);
for (const f of [apply, add, has, append, descriptor, keyName, isObject, data, own]) add(mine, f);
/** Objects created here that an API reads as user data (an iterator it made from them is ours too). */
const userData = new WeakSet();
const ours = (o) => (add(userData, o), o);

/** Every object and function reachable from globalThis through own properties (values, getters, setters) and prototypes. */
function surface(into) {
  const queue = [];
  const visit = (v) => {
    if (isObject(v) && !has(into, v)) {
      add(into, v);
      append(queue, v);
    }
  };
  visit(globalThis);
  for (let i = 0; i < queue.length; i++) {
    const o = queue[i];
    visit(getProto(o));
    const keys = ownKeys(o);
    for (let j = 0; j < keys.length; j++) {
      const d = descriptor(o, keys[j]);
      if (!d) continue;
      visit(d.value);
      visit(d.get);
      visit(d.set);
    }
  }
  return into;
}
own(surface);
/** The public surface before anything is patched or loaded (the originals of what gets patched are in it). */
const publicApi = surface(new WeakSet());

// ---- recorders ----
const found = [];
const seen = new WeakSet();
const zoneCalls = [];
const species = [];
/** strict: the API call in progress (a recorder called meanwhile was called by the prelude); null while this module runs. */
let zone = null;
/**
 * Streams are vendored code (web-streams-polyfill, the stream chunk): exempt from the primordials rule
 * as from its lint, since they only handle the function's own data. While a stream API runs (and the
 * jobs it awaits), nothing is recorded; the rest of the prelude is held to the rule around them.
 */
let vendoredDepth = 0;
async function vendored(fn) {
  vendoredDepth++;
  try {
    return await fn();
  } finally {
    vendoredDepth--;
  }
}

function note(v, label, role) {
  if (vendoredDepth > 0) return;
  if (typeof v !== 'function' || has(mine, v) || has(seen, v)) return;
  add(seen, v);
  append(found, { fn: v, label, role });
}

function recorder(original, label) {
  return own(function (...args) {
    if (zone !== null && vendoredDepth === 0 && !(isObject(this) && has(userData, this))) append(zoneCalls, zone + ': ' + label);
    note(this, label, 'this');
    for (let i = 0; i < args.length; i++) note(args[i], label, 'argument');
    const out = new.target === undefined ? apply(original, this, args) : construct(original, args, new.target);
    note(out, label, 'return value');
    // an iterator made from our own data is our own data
    if (isObject(this) && has(userData, this) && isObject(out)) add(userData, out);
    return out;
  });
}
own(note);
own(recorder);

/** Replaces the methods (and accessors) of `obj`, or only `names`, with recorders. */
function patch(obj, label, names) {
  const keys = names ?? ownKeys(obj);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k === 'constructor') continue;
    const d = descriptor(obj, k);
    if (!d || (!d.configurable && !d.writable)) continue;
    const name = label + '.' + keyName(k);
    if (typeof d.value === 'function') d.value = recorder(d.value, name);
    else if (d.get || d.set) {
      if (!d.configurable) continue;
      if (d.get) d.get = recorder(d.get, name + ' (getter)');
      if (d.set) d.set = recorder(d.set, name + ' (setter)');
    } else continue;
    defProp(obj, k, d);
  }
}
own(patch);

/** A getter on Object.prototype for a name ordinary objects lack: whatever object it is read from is looked into. */
function protoAccessor(name) {
  const label = 'Object.prototype.' + name + ' (getter)';
  defProp(Object.prototype, name, {
    __proto__: null,
    configurable: true,
    enumerable: false,
    get: own(function () {
      if (zone !== null && vendoredDepth === 0 && !(isObject(this) && has(userData, this))) append(zoneCalls, zone + ': ' + label);
      if (isObject(this)) {
        note(this, label, 'this');
        const keys = ownKeys(this);
        for (let i = 0; i < keys.length; i++) {
          const d = descriptor(this, keys[i]);
          if (d && 'value' in d) note(d.value, label, 'own value ' + keyName(keys[i]));
        }
      }
      return undefined;
    }),
    // assignment still makes an own property, as it would without the getter
    set: own(function (v) {
      defProp(this, name, { __proto__: null, value: v, writable: true, enumerable: true, configurable: true });
    }),
  });
}
own(protoAccessor);

/** String.prototype[Symbol.replace] / [Symbol.split]: what `s.replace(string, …)` and `s.split(string)` end up calling. */
const stringReplace = own(function (string, replacement) {
  if (zone !== null && vendoredDepth === 0) append(zoneCalls, zone + ': String.prototype[Symbol.replace]');
  note(replacement, 'String.prototype[Symbol.replace]', 'argument');
  const s = '' + string;
  const p = '' + this;
  const i = apply(strIndexOf, s, [p]);
  if (i < 0) return s;
  const r = typeof replacement === 'function' ? '' + replacement(p, i, s) : '' + replacement;
  return apply(strSlice, s, [0, i]) + r + apply(strSlice, s, [i + p.length]);
});
const stringSplit = own(function (string, limit) {
  if (zone !== null && vendoredDepth === 0) append(zoneCalls, zone + ': String.prototype[Symbol.split]');
  const s = '' + string;
  const sep = '' + this;
  const max = limit === undefined ? 2 ** 32 - 1 : limit >>> 0;
  const out = [];
  if (max === 0) return out;
  if (sep === '') {
    for (let i = 0; i < s.length && out.length < max; i++) append(out, s[i]);
    return out;
  }
  let from = 0;
  for (;;) {
    const at = apply(strIndexOf, s, [sep, from]);
    if (at < 0) break;
    append(out, apply(strSlice, s, [from, at]));
    if (out.length >= max) return out;
    from = at + sep.length;
  }
  append(out, apply(strSlice, s, [from]));
  return out;
});

function patchRecorders() {
  patch(Object, 'Object');
  patch(Object.prototype, 'Object.prototype');
  patch(Function.prototype, 'Function.prototype', ['call', 'apply', 'bind', 'toString']);
  patch(Array.prototype, 'Array.prototype');
  patch(getProto([][Symbol.iterator]()), '%ArrayIteratorPrototype%');
  patch(Map.prototype, 'Map.prototype');
  patch(getProto(new Map()[Symbol.iterator]()), '%MapIteratorPrototype%');
  patch(Set.prototype, 'Set.prototype');
  patch(getProto(new Set()[Symbol.iterator]()), '%SetIteratorPrototype%');
  patch(WeakMap.prototype, 'WeakMap.prototype');
  patch(Promise.prototype, 'Promise.prototype', ['then', 'catch', 'finally']);
  patch(Promise, 'Promise', ['resolve']);
  patch(JSON, 'JSON', ['parse', 'stringify']);
  patch(String.prototype, 'String.prototype');
  defProp(String.prototype, Symbol.replace, data(stringReplace));
  defProp(String.prototype, Symbol.split, data(stringSplit));
  patch(RegExp.prototype, 'RegExp.prototype', ['exec', 'test', Symbol.replace, 'flags']);
  // `x instanceof C` asks C first: an own Symbol.hasInstance on every constructor the prelude might check
  const hasInstance = Function.prototype[Symbol.hasInstance];
  const checked = [Object, Function, Array, Map, Set, WeakMap, WeakSet, WeakRef, Promise, Error, TypeError, RangeError, Date, RegExp, ArrayBuffer, DataView, Uint8Array, Number, String, Boolean, BigInt, Request, Response];
  for (let i = 0; i < checked.length; i++) defProp(checked[i], Symbol.hasInstance, data(recorder(hasInstance, checked[i].name + '[Symbol.hasInstance]')));
  // last: from here on a descriptor that inherits from Object.prototype has a `get` and a `value`
  protoAccessor('get');
  protoAccessor('set');
  protoAccessor('value');
  protoAccessor('writable');
}
own(patchRecorders);

/** `constructor` replaced by a function whose Symbol.species records every call and hands out a recording proxy. */
function patchSpecies() {
  const fake = (label, Real) => {
    const Species = own(function (...args) {
      const frames = stackOf ? apply(stackOf, new Error(), []) : '';
      if (vendoredDepth === 0) append(species, label + ' ' + (typeof frames === 'string' ? apply(strSlice, frames, [0, 300]) : ''));
      const target = construct(Real, args);
      return new ProxyCtor(target, {
        defineProperty: own((t, k, d) => {
          note(d.value, `${label} species`, 'element');
          return reflectDefine(t, k, d);
        }),
      });
    });
    const ctor = own(function () {});
    defProp(ctor, Symbol.species, data(Species));
    return ctor;
  };
  defProp(Array.prototype, 'constructor', data(fake('Array', ArrayCtor)));
  defProp(ArrayBuffer.prototype, 'constructor', data(fake('ArrayBuffer', ArrayBuffer)));
  const typed = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array];
  for (let i = 0; i < typed.length; i++) defProp(typed[i].prototype, 'constructor', data(fake(typed[i].name, typed[i])));
}
own(patchSpecies);

/** Accessors for array indices on Array.prototype, seeing every value written to an index an array does not have yet. */
function patchIndices() {
  const label = 'Array.prototype[index] (setter)';
  for (let i = 0; i < 64; i++) {
    const index = '' + i;
    defProp(Array.prototype, index, {
      __proto__: null,
      configurable: true,
      enumerable: false,
      get: own(function () {
        return undefined;
      }),
      set: own(function (v) {
        note(v, label, 'value');
        if (isObject(v)) {
          const keys = ownKeys(v);
          for (let k = 0; k < keys.length; k++) {
            const d = descriptor(v, keys[k]);
            if (d && 'value' in d) note(d.value, label, 'own value ' + keyName(keys[k]) + ' of a value');
          }
        }
        defProp(this, index, { __proto__: null, value: v, writable: true, enumerable: true, configurable: true });
      }),
    });
  }
}
own(patchIndices);

if (VARIANT === 'species') patchSpecies();
else if (VARIANT === 'indices') patchIndices();
else patchRecorders();

// ---- the report ----
const errors = [];
const checks = {};
let lastRun = null;
const HUGE = apply(strRepeat, 'x', [1 << 20]);
const PROBES = [
  ['log', 'constructor', 'x'],
  ['loadChunk', '../x'],
  [HUGE],
];

function probe(fn) {
  const out = [];
  for (let i = 0; i < PROBES.length; i++) {
    try {
      const r = apply(fn, undefined, PROBES[i]);
      append(out, 'returned ' + typeof r);
    } catch (e) {
      append(out, 'threw ' + (isObject(e) ? e.name : typeof e));
    }
  }
  return out;
}
own(probe);

function report() {
  const reach = surface(new WeakSet());
  const unexpected = [];
  for (let i = 0; i < found.length; i++) {
    const f = found[i];
    if (has(publicApi, f.fn) || has(reach, f.fn)) continue;
    const name = descriptor(f.fn, 'name')?.value;
    const source = apply(fnToString, f.fn, []);
    append(unexpected, { seenAs: f.role + ' of ' + f.label, name: typeof name === 'string' ? name : '?', source: apply(strSlice, source, [0, 120]), probes: probe(f.fn) });
  }
  const dunder = [];
  const names = ownKeys(globalThis);
  for (let i = 0; i < names.length; i++) {
    if (typeof names[i] === 'string' && apply(strStartsWith, names[i], ['__'])) append(dunder, names[i]);
  }
  return { variant: VARIANT, lastRun, collected: found.length, unexpected, dunder, species, zoneCalls, errors, checks };
}
own(report);

async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    append(errors, name + ': ' + (isObject(e) ? e.name + ': ' + e.message : '' + e));
    if (isObject(e)) append(errors, apply(strSlice, '' + e.stack, [0, 600]));
  }
}
own(step);

const check = (name, value) => void (checks[name] = value);
own(check);

// ---- the exercise: every API, with ordinary code (record, species) ----
async function exercise(request, env) {
  await step('incoming request', async () => {
    check('method', request.method);
    check('incoming header', request.headers.get('x-probe'));
    check('incoming body', await request.text());
    check('incoming url', new URL(request.url).searchParams.get('q'));
    void request.signal.aborted;
  });
  await step('Headers', own(async () => {
    const h = new Headers([['X-A', ' 1 '], ['x-b', '2']]);
    h.append('x-a', '3');
    h.set('x-c', '4');
    h.delete('x-b');
    h.append('set-cookie', 'a=1');
    h.append('set-cookie', 'b=2');
    const seenPairs = [];
    h.forEach(own((v, k) => append(seenPairs, `${k}=${v}`)));
    check('headers', [h.get('x-a'), h.has('x-c'), h.getSetCookie().length, [...h].length, [...h.keys()].join(','), [...h.values()].length, seenPairs.join(';')]);
    check('headers init', [new Headers({ 'x-r': 'r' }).get('x-r'), new Headers(new Map([['x-m', 'm']])).get('x-m'), new Headers(h).get('x-c'), new Response(null, { headers: new Map([['x-n', 'n']]) }).headers.get('x-n')]);
    for (const [k] of h.entries()) void k;
  }));
  await step('URL', async () => {
    const u = new URL('https://a.example/p/q?x=1&y=2#h');
    u.pathname = '/z';
    u.hash = 'k';
    u.searchParams.append('w', 'v w');
    const rel = new URL('../r?s=1', 'https://b.example/a/b/c');
    check('url', [u.href, u.origin, rel.href, URL.canParse('nope'), URL.parse('https://c.example/')?.host, JSON.stringify({ u })]);
    const p = new URLSearchParams([['b', '2'], ['a', '1']]);
    p.append('c', '3 4');
    p.sort();
    p.set('a', 'A');
    p.delete('c');
    const pairs = [];
    p.forEach(own((v, k) => append(pairs, `${k}${v}`)));
    check('search params', [p.toString(), new URLSearchParams({ r: 's' }).toString(), new URLSearchParams('?q=%20+1').get('q'), new URLSearchParams(p).size, pairs.join(), [...p].length, p.getAll('a').length, p.has('b')]);
  });
  await step('encoding', async () => {
    const bytes = new TextEncoder().encode('h\u00e9llo \u{1f600}');
    const into = new Uint8Array(4);
    const res = new TextEncoder().encodeInto('\u00e9\u00e9\u00e9', into);
    const dec = new TextDecoder('utf-8', { fatal: false });
    const first = dec.decode(new Uint8Array(bytes.buffer, 0, 2), { stream: true });
    const rest = dec.decode(new Uint8Array(bytes.buffer, 2, bytes.length - 2));
    check('encoding', [bytes.length, res.read, res.written, first + rest]);
  });
  await step('crypto', async () => {
    const r = crypto.getRandomValues(new Uint32Array(4));
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode('abc')));
    const key = await crypto.subtle.importKey('raw', new TextEncoder().encode('key'), { name: 'HMAC', hash: 'SHA-256' }, true, ['sign', 'verify']);
    const sig = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode('msg'));
    const ok = await crypto.subtle.verify('HMAC', key, sig, new TextEncoder().encode('msg'));
    const jwk = await crypto.subtle.importKey('jwk', { kty: 'oct', k: 'a2V5' }, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const gen = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-1' }, false, new Set(['sign']));
    const exported = new Uint8Array(await crypto.subtle.exportKey('raw', key));
    let unsupported = '';
    try {
      await crypto.subtle.encrypt();
    } catch (e) {
      unsupported = e.name;
    }
    check('crypto', [r.length, digest[0], ok, jwk.algorithm.hash.name, gen.usages.join(), exported.length, unsupported, crypto.randomUUID().length, crypto.subtle.timingSafeEqual(new Uint8Array(2), new Uint8Array(2)), key.type]);
  });
  await step('structuredClone', async () => {
    const src = { a: [1, , { b: 2n }], m: new Map([[1, { c: 'd' }]]), s: new Set(['x']), d: new Date(0), r: /x/gi, u: new Uint16Array([1, 2]), v: new DataView(new ArrayBuffer(4), 1, 2), e: new RangeError('bad', { cause: 'why' }), n: Object(1), str: Object('s') };
    src.self = src;
    const c = structuredClone(src);
    let refused = '';
    try {
      structuredClone({ f: own(() => 1) });
    } catch (e) {
      refused = e.name;
    }
    check('clone', [c.self === c, c.m.get(1).c, c.s.has('x'), c.d.getTime(), `${c.r}`, c.u[1], c.v.byteLength, c.e.name, c.e.cause, c.a.length, 1 in c.a, refused]);
  });
  await step('abort and events', async () => {
    const ac = new AbortController();
    const heard = [];
    ac.signal.addEventListener('abort', own((e) => append(heard, e.type)), { once: true });
    ac.signal.onabort = own(() => append(heard, 'onabort'));
    ac.abort('why');
    const any = AbortSignal.any([new AbortController().signal, ac.signal]);
    const timeout = AbortSignal.timeout(1);
    await new Promise(own((r) => setTimeout(r, 20)));
    const et = new EventTarget();
    const stopper = new AbortController();
    let n = 0;
    et.addEventListener('ping', own(() => n++), { signal: stopper.signal });
    et.addEventListener('ping', { handleEvent: own((e) => e.preventDefault()) });
    const first = et.dispatchEvent(new Event('ping', { cancelable: true }));
    stopper.abort();
    et.dispatchEvent(new Event('ping'));
    let thrown = '';
    try {
      AbortSignal.abort().throwIfAborted();
    } catch (e) {
      thrown = e.name;
    }
    check('abort', [heard.join(), ac.signal.reason, any.aborted, timeout.aborted, timeout.reason?.name, first, n, thrown, new DOMException('m', 'DataCloneError').code]);
  });
  await step('fetch', async () => {
    const res = await fetch(`${UPSTREAM}/echo?x=1`, { method: 'POST', headers: [['x-up', 'u']], body: 'up\u00e9' });
    const echoed = await res.json();
    const req = new Request(`${UPSTREAM}/echo`, { method: 'PUT', body: new URLSearchParams({ f: 'g' }), headers: { 'x-r': 'r' } });
    const res2 = await fetch(req.clone());
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    let aborted = '';
    try {
      await fetch(`${UPSTREAM}/echo`, { signal: ac.signal });
    } catch (e) {
      aborted = e.message;
    }
    const live = new AbortController();
    const res3 = await fetch(`${UPSTREAM}/echo`, { signal: live.signal });
    let denied = '';
    try {
      await fetch('http://169.254.169.254/');
    } catch (e) {
      denied = e.name;
    }
    check('fetch', [res.status, echoed.method, echoed.headers['x-up'], echoed.body, (await res2.json()).body, aborted, res3.ok, denied, res.headers.get('content-type')]);
  });
  await step('base64', async () => {
    check('base64', [btoa('hi\u00ff'), atob('aGk=')]);
  });
  await step('console', async () => {
    class Point {
      constructor() {
        this.x = 1;
      }
    }
    const cyc = { name: 'cyc' };
    cyc.me = cyc;
    console.log('fmt %s %d %i %f %j %o %O %c %%', 'str', 4.5, '7.9', '1.5', { j: 1 }, [1], { o: 2 }, 'color: red', 'extra');
    console.log({ a: [1, , 3], m: new Map([['k', { v: 1 }]]), s: new Set([1]), u8: new Uint8Array([1, 2]), ab: new ArrayBuffer(3), d: new Date(0), r: /r/g, sym: Symbol('s'), f: own(function named() {}), big: 10n, neg: -0, p: new Point(), n: Object(2), w: new WeakMap(), pr: Promise.resolve(1) });
    console.log(cyc, new Headers({ a: 'b' }), new Response('r'), new URL('https://x.example/').searchParams, Object.create(null));
    console.log(new TypeError('bad', { cause: new Error('root') }));
    console.count();
    console.count('x');
    console.countReset('x');
    console.time('t');
    console.timeLog('t', { at: 1 });
    console.timeEnd('t');
    console.timeEnd('missing');
    console.group('g');
    console.info('in group');
    console.groupEnd();
    console.table([{ a: 1 }]);
    console.dir({ dir: true });
    console.assert(false, 'asserted');
    console.trace('traced');
    console.warn('w');
    console.error('e');
    console.debug('d');
  });
  await step('Request and Response', async () => {
    const req = new Request('https://a.example/r', { method: 'post', headers: new Headers({ 'x-q': 'q' }), body: JSON.stringify({ b: 1 }) });
    const copy = new Request(req, { headers: { 'x-copy': '1' } });
    const body = await copy.json();
    const res = new Response(new Uint8Array([104, 105]), { status: 201, statusText: 'Created', headers: [['x-s', 's']] });
    const clone = res.clone();
    const { chunk, streamed, piped } = await vendored(async () => {
      const reader = clone.body.getReader();
      const chunk = await reader.read();
      reader.releaseLock();
      let streamed = 0;
      for await (const c of new Response('abc').body) streamed += c.length;
      const piped = new Response(new Response('piped').body);
      return { chunk, streamed, piped };
    });
    const fromView = new Response(new DataView(new Uint8Array([1, 2, 3]).buffer, 1, 2));
    const json = Response.json({ j: [1] }, { headers: { 'x-j': 'j' } });
    const redirect = Response.redirect('https://a.example/next', 307);
    check('bodies', [req.method, body.b, copy.headers.get('x-copy'), copy.headers.get('x-q'), await res.text(), chunk.value.length, streamed, await vendored(() => piped.text()), (await fromView.arrayBuffer()).byteLength, (await json.json()).j[0], redirect.headers.get('location'), Response.error().type, (await new Response(new URLSearchParams('a=1')).text()), (await new Request('https://a.example/', { method: 'POST', body: 'b' }).bytes()).length]);
  });
  await step('Blob and FormData', own(async () => {
    const b = new Blob(['ab', new Uint8Array([99])], { type: 'Text/Plain' });
    const f = new File([b], 'f.txt', { lastModified: 3 });
    const fd = new FormData();
    fd.append('s', 'v');
    fd.append('b', b);
    fd.append('f', f, 'g.txt');
    fd.set('s', 'w');
    const seenKeys = [];
    fd.forEach(own((v, k) => append(seenKeys, k)));
    const back = await new Response(fd).formData();
    const chunks = [];
    for await (const c of b.stream()) append(chunks, c.length);
    const echoed = await (await fetch(`${UPSTREAM}/echo`, { method: 'POST', body: fd })).json();
    check('blob', [b.size, b.type, await b.text(), await b.slice(-2).text(), (await b.arrayBuffer()).byteLength, (await b.bytes()).length, f.name, f.lastModified, seenKeys.join(), [...back.keys()].join(), back.get('f').name, await back.get('b').text(), (await new Response(b).blob()).type, [...(await new Response(new URLSearchParams('x=1')).formData())].length, chunks.join(), echoed.headers['content-type'].slice(0, 19), fd.has('b'), fd.getAll('s').length]);
  }));
  await step('KV', async () => {
    const kv = env.PATCHKV;
    await kv.put('k', JSON.stringify({ v: 1 }), { metadata: { m: 1 }, expirationTtl: 600 });
    await kv.put('bytes', new Uint8Array([1, 2]));
    const text = await kv.get('k');
    const json = await kv.get('k', 'json');
    const buf = await kv.get('bytes', { type: 'arrayBuffer' });
    const stream = await vendored(() => kv.get('k', 'stream'));
    const meta = await kv.getWithMetadata('k', 'json');
    const list = await kv.list({ prefix: '', limit: 10 });
    await kv.delete('bytes');
    check('kv', [text.length, json.v, buf.byteLength, stream !== null, meta.metadata.m, list.keys.some(own((k) => k.name === 'k')), await kv.get('bytes')]);
  });
  await step('timers', async () => {
    const order = [];
    const interval = setInterval(own(() => append(order, 'i')), 1);
    const cancelled = setTimeout(own(() => append(order, 'never')), 1);
    clearTimeout(cancelled);
    queueMicrotask(own(() => append(order, 'micro')));
    await new Promise(own((r) => setTimeout(own(() => (clearInterval(interval), r())), 15)));
    check('timers', [order[0], order.length > 1, order.indexOf('never')]);
  });
}
own(exercise);

// ---- the exercise for `strict`: each API call alone in a window, its inputs made outside it ----
function api(label, fn) {
  zone = label;
  try {
    return fn();
  } catch (e) {
    append(errors, 'in ' + label);
    throw e;
  } finally {
    zone = null;
  }
}
async function apiAsync(label, fn) {
  zone = label;
  try {
    return await fn();
  } catch (e) {
    append(errors, 'in ' + label);
    throw e;
  } finally {
    zone = null;
  }
}
/** A callback the prelude calls: user code again, so the window closes while it runs. */
const userFn = (fn) =>
  own(function (...args) {
    const was = zone;
    zone = null;
    try {
      return apply(fn, this, args);
    } finally {
      zone = was;
    }
  });
own(api);
own(apiAsync);
own(userFn);

async function strictExercise(request, env) {
  const record = { __proto__: null, 'x-a': '1', 'content-type': 'text/plain' };
  const h = api('new Headers(record)', () => new Headers(record));
  api('headers.append', () => h.append('x-b', '2'));
  api('headers.set', () => h.set('x-c', '3'));
  api('headers.delete', () => h.delete('x-c'));
  api('headers.get', () => h.get('x-a'));
  api('headers.has', () => h.has('x-a'));
  api('headers.getSetCookie', () => h.getSetCookie());
  api('headers.forEach', () => h.forEach(userFn(() => {})));
  api('new Headers(headers)', () => new Headers(h));
  api('headers.entries().next()', () => h.entries().next());
  api('request.headers.get', () => request.headers.get('x-probe'));
  api('request.url', () => request.url);
  await apiAsync('request.text', () => request.text());
  const res = api('new Response', () => new Response('x', { status: 201, headers: record }));
  const pairs = ours([ours(['x-p', '1'])]);
  api('new Response(pairs)', () => new Response(null, { headers: pairs }));
  api('response.clone', () => res.clone());
  await apiAsync('response.text', () => res.text());
  const json = api('Response.json', () => Response.json({ a: 1 }));
  await apiAsync('response.json', () => json.json());
  api('Response.redirect', () => Response.redirect('https://a.example/'));
  const u8 = new Uint8Array(8);
  const bin = api('new Response(bytes)', () => new Response(u8));
  await vendored(() => bin.body.getReader().read());
  const req = api('new Request', () => new Request('https://a.example/', { method: 'POST', body: 'b', headers: record }));
  await apiAsync('request.arrayBuffer', () => req.clone().arrayBuffer());
  api('new Request(request)', () => new Request(req));
  const blobParts = ours(['ab', u8]);
  const blob = api('new Blob', () => new Blob(blobParts, { __proto__: null, type: 'Text/Plain' }));
  api('blob.size', () => blob.size);
  api('blob.slice', () => blob.slice(-2, undefined, 'text/x'));
  await apiAsync('blob.text', () => blob.text());
  await apiAsync('blob.arrayBuffer', () => blob.arrayBuffer());
  await apiAsync('blob.bytes', () => blob.bytes());
  const blobReader = api('blob.stream', () => blob.stream().getReader());
  await apiAsync('blob stream read', () => blobReader.read());
  const fileParts = ours([blob]);
  const file = api('new File', () => new File(fileParts, 'f.txt', { __proto__: null, lastModified: 1 }));
  api('file.name', () => file.name);
  const fd = api('new FormData', () => new FormData());
  api('formData.append', () => fd.append('s', 'v'));
  api('formData.append(blob, filename)', () => fd.append('b', blob, 'b.txt'));
  api('formData.set(file)', () => fd.set('f', file));
  api('formData.get', () => fd.get('s'));
  api('formData.getAll', () => fd.getAll('s'));
  api('formData.has', () => fd.has('f'));
  api('formData.delete', () => fd.delete('nope'));
  api('formData.forEach', () => fd.forEach(userFn(() => {})));
  api('formData.entries().next()', () => fd.entries().next());
  const multipart = api('new Response(formData)', () => new Response(fd));
  await apiAsync('response.formData (multipart)', () => multipart.formData());
  await apiAsync('response.blob', () => new Response(blob).blob());
  const urlencoded = api('new Response(urlSearchParams)', () => new Response(new URLSearchParams('a=1')));
  await apiAsync('response.formData (urlencoded)', () => urlencoded.formData());
  const url = api('new URL', () => new URL('https://a.example/p?q=1'));
  api('url.searchParams.append', () => url.searchParams.append('r', '2 3'));
  api('url.pathname=', () => (url.pathname = '/z'));
  api('url.href', () => url.href);
  const usp = api('new URLSearchParams(string)', () => new URLSearchParams('b=1&a=%20'));
  api('new URLSearchParams(record)', () => new URLSearchParams(record));
  api('urlSearchParams.sort', () => usp.sort());
  api('urlSearchParams.toString', () => usp.toString());
  api('urlSearchParams.forEach', () => usp.forEach(userFn(() => {})));
  const enc = api('TextEncoder.encode', () => new TextEncoder().encode('h\u00e9'));
  api('TextEncoder.encodeInto', () => new TextEncoder().encodeInto('h\u00e9', u8));
  api('TextDecoder.decode', () => new TextDecoder().decode(enc, { stream: true }));
  api('crypto.getRandomValues', () => crypto.getRandomValues(u8));
  api('crypto.randomUUID', () => crypto.randomUUID());
  await apiAsync('crypto.subtle.digest', () => crypto.subtle.digest('SHA-256', u8));
  const usages = ours(['sign', 'verify']);
  const key = await apiAsync('crypto.subtle.importKey', () => crypto.subtle.importKey('raw', u8, { name: 'HMAC', hash: 'SHA-256' }, false, usages));
  const sig = await apiAsync('crypto.subtle.sign', () => crypto.subtle.sign('HMAC', key, u8));
  await apiAsync('crypto.subtle.verify', () => crypto.subtle.verify('HMAC', key, sig, u8));
  const value = { __proto__: null, a: ours([1, 2]), d: new Date(0), m: new Map([[1, 2]]), nested: { b: 'c' } };
  api('structuredClone', () => structuredClone(value));
  const ac = api('new AbortController', () => new AbortController());
  api('signal.addEventListener', () => ac.signal.addEventListener('abort', userFn(() => {}), { once: true }));
  api('controller.abort', () => ac.abort('why'));
  const signals = ours([new AbortController().signal, ac.signal]);
  api('AbortSignal.any', () => AbortSignal.any(signals));
  const et = api('new EventTarget', () => new EventTarget());
  api('eventTarget.addEventListener', () => et.addEventListener('x', userFn((e) => e.preventDefault()), { once: true }));
  api('eventTarget.dispatchEvent', () => et.dispatchEvent(new Event('x', { cancelable: true })));
  api('btoa/atob', () => atob(btoa('hi')));
  const obj = { __proto__: null, a: 1, list: ours([1, 2]), map: new Map([['k', 'v']]), when: new Date(0) };
  api('console.log', () => console.log('a %s %d %o', 'b', 1, obj));
  api('console.count', () => console.count());
  api('console.table', () => console.table(obj));
  api('console.time', () => console.time('t'));
  api('console.timeEnd', () => console.timeEnd('t'));
  api('console.group', () => console.group('g'));
  api('console.groupEnd', () => console.groupEnd());
  api('console.log(error)', () => console.log(new Error('e')));
  await apiAsync('kv.put', () => env.PATCHKV.put('strict', 'v', { metadata: { __proto__: null, m: 1 } }));
  await apiAsync('kv.get', () => env.PATCHKV.get('strict'));
  await apiAsync('kv.list', () => env.PATCHKV.list({ __proto__: null, prefix: 's' }));
  const echo = UPSTREAM + '/echo';
  const upstream = await apiAsync('fetch', () => fetch(echo, { method: 'POST', body: 'x', headers: record }));
  await apiAsync('fetched.text', () => upstream.text());
  const t = api('setTimeout', () => setTimeout(userFn(() => {}), 1000));
  api('clearTimeout', () => clearTimeout(t));
}
own(strictExercise);

/** After the response went out: more first-use paths, then the report, kept in KV for the test to read. */
async function after(env) {
  await new Promise(own((r) => setTimeout(r, 10)));
  if (VARIANT !== 'strict') {
    await step('after the response', async () => {
      check('after', [new Headers({ late: '1' }).get('late'), structuredClone(new Map([[1, 2]])).size, new URL('https://late.example/').host]);
      console.count('late');
    });
  }
  // the strict window left open over the response going out closes here
  zone = null;
  const text = stringify(report());
  await env.PATCHKV.put(REPORT_KEY, text);
}
own(after);

export default {
  async fetch(request, env, ctx) {
    // a window a previous request left open over its response closes when user code runs again
    zone = null;
    const path = new URL(request.url).pathname;
    if (path.endsWith('/report')) {
      const text = await env.PATCHKV.get(REPORT_KEY);
      return new Response(text ?? 'pending', { status: text ? 200 : 404 });
    }
    lastRun = new URL(request.url).searchParams.get('n');
    if (VARIANT === 'strict') await step('strict', () => strictExercise(request, env));
    else await exercise(request, env);
    ctx.waitUntil(after(env));
    const headers = [['x-run', VARIANT], ['content-type', 'application/json']];
    const body = stringify({ ok: true, errors });
    if (VARIANT !== 'strict') return new Response(body, { headers });
    // left open on purpose: whatever the prelude does with the response after it is returned counts
    zone = 'returned response';
    return new Response(body, { headers: { __proto__: null, 'x-run': VARIANT } });
  },
};
