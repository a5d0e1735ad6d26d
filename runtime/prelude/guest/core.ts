/**
 * The core prelude: what nearly every function touches. Evaluated once per instance before user code;
 * its completion value is the internal API object the host keeps (see dispatch.ts).
 */
import { consoleState, emit, format, inspect, makeConsole } from './console.ts';
import { attach, dispatch, scheduled, settle } from './dispatch.ts';
import { bindHost, call, type HostFn } from './host.ts';
import { lazyGlobals, loaded, need, setChunkHost } from './lazy.ts';
import { Request, absoluteUrl, explicitSignal, outgoingParts, requestHeaderList } from './request.ts';
import { Response, fetchedResponse } from './response.ts';
import { extractBody, hasBody, takeBody, toBytes } from './body.ts';
import { guardStackTraces } from './stack-guard.ts';
import { dropTimers, fireTimer, pendingTimers, timerGlobals } from './timers.ts';
import { defineGlobal, g } from './util.ts';

const host: HostFn = g.__faas_host;
delete g.__faas_host;
bindHost(host);
guardStackTraces();

const nativeDOMException = typeof g.DOMException === 'function';
let domException = g.DOMException;
const now = typeof g.performance?.now === 'function' ? () => g.performance.now() : () => call('now') as number;

setChunkHost(host, () => ({
  need,
  loaded,
  get DOMException() {
    return domException;
  },
  Request,
  Response,
  get Headers() {
    return need('headers').Headers;
  },
  requestHeaderList,
  requestParts: outgoingParts,
  fetchedResponse,
  requestSignal: explicitSignal,
  takeBody,
  hasBody,
  extractBody,
  absoluteUrl,
  toBytes,
  console: { emit, format, inspect, state: consoleState, now },
  setTimeout: timerGlobals.setTimeout,
  clearTimeout: timerGlobals.clearTimeout,
}));

defineGlobal('Request', Request);
defineGlobal('Response', Response);
defineGlobal('console', makeConsole());
for (const name in timerGlobals) defineGlobal(name, timerGlobals[name as keyof typeof timerGlobals]);
defineGlobal('self', g);
if (!nativeDOMException) defineGlobal('DOMException', (domException = need('dom-exception').DOMException));
if (typeof g.queueMicrotask !== 'function') {
  defineGlobal('queueMicrotask', (cb: () => void) => {
    if (typeof cb !== 'function') throw new TypeError('queueMicrotask: callback must be a function');
    Promise.resolve().then(cb);
  });
}
if (typeof g.performance !== 'object') defineGlobal('performance', { now, timeOrigin: Date.now() - now() });

lazyGlobals('headers', ['Headers']);
lazyGlobals('url', ['URL', 'URLSearchParams']);
lazyGlobals('encoding', ['TextEncoder', 'TextDecoder']);
lazyGlobals('crypto', ['crypto', 'Crypto', 'CryptoKey', 'SubtleCrypto']);
lazyGlobals('clone', ['structuredClone']);
lazyGlobals('abort', ['AbortController', 'AbortSignal', 'Event', 'EventTarget']);
lazyGlobals('fetch', ['fetch']);
if (typeof g.atob !== 'function' || typeof g.btoa !== 'function') lazyGlobals('base64', ['atob', 'btoa']);

export default { attach, dispatch, settle, scheduled, fireTimer, dropTimers, pendingTimers };
