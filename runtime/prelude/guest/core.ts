/**
 * The core prelude: what nearly every function touches. Evaluated once per sandbox before user code.
 * The script's completion value is `boot`, which the engine calls once with the host function; it
 * installs the globals and returns the internal API the host drives (see dispatch.ts). Neither the
 * host function nor the API is ever put on the global object.
 */
import { consoleState, emit, format, inspect, makeConsole } from './console.ts';
import { attach, dispatch, scheduled, settle, watch } from './dispatch.ts';
import { bindHost, call, setDomException, type HostFn } from './host.ts';
import { lazyGlobals, loaded, need, setChunkInternals } from './lazy.ts';
import { Request, absoluteUrl, requestState } from './request.ts';
import { Response, trustedResponse } from './response.ts';
import { bodyStream, bodyUsed, cloneSource, currentList, extractBody, hasBody, readHost, takeBody, toBytes } from './body.ts';
import { setIterate } from './headers.ts';
import { guardStackTraces } from './stack-guard.ts';
import { installLocaleStubs } from './intl-stubs.ts';
import { dropTimers, fireTimer, pendingTimers, timerGlobals } from './timers.ts';
import { defineGlobal, g } from './util.ts';

/** Not a chunk: the core's own entry in `loaded`, whose `console` getter makes the console object. */
const CONSOLE = 'core-console';
const TIMER_GLOBALS = ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'] as const;
/**
 * The streams a function makes itself. The readers' and controllers' classes (which only a stream
 * hands out) become globals when the chunk loads (chunks/stream.ts): each lazy global costs every
 * instance heap, used or not.
 */
const STREAM_GLOBALS = ['ReadableStream', 'WritableStream', 'TransformStream', 'ByteLengthQueuingStrategy', 'CountQueuingStrategy', 'TextEncoderStream', 'TextDecoderStream'];

export default function boot(host: HostFn): object {
  bindHost(host);
  guardStackTraces();
  setIterate((x) => need('headers').listFrom(x));

  const nativeDOMException = typeof g.DOMException === 'function' ? g.DOMException : undefined;
  // the stand-in (Bellard's QuickJS has none) is a chunk, loaded when first needed
  const domException = () => nativeDOMException ?? need('dom-exception').DOMException;
  const perf = g.performance;
  const perfNow = typeof perf?.now === 'function' ? perf.now : undefined;
  // Without a native performance (Bellard's QuickJS), the time origin is when this global was made
  // and now() counts from it on the host's monotonic clock, lined up with it on first use (at boot
  // this sandbox has no owner to ask the host for the time); the host's own origin is none of its business
  const origin = perfNow ? 0 : DateNow();
  let base: number | undefined;
  const now = perfNow
    ? () => callWith(perfNow, perf) as number
    : () => {
        const t = call('now') as number;
        return t - (base ??= t - (DateNow() - origin));
      };

  setChunkInternals(() => ({
    host,
    need,
    loaded,
    get DOMException() {
      return domException();
    },
    Request,
    Response,
    get Headers() {
      return need('headers').Headers;
    },
    requestState,
    headerList: currentList,
    trustedResponse,
    takeBody,
    cloneSource,
    bodyUsed,
    bodyStream,
    hasBody,
    extractBody,
    absoluteUrl,
    toBytes,
    readHost,
    console: { emit, format, inspect, state: consoleState, now },
    setTimeout: timerGlobals.setTimeout,
    clearTimeout: timerGlobals.clearTimeout,
  }));

  defineGlobal('Request', Request);
  defineGlobal('Response', Response);
  // the console (seventeen methods) is made on first touch: a function that never logs never pays for it
  loaded[CONSOLE] = { __proto__: null, get console() { return makeConsole(); } };
  lazyGlobals(CONSOLE, ['console']);
  for (let i = 0; i < TIMER_GLOBALS.length; i++) defineGlobal(TIMER_GLOBALS[i]!, timerGlobals[TIMER_GLOBALS[i]!]);
  defineGlobal('self', g);
  if (!nativeDOMException) lazyGlobals('dom-exception', ['DOMException']);
  setDomException(domException);
  if (typeof g.queueMicrotask !== 'function') {
    defineGlobal('queueMicrotask', (cb: () => void) => {
      if (typeof cb !== 'function') throw new TypeError('queueMicrotask: callback must be a function');
      callWith(PromisePrototypeThen, PromiseResolve(undefined), cb);
    });
  }
  if (typeof perf !== 'object') {
    defineGlobal('performance', {
      now,
      get timeOrigin() {
        return origin;
      },
    });
  }

  lazyGlobals('headers', ['Headers']);
  lazyGlobals('url', ['URL', 'URLSearchParams']);
  lazyGlobals('encoding', ['TextEncoder', 'TextDecoder']);
  lazyGlobals('crypto', ['crypto', 'Crypto', 'SubtleCrypto']);
  lazyGlobals('subtle', ['CryptoKey']);
  lazyGlobals('clone', ['structuredClone']);
  lazyGlobals('abort', ['AbortController', 'AbortSignal', 'Event', 'EventTarget', 'CustomEvent']);
  lazyGlobals('fetch', ['fetch']);
  lazyGlobals('stream', STREAM_GLOBALS);
  lazyGlobals('compression', ['CompressionStream', 'DecompressionStream']);
  lazyGlobals('blob', ['Blob', 'File']);
  lazyGlobals('form-data', ['FormData']);
  lazyGlobals('intl', ['Intl']);
  lazyGlobals('navigator', ['navigator']);
  lazyGlobals('urlpattern', ['URLPattern']);
  lazyGlobals('console', ['reportError']);
  installLocaleStubs();
  if (typeof g.atob !== 'function' || typeof g.btoa !== 'function') lazyGlobals('base64', ['atob', 'btoa']);

  const api = ObjectCreate(null);
  api.attach = attach;
  api.dispatch = dispatch;
  api.settle = settle;
  api.scheduled = scheduled;
  api.fireTimer = fireTimer;
  api.dropTimers = dropTimers;
  api.pendingTimers = pendingTimers;
  api.watch = watch;
  // the host's side of a streamed response body (see streams.ts): the next piece, or (with a reason) giving up
  api.pull = (id: number, reason?: string) => {
    const st = loaded.stream;
    return !st ? null : reason === undefined ? st.pull(id) : st.cancel(id, reason);
  };
  api.parseJson = (text: string) => JSONParse(text);
  /** A string as JSON text: lets an engine whose string copy mangles lone surrogates read it exactly. */
  api.quote = (text: string) => JSONStringify(text);
  /** The byte length of an ArrayBuffer, or -1: lets an engine without a type test tell them apart. */
  api.byteLength = (x: unknown) => {
    try {
      return callWith(ArrayBufferPrototypeGetByteLength, x as ArrayBuffer);
    } catch {
      return -1;
    }
  };
  return ObjectFreeze(api);
}
