import { expect, test } from 'vitest';
import { deploySource, invoke, invokeSource } from '../../test/helpers/sandbox.ts';

async function guest(body: string) {
  const r = await invokeSource(`export default { async fetch(request, env, ctx) { ${body} } }`);
  if (r.status !== 200) throw new Error(`guest failed: ${r.status} ${r.text}`);
  return r.json();
}

test('timers: microtasks before timeouts, intervals with args, nesting, clearing', async () => {
  const out = await guest(`
    const order = [];
    setTimeout((a, b) => order.push('timeout0:' + a + b), 0, 'x', 'y');
    queueMicrotask(() => order.push('microtask'));
    Promise.resolve().then(() => order.push('promise'));
    const cleared = setTimeout(() => order.push('never'), 0);
    clearTimeout(cleared);
    order.push('sync');
    await new Promise((r) => setTimeout(r, 5));
    let n = 0;
    await new Promise((resolve) => {
      const id = setInterval((tag) => { order.push('interval:' + tag + ++n); if (n === 3) { clearInterval(id); resolve(); } }, 1, 'A');
    });
    await new Promise((resolve) => setTimeout(() => { order.push('outer'); setTimeout(() => { order.push('inner'); resolve(); }, 0); Promise.resolve().then(() => order.push('outer-micro')); }, 0));
    const late = setTimeout(() => order.push('late'), 20);
    const early = setTimeout(() => order.push('early'), 1);
    await new Promise((r) => setTimeout(r, 40));
    return Response.json({ order, ids: [typeof late, late !== early], badCallback: (() => { try { setTimeout('code'); } catch (e) { return e.constructor.name; } })() });
  `);
  expect(out).toEqual({
    order: ['sync', 'microtask', 'promise', 'timeout0:xy', 'interval:A1', 'interval:A2', 'interval:A3', 'outer', 'outer-micro', 'inner', 'early', 'late'],
    ids: ['number', true],
    badCallback: 'TypeError',
  });
});

test('ctx.waitUntil keeps working after the response; rejections are logged', async () => {
  const r = await invokeSource(`export default { fetch(request, env, ctx) {
    ctx.waitUntil(new Promise((resolve) => setTimeout(() => { console.log('background done'); resolve(); }, 20)));
    ctx.waitUntil(Promise.reject(new Error('boom')));
    ctx.passThroughOnException();
    return new Response('sent');
  } }`);
  expect(r.text).toBe('sent');
  expect(r.logs.map((l) => l.text)).toContain('background done');
  const err = r.logs.find((l) => l.level === 'error');
  expect(err?.text).toMatch(/^Uncaught \(in waitUntil promise\) Error: boom/);
});

test('AbortController, AbortSignal and EventTarget', async () => {
  const out = await guest(`
    const seen = [];
    const c = new AbortController();
    const s = c.signal;
    s.onabort = (e) => seen.push('onabort:' + e.type);
    s.addEventListener('abort', () => seen.push('listener'), { once: true });
    const before = [s.aborted, s.reason];
    c.abort('why');
    c.abort('again');
    let thrown; try { s.throwIfAborted(); } catch (e) { thrown = e; }
    const d = new AbortController(); d.abort();
    const pre = AbortSignal.abort();
    const t = AbortSignal.timeout(5);
    const any = AbortSignal.any([new AbortController().signal, t]);
    await new Promise((r) => setTimeout(r, 30));
    let illegal; try { new AbortSignal(); } catch (e) { illegal = e.constructor.name; }
    const et = new EventTarget(); let hits = 0; const l = () => hits++;
    et.addEventListener('ping', l); et.addEventListener('ping', l); et.dispatchEvent(new Event('ping'));
    et.removeEventListener('ping', l); et.dispatchEvent(new Event('ping'));
    return Response.json({
      before, after: [s.aborted, s.reason], seen, thrown, defaultReason: [d.signal.reason.name, d.signal.reason instanceof DOMException],
      pre: [pre.aborted, pre.reason.name], timeout: [t.aborted, t.reason.name], any: [any.aborted, any.reason.name], illegal, hits,
      tag: Object.prototype.toString.call(s),
    });
  `);
  expect(out).toEqual({
    before: [false, null],
    after: [true, 'why'],
    seen: ['onabort:abort', 'listener'],
    thrown: 'why',
    defaultReason: ['AbortError', true],
    pre: [true, 'AbortError'],
    timeout: [true, 'TimeoutError'],
    any: [true, 'TimeoutError'],
    illegal: 'TypeError',
    hits: 1,
    tag: '[object AbortSignal]',
  });
});

