import { call, internals, type FetchedResponse } from './host.ts';
import { typedArrayKind } from './safe.ts';

/**
 * fetch is performed by the host (which enforces the egress allowlist); the guest builds the Request
 * with the core's own classes and honours `signal` by rejecting early. An aborted upstream request is
 * left to finish on the host; its result is ignored (a streamed response body of it is released when
 * the invocation ends). The response body arrives as a host stream unless the host had it whole.
 */
export async function fetch(input: unknown, init?: any): Promise<unknown> {
  const request = new internals.Request(input, init);
  const signal = internals.requestSignal(request) as any;
  // a signal given to a Request is an AbortSignal (so the abort chunk is loaded) or a look-alike
  const abort = signal ? internals.need('abort') : undefined;
  if (abort) {
    const state = abort.abortState(signal);
    if (state[0]) throw state[1];
  }
  const parts = internals.requestParts(request);
  const head = JSONStringify({ method: parts.method, url: parts.url, headers: parts.headers, redirect: parts.redirect });
  // a request body goes whole: a stream given as one is read to its end first
  const src = parts.body;
  const body: Uint8Array | null =
    src === null || typeof src === 'string' ? (src === null ? null : internals.toBytes(src)) : typeof src === 'number' ? await internals.readHost(src) : typedArrayKind(src) === 'Uint8Array' ? (src as Uint8Array) : await internals.need('stream').readAll(src);
  const pending: Promise<FetchedResponse> = call('fetch', head, body);
  const result = abort ? await abortable(pending, signal, abort) : await pending;
  return internals.fetchedResponse(result);
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
