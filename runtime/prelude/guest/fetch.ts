import { call, internals, type FetchedResponse } from './host.ts';
import { typedArrayKind } from './safe.ts';
import { METHOD, REDIRECT, SIGNAL, URL_, nullBodyStatus } from './slots.ts';

/**
 * fetch is performed by the host (which enforces the egress allowlist); the guest builds the Request
 * with the core's own classes and honours `signal` by rejecting early. An aborted upstream request is
 * left to finish on the host; its result is ignored (a streamed response body of it is released when
 * the invocation ends). The response body arrives as a host stream unless the host had it whole.
 */
export async function fetch(input: unknown, init?: any): Promise<unknown> {
  const request = new internals.Request(input, init);
  const s = internals.requestState(request)!;
  const signal = s[SIGNAL];
  // a signal given to a Request is an AbortSignal (so the abort chunk is loaded) or a look-alike
  const abort = signal ? internals.need('abort') : undefined;
  if (abort) {
    const state = abort.abortState(signal);
    if (state[0]) throw state[1];
  }
  // the body is taken (marked used) before the headers are read, as the Request's own methods do
  const src = internals.takeBody(request);
  const list = internals.headerList(s);
  const headers: [string, string][] = [];
  for (let i = 0; i < list.length; i += 2) headers[i >> 1] = [list[i]!, list[i + 1]!];
  const head = JSONStringify({ method: s[METHOD], url: s[URL_], headers, redirect: s[REDIRECT] });
  // a request body goes whole: a stream given as one is read to its end first
  const body: Uint8Array | null =
    src === null || typeof src === 'string' ? (src === null ? null : internals.toBytes(src)) : typeof src === 'number' ? await internals.readHost(src) : typedArrayKind(src) === 'Uint8Array' ? (src as Uint8Array) : await internals.need('stream').readAll(src);
  const pending: Promise<FetchedResponse> = call('fetch', head, body);
  const result = abort ? await abortable(pending, signal, abort) : await pending;
  return fetchedResponse(result);
}

/** The Response the host's answer makes: type "basic", its headers' names lowercased, a null-body status without a body. */
function fetchedResponse(r: FetchedResponse): unknown {
  const list: string[] = [];
  const pairs = r.headers;
  for (let i = 0; i < pairs.length; i++) callWith(ArrayPrototypePush, list, callWith(StringPrototypeToLowerCase, String(pairs[i]![0])), String(pairs[i]![1]));
  const body = nullBodyStatus(r.status) ? null : typeof r.stream === 'number' ? r.stream : r.body ? new Uint8Array(r.body) : null;
  return internals.trustedResponse([body, false, null, null, list, true, r.status, r.statusText, 'basic', r.url, r.redirected]);
}

function abortable<T>(p: Promise<T>, signal: any, abort: any): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stop: () => void = abort.onAbort(signal, () => reject(abort.abortState(signal)[1]));
    callWith(
      PromisePrototypeThen,
      p,
      (v: T) => {
        stop();
        resolve(v);
      },
      (e: unknown) => {
        stop();
        reject(e);
      },
    );
  });
}
