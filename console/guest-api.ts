/**
 * What the editor offers for completion: the guest globals of the faas prelude (README "Guest
 * globals") and the members of a function's handler arguments. A stand-in for the authoring kit's
 * type declarations: replace this module with completions generated from them when they exist;
 * the playground only needs `guestCompletions(word, before)`.
 */
export interface GuestCompletion {
  label: string;
  type: 'class' | 'function' | 'variable' | 'method' | 'property' | 'keyword';
  detail?: string;
  info?: string;
}

const GLOBALS: GuestCompletion[] = [
  { label: 'Request', type: 'class', info: 'A standard Request: method, url, headers, text(), json(), arrayBuffer(), clone()' },
  { label: 'Response', type: 'class', info: 'new Response(body, { status, headers }); Response.json(), Response.redirect(), Response.error()' },
  { label: 'Headers', type: 'class' },
  { label: 'URL', type: 'class' },
  { label: 'URLSearchParams', type: 'class' },
  { label: 'TextEncoder', type: 'class' },
  { label: 'TextDecoder', type: 'class', info: 'UTF-8; fatal and ignoreBOM' },
  { label: 'AbortController', type: 'class' },
  { label: 'AbortSignal', type: 'class', info: 'AbortSignal.abort(), AbortSignal.timeout(ms)' },
  { label: 'fetch', type: 'function', detail: '(input, init?) => Promise<Response>', info: 'Performed by the host under the function’s allowedHosts' },
  { label: 'console', type: 'variable', info: 'log, info, warn, error, debug: shown in the live logs' },
  { label: 'crypto', type: 'variable', info: 'getRandomValues, randomUUID, subtle (digest, importKey, sign, verify)' },
  { label: 'atob', type: 'function' },
  { label: 'btoa', type: 'function' },
  { label: 'setTimeout', type: 'function' },
  { label: 'clearTimeout', type: 'function' },
  { label: 'setInterval', type: 'function' },
  { label: 'clearInterval', type: 'function' },
  { label: 'queueMicrotask', type: 'function' },
  { label: 'structuredClone', type: 'function' },
  { label: 'performance', type: 'variable', info: 'performance.now()' },
];

const MEMBERS: Record<string, GuestCompletion[]> = {
  console: ['log', 'info', 'warn', 'error', 'debug'].map((label) => ({ label, type: 'method' as const })),
  crypto: [
    { label: 'getRandomValues', type: 'method' },
    { label: 'randomUUID', type: 'method' },
    { label: 'subtle', type: 'property', info: 'digest (SHA-1/256/384/512), importKey + sign/verify (HMAC)' },
  ],
  Response: [
    { label: 'json', type: 'method', detail: '(data, init?) => Response' },
    { label: 'redirect', type: 'method', detail: '(url, status?) => Response' },
    { label: 'error', type: 'method' },
  ],
  request: ['method', 'url', 'headers', 'body', 'signal'].map((label) => ({ label, type: 'property' as const })).concat(
    ['text', 'json', 'arrayBuffer', 'bytes', 'clone', 'formData'].map((label) => ({ label, type: 'property' as const })),
  ),
  ctx: [{ label: 'waitUntil', type: 'method', detail: '(promise) => void', info: 'Keeps the instance working after the response, within timeoutMs' }],
  env: [{ label: 'MY_KV', type: 'property', info: 'Bindings: vars and secrets (strings), KV namespaces (get, put, delete, list, getWithMetadata)' }],
  performance: [{ label: 'now', type: 'method' }],
  AbortSignal: [
    { label: 'abort', type: 'method' },
    { label: 'timeout', type: 'method' },
    { label: 'any', type: 'method' },
  ],
};

const KV_METHODS: GuestCompletion[] = ['get', 'getWithMetadata', 'put', 'delete', 'list'].map((label) => ({ label, type: 'method' as const }));

/** Completions for the identifier being typed; `object` is the name before a dot, if any. */
export function guestCompletions(object: string | undefined): GuestCompletion[] {
  if (object === undefined) return GLOBALS;
  if (/^[A-Z][A-Z0-9_]*$/.test(object)) return KV_METHODS;
  return MEMBERS[object] ?? MEMBERS[object.toLowerCase()] ?? [];
}

export const TEMPLATE = `export default {
  async fetch(request: Request, env: Record<string, unknown>, ctx: { waitUntil(p: Promise<unknown>): void }): Promise<Response> {
    const url = new URL(request.url);
    console.log('hello from', url.pathname);
    return Response.json({ hello: url.searchParams.get('name') ?? 'world' });
  },
};
`;
