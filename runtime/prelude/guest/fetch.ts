import { call, internals, type FetchedResponse } from './host.ts';

/**
 * fetch is performed by the host (which enforces the egress allowlist); the guest builds the Request
 * with the core's own classes and honours `signal` by rejecting early. An aborted upstream request is
 * left to finish on the host; its result is ignored.
 */
export async function fetch(input: unknown, init?: any): Promise<unknown> {
  const request = new internals.Request(input, init);
  const signal = internals.requestSignal(request) as any;
  if (signal?.aborted) throw signal.reason;
  const parts = internals.requestParts(request);
  const head = JSONStringify({ method: parts.method, url: parts.url, headers: parts.headers, redirect: parts.redirect });
  const pending: Promise<FetchedResponse> = call('fetch', head, parts.body);
  const result = signal ? await abortable(pending, signal) : await pending;
  return internals.fetchedResponse(result);
}

function abortable<T>(p: Promise<T>, signal: any): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
