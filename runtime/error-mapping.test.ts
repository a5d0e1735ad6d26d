/**
 * Errors a user can act on: a bare "not a function" names what was called; errors that a framework
 * catches and prints with console.error, and error objects put in an error response body, show the
 * user's source like uncaught ones (not the bundle's minified positions).
 */
import { describe, expect, it } from 'vitest';
import { FaasError } from '../contract/errors.ts';
import { invokeSource } from '../test/helpers/sandbox.ts';

async function uncaught(body: string): Promise<FaasError> {
  try {
    // values the bundler cannot fold (minifySyntax would inline a literal into the call)
    await invokeSource(`export default {\n  async fetch(req: Request) {\n    const o: any = JSON.parse('{"a":{}}'), f: any = JSON.parse('1');\n    ${body}\n    return new Response('');\n  },\n};\n`);
  } catch (err) {
    return err as FaasError;
  }
  throw new Error('did not fail');
}

describe('a bare "not a function" names the callee', () => {
  it.each([
    ['(req as any).buffer();', 'req.buffer is not a function'],
    ['o.a.tee(1, 2);', 'o.a.tee is not a function'],
    ['o?.a.getReader();', 'o?.a.getReader is not a function'],
    ['o.a["x"]();', 'o.a.x is not a function'],
    ['new o.Foo();', 'o.Foo is not a function'],
    ['const g = (x: any) => x; g(f)();', 'not a function'],
    ['((cb: any) => [cb()])(f);', 'cb is not a function'],
  ])('%s', async (body, message) => {
    const err = await uncaught(body);
    expect(err.code).toBe('function_error');
    expect(err.message).toMatch(message === 'not a function' ? /^Uncaught TypeError: \S*not a function$/ : new RegExp(`^Uncaught TypeError: ${message.replace(/[.?()[\]]/g, '\\$&')}$`));
    expect(err.detail!.stack).toMatch(/fn-\d+-\d+\.ts:4:/);
  });

  it('leaves other messages alone', async () => {
    expect((await uncaught('o.b.c;')).message).toBe("Uncaught TypeError: cannot read property 'c' of undefined");
  });
});

describe('caught errors show the user\'s source', () => {
  const source = `function inner(req: any) {
  return req.buffer();
}
export default {
  async fetch(req: Request) {
    try {
      await inner(req);
    } catch (e) {
      console.error('caught:', e);
      const err = e as Error;
      const json = new URL(req.url).pathname === '/json';
      return json
        ? Response.json({ error: { message: err.message, stack: err.stack } }, { status: 500 })
        : new Response(String(err.stack), { status: 500, headers: { 'content-type': 'text/plain', 'content-length': String(String(err.stack).length) } });
    }
    return new Response('');
  },
};
`;

  it('in console.error output', async () => {
    const res = await invokeSource(source, { path: '/json' });
    const line = res.logs.find((l) => l.level === 'error')!.text;
    expect(line).toMatch(/^caught: TypeError: req\.buffer is not a function\n {4}at inner \(fn-\d+-\d+\.ts:2:\d+\)\n {4}at fetch \(fn-\d+-\d+\.ts:7:\d+\)$/);
    expect(line).not.toMatch(/\.js:\d+:\d+|<null>/);
  });

  it('in a JSON error response body (the JSON stays valid)', async () => {
    const res = await invokeSource(source, { path: '/json' });
    expect(res.status).toBe(500);
    const body = res.json() as { error: { message: string; stack: string } };
    // the guest's own error.message is its engine's; frames are mapped
    expect(body.error.stack).toMatch(/at inner \(fn-\d+-\d+\.ts:2:\d+\)\n {4}at fetch \(fn-\d+-\d+\.ts:7:\d+\)/);
    expect(body.error.stack).not.toMatch(/<null>/);
  });

  it('in a plain-text error response body, with Content-Length following', async () => {
    const res = await invokeSource(source, { path: '/text' });
    expect(res.text).toMatch(/^ {4}at inner \(fn-\d+-\d+\.ts:2:\d+\)/);
    expect(Number(res.headers['content-length'])).toBe(new TextEncoder().encode(res.text).byteLength);
  });

  it('leaves successful responses alone', async () => {
    const res = await invokeSource(`export default { fetch() { try { null!.x; } catch (e) { return new Response((e as Error).stack); } return new Response(''); } };`);
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/\.js:1:\d+\)/);
  });
});
