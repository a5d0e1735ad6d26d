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
import { Request, absoluteUrl, explicitSignal, outgoingParts, requestFields, requestHeaderList } from './request.ts';
import { Response, fetchedResponse } from './response.ts';
import { bodyStream, bodyUsed, extractBody, hasBody, readHost, takeBody, toBytes } from './body.ts';
import { setIterate } from './headers.ts';
import { guardStackTraces } from './stack-guard.ts';
import { dropTimers, fireTimer, pendingTimers, timerGlobals } from './timers.ts';
import { defineGlobal, g } from './util.ts';

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

  const nativeDOMException = typeof g.DOMException === 'function';
  let domException = g.DOMException;
  const perf = g.performance;
  const perfNow = typeof perf?.now === 'function' ? perf.now : undefined;
  const now = perfNow ? () => callWith(perfNow, perf) as number : () => call('now') as number;

  setChunkInternals(() => ({
    host,
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
    requestFields,
    takeBody,
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
  defineGlobal('console', makeConsole());
  for (let i = 0; i < TIMER_GLOBALS.length; i++) defineGlobal(TIMER_GLOBALS[i]!, timerGlobals[TIMER_GLOBALS[i]!]);
  defineGlobal('self', g);
  if (!nativeDOMException) defineGlobal('DOMException', (domException = need('dom-exception').DOMException));
  setDomException(domException);
  if (typeof g.queueMicrotask !== 'function') {
    defineGlobal('queueMicrotask', (cb: () => void) => {
      if (typeof cb !== 'function') throw new TypeError('queueMicrotask: callback must be a function');
      callWith(PromisePrototypeThen, PromiseResolve(undefined), cb);
    });
  }
  if (typeof perf !== 'object') {
    // timeOrigin is taken on first read: at boot this sandbox has no owner to ask the host for the time
    let origin: number | undefined;
    defineGlobal('performance', {
      now,
      get timeOrigin() {
        return (origin ??= DateNow() - now());
      },
    });
  }

  lazyGlobals('headers', ['Headers']);
  lazyGlobals('url', ['URL', 'URLSearchParams']);
  lazyGlobals('encoding', ['TextEncoder', 'TextDecoder']);
  lazyGlobals('crypto', ['crypto', 'Crypto', 'CryptoKey', 'SubtleCrypto']);
  lazyGlobals('clone', ['structuredClone']);
  lazyGlobals('abort', ['AbortController', 'AbortSignal', 'Event', 'EventTarget']);
  lazyGlobals('fetch', ['fetch']);
  lazyGlobals('stream', STREAM_GLOBALS);
  lazyGlobals('compression', ['CompressionStream', 'DecompressionStream']);
  lazyGlobals('blob', ['Blob', 'File']);
  lazyGlobals('form-data', ['FormData']);
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
