import { expect, test } from 'vitest';
import { FAAS_VERSION } from '../../contract/version.ts';
import { engineUnderTest, invokeSource } from '../../test/helpers/sandbox.ts';

/** navigator, reportError, performance and DOMException: the small platform globals. */

async function guest(body: string) {
  const r = await invokeSource(`export default { async fetch(request, env, ctx) { ${body} } }`);
  if (r.status !== 200) throw new Error(`guest failed: ${r.status} ${r.text}`);
  return r;
}

test("navigator.userAgent names faas and starts the way Hono's getRuntimeKey() recognises Workers", async () => {
  const r = await guest(`
    // hono/src/helper/adapter: getRuntimeKey() checks navigator.userAgent.startsWith(...) for each runtime
    const known = { deno: 'Deno', bun: 'Bun', workerd: 'Cloudflare-Workers', node: 'Node.js' };
    const runtimeKey = Object.entries(known).find(([, ua]) => navigator.userAgent.startsWith(ua))?.[0] ?? 'other';
    let illegal; try { new navigator.constructor(); } catch (e) { illegal = e.constructor.name; }
    return Response.json({ ua: navigator.userAgent, runtimeKey, language: navigator.language, languages: navigator.languages,
      cores: navigator.hardwareConcurrency, tag: Object.prototype.toString.call(navigator), illegal, own: Object.keys(navigator) });
  `);
  expect(r.json()).toEqual({
    ua: `Cloudflare-Workers (faas/${FAAS_VERSION})`,
    runtimeKey: 'workerd',
    language: 'en-US',
    languages: ['en-US'],
    cores: 1,
    tag: '[object Navigator]',
    illegal: 'TypeError',
    own: [],
  });
});

test('reportError logs the error as uncaught and returns; it needs an argument', async () => {
  const r = await guest(`
    reportError(new TypeError('reported'));
    reportError('a string');
    return Response.json({ length: reportError.length, name: reportError.name, returned: reportError(1) ?? 'undefined' });
  `);
  expect(r.json()).toEqual({ length: 1, name: 'reportError', returned: 'undefined' });
  const errors = r.logs.filter((l) => l.level === 'error').map((l) => l.text);
  expect(errors[0]).toMatch(/^Uncaught TypeError: reported/);
  expect(errors[1]).toBe('Uncaught a string');
});

test('performance.timeOrigin + performance.now() is the current time, and now() counts from the global\'s creation', async () => {
  const before = Date.now();
  const r = await guest(`
    const a = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const b = performance.now();
    return Response.json({ a, b, origin: performance.timeOrigin, sum: performance.timeOrigin + b, date: Date.now() });
  `);
  const { a, b, origin, sum, date } = r.json();
  expect(b - a).toBeGreaterThanOrEqual(15);
  expect(Math.abs(sum - date)).toBeLessThan(50);
  // the origin is this sandbox's, not the host process's: no earlier than the runtime this file made
  expect(origin).toBeGreaterThan(before - 60_000);
  expect(origin).toBeLessThanOrEqual(date);
  expect(a).toBeGreaterThanOrEqual(0);
});

/**
 * quickjs-wasi runs QuickJS-NG's own DOMException, the quickjs-emscripten engine the prelude's
 * stand-in; both must follow Web IDL. The options form (`{ name, cause }`, as Node has it) is the
 * stand-in's only: QuickJS-NG's takes a name.
 */
test('DOMException: the names with their legacy codes, the constants, getters on the prototype, the options form', async () => {
  const r = await guest(`
    const names = ['IndexSizeError', 'HierarchyRequestError', 'WrongDocumentError', 'InvalidCharacterError', 'NoModificationAllowedError',
      'NotFoundError', 'NotSupportedError', 'InUseAttributeError', 'InvalidStateError', 'SyntaxError', 'InvalidModificationError',
      'NamespaceError', 'InvalidAccessError', 'TypeMismatchError', 'SecurityError', 'NetworkError', 'AbortError', 'URLMismatchError',
      'QuotaExceededError', 'TimeoutError', 'InvalidNodeTypeError', 'DataCloneError', 'EncodingError', 'NotReadableError', 'OperationError', 'Bogus'];
    const constants = ['INDEX_SIZE_ERR', 'DOMSTRING_SIZE_ERR', 'HIERARCHY_REQUEST_ERR', 'WRONG_DOCUMENT_ERR', 'INVALID_CHARACTER_ERR',
      'NO_DATA_ALLOWED_ERR', 'NO_MODIFICATION_ALLOWED_ERR', 'NOT_FOUND_ERR', 'NOT_SUPPORTED_ERR', 'INUSE_ATTRIBUTE_ERR', 'INVALID_STATE_ERR',
      'SYNTAX_ERR', 'INVALID_MODIFICATION_ERR', 'NAMESPACE_ERR', 'INVALID_ACCESS_ERR', 'VALIDATION_ERR', 'TYPE_MISMATCH_ERR', 'SECURITY_ERR',
      'NETWORK_ERR', 'ABORT_ERR', 'URL_MISMATCH_ERR', 'QUOTA_EXCEEDED_ERR', 'TIMEOUT_ERR', 'INVALID_NODE_TYPE_ERR', 'DATA_CLONE_ERR'];
    const e = new DOMException('boom', 'AbortError');
    const d = new DOMException();
    const withCause = new DOMException('m', { name: 'DataCloneError', cause: 42 });
    const protoGetters = ['name', 'message', 'code'].map((k) => typeof Object.getOwnPropertyDescriptor(DOMException.prototype, k)?.get);
    return Response.json({
      codes: names.map((n) => new DOMException('', n).code),
      constants: constants.map((k) => [DOMException[k], DOMException.prototype[k], e[k], Object.getOwnPropertyDescriptor(DOMException, k).writable]),
      e: [e.name, e.message, e.code, String(e), e instanceof Error, Object.prototype.toString.call(e)],
      d: [d.name, d.message, d.code],
      withCause: [withCause.name, withCause.code, withCause.cause],
      protoGetters, ownNames: Object.keys(e),
      illegal: (() => { try { return Object.getOwnPropertyDescriptor(DOMException.prototype, 'code').get.call({}); } catch (err) { return err.constructor.name; } })(),
    });
  `);
  expect(r.json()).toEqual({
    codes: [1, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 22, 23, 24, 25, 0, 0, 0, 0],
    constants: Array.from({ length: 25 }, (_, i) => [i + 1, i + 1, i + 1, false]),
    e: ['AbortError', 'boom', 20, 'AbortError: boom', true, '[object DOMException]'],
    d: ['Error', '', 0],
    withCause: engineUnderTest.engine?.includes('emscripten') ? ['DataCloneError', 25, 42] : ['[object Object]', 0, null],
    protoGetters: ['function', 'function', 'function'],
    ownNames: [],
    illegal: 'TypeError',
  });
});