test('console: levels, placeholders and a compact inspect', async () => {
  const r = await invokeSource(`class Point { constructor() { this.x = 1; this.y = [2, { z: { deep: { deeper: 1 } } }]; } }
  export default { fetch() {
    console.log('a %s b %d %i %f %j %o %% %c!', 'str', 42, '3.9', '2.5', { a: 1 }, [1], 'color: red', 'extra');
    console.info({ s: 'q', n: -0, u: undefined, nul: null, b: true, big: 10n, sym: Symbol('t'), f: function named() {}, arrow: () => 1, 'odd-key': 1 });
    console.warn([1, , 3], new Map([['k', { v: 1 }]]), new Set([1, 'two']), new Point());
    const cyc = { name: 'c' }; cyc.self = cyc;
    console.error(cyc, new Uint8Array([1, 2]), new Date(0), /re/g, Object.create(null));
    console.debug(new Headers({ 'content-type': 'text/plain' }), new Response('x', { status: 201 }));
    console.log(new TypeError('bad thing'));
    console.log(new URL('https://a.b/c?d=1').searchParams);
    console.time('t'); console.timeEnd('t');
    console.count(); console.count();
    console.group('g'); console.log('inside'); console.groupEnd(); console.log('outside');
    console.assert(1 === 2, 'math is broken');
    const log = console.log; log('unbound works');
    return new Response('ok');
  } }`);
  const texts = r.logs.map((l) => `${l.level}|${l.text}`);
  expect(texts[0]).toBe("log|a str b 42 3 2.5 {\"a\":1} [ 1 ] % ! extra");
  // (the compiler's minifier may rename the named function expression)
  expect(texts[1]).toMatch(/^info\|\{ s: 'q', n: -0, u: undefined, nul: null, b: true, big: 10n, sym: Symbol\(t\), f: \[Function: \w+\], arrow: \[Function: arrow\], 'odd-key': 1 \}$/);
  expect(texts[2]).toMatch(/^warn\|\[ 1, <1 empty item>, 3 \] Map\(1\) \{ 'k' => \{ v: 1 \} \} Set\(2\) \{ 1, 'two' \} \w+ \{ x: 1, y: \[ 2, \{ z: \[Object\] \} \] \}$/);
  expect(texts[3]).toBe("error|{ name: 'c', self: [Circular *1] } Uint8Array(2) [ 1, 2 ] 1970-01-01T00:00:00.000Z /re/g [Object: null prototype] {}");
  expect(texts[4]).toMatch(/^debug\|Headers \{ 'content-type': 'text\/plain' \} Response \{ status: 201, ok: true, statusText: '', headers: Headers \{ 'content-type': 'text\/plain;charset=UTF-8' \}/);
  expect(texts[5]).toMatch(/^log\|TypeError: bad thing\n {4}at fetch/);
  expect(texts[6]).toBe("log|URLSearchParams { d: '1' }");
  expect(texts[7]).toMatch(/^info\|t: \d+\.\d{3}ms$/);
  expect(texts.slice(8)).toEqual(['info|default: 1', 'info|default: 2', 'log|g', 'log|  inside', 'log|outside', 'error|Assertion failed: math is broken', 'log|unbound works']);
});

test('module top-level console output and globals behave like ordinary globals', async () => {
  const name = await deploySource(`
    const lazyBefore = Object.getOwnPropertyNames(globalThis).includes('URL');
    globalThis.fetch = async () => new Response('mine');
    export default { async fetch() {
      const replaced = await (await fetch('https://x')).text();
      const types = [typeof URL, typeof TextEncoder, typeof structuredClone, typeof crypto, typeof AbortController, typeof atob, typeof performance.now, typeof self, self === globalThis];
      const enumerable = Object.keys(globalThis).filter((k) => k !== 'performance'); // QuickJS-NG's own performance is enumerable
      delete globalThis.TextDecoder;
      return Response.json({ lazyBefore, replaced, types, enumerable, deleted: typeof TextDecoder, url: Object.getOwnPropertyDescriptor(globalThis, 'URL'), hostHidden: typeof __faas_host + typeof __faas_define });
    } }`);
  const out = (await invoke(name)).json();
  expect(out).toEqual({
    lazyBefore: true,
    replaced: 'mine',
    types: ['function', 'function', 'function', 'object', 'function', 'function', 'function', 'object', true],
    enumerable: [],
    deleted: 'undefined',
    url: { writable: true, enumerable: false, configurable: true },
    hostHidden: 'undefinedundefined',
  });
});

test('CustomEvent, the Event phase constants, isTrusted, phases and the legacy members (DOM Standard)', async () => {
  const out = await guest(`
    const t = new EventTarget();
    const seen = [];
    t.addEventListener('ping', (e) => seen.push([e.detail, e.eventPhase, e.currentTarget === t, e.isTrusted, e instanceof Event, e.composedPath().length]));
    const ce = new CustomEvent('ping', { detail: { n: 1 }, cancelable: true });
    t.dispatchEvent(ce);
    const after = [ce.eventPhase, ce.currentTarget, ce.target === t, ce.composedPath().length];
    const plain = new CustomEvent('x');
    plain.initCustomEvent('y', true, true, 42);
    const constants = ['NONE', 'CAPTURING_PHASE', 'AT_TARGET', 'BUBBLING_PHASE'].map((k) => {
      const d = Object.getOwnPropertyDescriptor(Event, k);
      return [Event[k], Event.prototype[k], ce[k], CustomEvent[k], d.enumerable, d.writable, d.configurable];
    });
    const d1 = Object.getOwnPropertyDescriptor(new Event('a'), 'isTrusted');
    const d2 = Object.getOwnPropertyDescriptor(new CustomEvent('b'), 'isTrusted');
    const legacy = new Event('l', { cancelable: true });
    legacy.returnValue = false;
    const stopped = new Event('s');
    stopped.cancelBubble = true;
    const re = new Event('r');
    re.initEvent('renamed', true, false);
    const c = new AbortController();
    let trusted;
    c.signal.addEventListener('abort', (e) => { trusted = [e.isTrusted, e.type, e.eventPhase]; });
    c.abort();
    const timeout = await new Promise((resolve) => AbortSignal.timeout(1).onabort = (e) => resolve(e.isTrusted));
    let reentrant;
    const t2 = new EventTarget();
    t2.addEventListener('again', (e) => { try { t2.dispatchEvent(e); } catch (err) { reentrant = err.name; } });
    t2.dispatchEvent(new Event('again'));
    return Response.json({
      seen, after, detail: [plain.type, plain.bubbles, plain.detail, new CustomEvent('z').detail, Object.prototype.toString.call(ce), CustomEvent.name],
      constants, isTrusted: [typeof d1.get, d1.get === d2.get, d1.enumerable, d1.configurable, new Event('a').isTrusted, 'isTrusted' in Event.prototype],
      legacy: [legacy.defaultPrevented, legacy.returnValue, stopped.cancelBubble, re.type, re.bubbles], trusted, timeout, reentrant,
      badInit: (() => { try { new Event('x', 5); return 'no error'; } catch (e) { return e.name; } })(),
    });
  `);
  expect(out).toEqual({
    seen: [[{ n: 1 }, 2, true, false, true, 1]],
    after: [0, null, true, 0],
    detail: ['y', true, 42, null, '[object CustomEvent]', 'CustomEvent'],
    constants: [[0, 0, 0, 0, true, false, false], [1, 1, 1, 1, true, false, false], [2, 2, 2, 2, true, false, false], [3, 3, 3, 3, true, false, false]],
    isTrusted: ['function', true, true, false, false, false],
    legacy: [true, false, true, 'renamed', true],
    trusted: [true, 'abort', 2],
    timeout: true,
    reentrant: 'InvalidStateError',
    badInit: 'TypeError',
  });
});

test('AbortSignal.any: dependents take the reason before any abort event, events fire source first (WPT abort-signal-any)', async () => {
  const out = await guest(`
    const c = new AbortController();
    const signals = [c.signal];
    signals.push(AbortSignal.any([c.signal]));
    signals.push(AbortSignal.any([c.signal]));
    signals.push(AbortSignal.any([signals[0]]));
    signals.push(AbortSignal.any([signals[1]]));
    let order = '';
    signals.forEach((s, i) => s.addEventListener('abort', () => { order += i; }));
    let seenInListener;
    c.signal.addEventListener('abort', () => {
      const late = AbortSignal.any([signals[4]]);
      seenInListener = [signals[1].aborted, signals[4].aborted, late.aborted, late.reason === c.signal.reason];
    });
    c.abort();

    const c1 = new AbortController(), c2 = new AbortController();
    const both = AbortSignal.any([c1.signal, c2.signal]);
    both.addEventListener('abort', () => c2.abort('reason 2'));
    c1.abort('reason 1');

    let chained = AbortSignal.any([new AbortController().signal]);
    const c3 = new AbortController();
    chained = AbortSignal.any([c3.signal]);
    for (let i = 0; i < 3; i++) chained = AbortSignal.any([chained]);
    let chainedFired = false;
    chained.onabort = () => { chainedFired = true; };
    c3.abort('the reason');

    const pre = AbortSignal.abort();
    const dependentOfAborted = AbortSignal.any([pre]);
    const c4 = new AbortController();
    const later = AbortSignal.any([c4.signal, c4.signal]);
    c4.abort();
    const timed = await new Promise((resolve) => { const s = AbortSignal.any([new AbortController().signal, AbortSignal.timeout(2)]); s.onabort = () => resolve(s.reason.name); });
    return Response.json({ order, seenInListener, reentrant: [both.reason, c2.signal.reason], chained: [chainedFired, chained.reason],
      same: [dependentOfAborted.reason === pre.reason, later.reason === c4.signal.reason, later.reason.name], timed, empty: AbortSignal.any([]).aborted });
  `);
  expect(out).toEqual({
    order: '01234',
    seenInListener: [true, true, true, true],
    reentrant: ['reason 1', 'reason 2'],
    chained: [true, 'the reason'],
    same: [true, true, 'AbortError'],
    timed: 'TimeoutError',
    empty: false,
  });
});
