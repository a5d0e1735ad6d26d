/**
 * The MCP endpoint under attack. run_code is hostile input by definition: a snippet that breaks out
 * of its wrapper, spins, hoards memory, floods the console, returns values built to trip the host,
 * reaches for the network or the gateway, or comes in a flood; a caller without a token, with
 * another tenant's names, or with oversized and malformed requests. After each: the gateway and a
 * neighbour still answer, and no one-call function is left behind.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, httpClient } from '../helpers/mcp.ts';
import { bounded, NEIGHBOUR, startAttackGateway, type AttackGateway } from './harness.ts';
import { lastJsonBody, rawHttp } from './raw-http.ts';

let t: AttackGateway;
let root: Client;
let attacker: Client;
let attackerToken: string;

const post = (body: unknown, token: string | null = attackerToken, headers: Record<string, string> = {}) =>
  fetch(`${t.url}/mcp`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-03-26',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
  });
const runCode = (id: number, code: string) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'run_code', arguments: { code } } });

/** Nothing of a one-call function is left: not in the runtime, the registry, the metrics. */
async function nothingLeftBehind(): Promise<void> {
  expect(t.gw.runtime.list().map((f) => f.name)).toEqual(expect.not.arrayContaining([expect.stringContaining('run_code')]));
  expect(t.gw.registry.list().map((f) => f.name)).toEqual(expect.not.arrayContaining([expect.stringContaining('run_code')]));
  expect(await (await fetch(`${t.url}/metrics`)).text()).not.toMatch(/run_code#/);
}

beforeAll(async () => {
  t = await startAttackGateway();
  expect((await t.admin('POST', '/admin/tenants', { name: 'attacker' })).status).toBe(201);
  expect((await t.admin('POST', '/admin/tenants', { name: 'victim' })).status).toBe(201);
  attackerToken = ((await (await t.admin('POST', '/admin/tenants/attacker/tokens', {})).json()) as { token: string }).token;
  const victimToken = ((await (await t.admin('POST', '/admin/tenants/victim/tokens', {})).json()) as { token: string }).token;
  const res = await t.admin('PUT', '/admin/functions/victim-fn', { source: `export default { fetch() { return new Response('victim'); } };`, filename: 'v.ts', config: { routes: ['mcp-claim.test/*'] } }, victimToken);
  expect(res.status).toBe(201);
  root = await httpClient(t.url, t.token);
  attacker = await httpClient(t.url, attackerToken);
});
afterAll(async () => {
  await Promise.all([root?.close(), attacker?.close()]);
  await t?.close();
});

describe('run_code breaking out', () => {
  it('a snippet that closes its wrapper runs its top-level code only in its sandbox, under its limits', async () => {
    // `})}};` ends the wrapper's module entry; what follows is module top-level code.
    const escape = (payload: string) => `})}}; ${payload} ; const z = {f(){return (function(){`;
    const spin = await bounded(10_000, 'top-level spin', () => call(attacker, 'run_code', { code: escape('for (;;) {}') }));
    // not a compile_error from the deploy probe: nothing ran while compiling, the sandbox stopped it
    expect(spin.data.error).toBe('cpu_limit_exceeded');
    const hoard = await bounded(10_000, 'top-level hoard', () => call(attacker, 'run_code', { code: escape('const h = []; for (let i = 0; ; i++) h.push(String(i).repeat(64));') }));
    expect(hoard.data.error).toBe('memory_limit_exceeded');
    // a second default export, an import: compile errors, not a way in
    expect((await call(attacker, 'run_code', { code: escape('export default { fetch() { return new Response("x") } };') })).data.error).toBe('compile_error');
    expect((await call(attacker, 'run_code', { code: escape('import fs from "node:fs"; (globalThis as any).fs = fs;') })).data.error).toBe('compile_error');
    expect((await call(attacker, 'run_code', { code: escape('import("node:fs");') })).data.error).toBe('compile_error');
    // deploys still compile meanwhile
    await t.deployOk('after-escape', `export default { fetch() { return new Response('fine'); } };`);
    expect(await (await t.fn('after-escape')).text()).toBe('fine');
    await nothingLeftBehind();
    await t.assertHealthy();
  });

  it('a snippet sees no env, no ctx, no host: only its input, and no network', async () => {
    const seen = await call(attacker, 'run_code', {
      code: `return { args: arguments.length, self: this === undefined, process: typeof process, require: typeof require, Deno: typeof Deno, keys: Object.keys(globalThis).filter((k) => /faas|secret|token|env/i.test(k)) };`,
    });
    expect(seen.data.value).toEqual({ args: 1, self: true, process: 'undefined', require: 'undefined', Deno: 'undefined', keys: [] });
    for (const target of [`${t.url}/healthz`, `${t.url}/admin/functions`, 'http://169.254.169.254/latest/meta-data/', 'http://localhost:1/']) {
      const res = await call(attacker, 'run_code', { code: `return await fetch(${JSON.stringify(target)}).then((r) => r.status);` });
      expect(res.data.error, target).toBe('function_error');
      expect(res.data.message, target).toMatch(/blocked by the egress policy/);
    }
    await t.assertHealthy();
  });

  it('values and console output built to trip the host come back as data, capped', async () => {
    const cases: [string, (d: any) => void][] = [
      // the snippet's own realm is its to break: the answer is still data
      ['JSON.stringify = () => { throw new Error("no") }; return { a: 1 };', (d) => expect(d).toMatchObject({ type: 'object', valueText: '[object Object]' })],
      ['globalThis.Response = function () { return 42 }; return 1;', (d) => expect(d.error ?? d.type).toBeTruthy()],
      ['String.prototype.toString = () => { throw 1 }; return { toJSON() { throw new Error("bad toJSON") } };', (d) => expect(d.type).toBe('object')],
      ['return { get x() { for (;;) {} } };', (d) => expect(d.error).toBe('cpu_limit_exceeded')],
      ['return Symbol("s");', (d) => expect(d).toMatchObject({ type: 'symbol', valueText: 'Symbol(s)' })],
      ['return "\\u0000\\ud800" + "</script>".repeat(10);', (d) => expect(d.value).toContain('</script>')],
      ['for (let i = 0; i < 100000; i++) console.log("flood", i); return "done";', (d) => expect(d.truncated.join(' ')).toMatch(/console/)],
      ['console.log("x".repeat(200000)); return 1;', (d) => expect(d.console[0].text.length).toBeLessThanOrEqual(16 * 1024 + 64)],
      ['return "y".repeat(900000);', (d) => expect(d.error ?? d.truncated[0]).toBeTruthy()],
    ];
    for (const [code, check] of cases) {
      const res = await bounded(10_000, code, () => call(attacker, 'run_code', { code }));
      expect(res.text.length, code).toBeLessThanOrEqual(128 * 1024 + 200);
      check(res.data);
    }
    await nothingLeftBehind();
    await t.assertHealthy();
  });

  it('deep nesting, stack overflows and timer floods end with errors, not a crash', async () => {
    // which limit a hoard (of values or of timers) hits first depends on the engine and the thread: either ends it
    const LIMIT = ['memory_limit_exceeded', 'cpu_limit_exceeded'];
    const cases: [string, string | string[]][] = [
      // refused before the compiler recurses through it
      [`return ${'['.repeat(20_000)}${']'.repeat(20_000)};`, 'bad_request'],
      [`return ${'('.repeat(300)}1${')'.repeat(300)};`, 'bad_request'],
      ['const f = (): number => f() + 1; return f();', 'stack_overflow'],
      ['for (let i = 0; i < 100000; i++) setTimeout(() => {}, 0); await new Promise((r) => setTimeout(r, 5)); return 1;', LIMIT],
      ['const p = []; for (;;) p.push(Promise.resolve());', LIMIT],
      ['while (true) await null;', 'cpu_limit_exceeded'],
      ['let v: any = 0; for (let i = 0; i < 5000; i++) v = [v]; return v;', 'ok'],
    ];
    for (const [code, expected] of cases) {
      const res = await bounded(15_000, code.slice(0, 40), () => call(attacker, 'run_code', { code }));
      expect(typeof expected === 'string' ? [expected] : expected, code.slice(0, 40)).toContain(res.data.error ?? 'ok');
    }
    // a value nested too deep to write out again comes back as its JSON text
    const deep = await call(attacker, 'run_code', { code: 'let v: any = 0; for (let i = 0; i < 5000; i++) v = [v]; return v;' });
    expect(deep.data.valueJson).toMatch(/^\[{5000}0\]{5000}$/);
    await nothingLeftBehind();
    await t.assertHealthy();
  });

  it('a flood of spinning snippets in one batch is bounded by run_code’s lane and answered in time', async () => {
    const batch = Array.from({ length: 40 }, (_, i) => runCode(i + 1, 'for (;;) {}'));
    const res = await bounded(30_000, 'batch of spinners', () => post(batch));
    expect(res.status).toBe(200);
    const answers = (await res.json()) as { id: number; result: { content: { text: string }[]; isError: boolean } }[];
    expect(answers).toHaveLength(40);
    const codes = answers.map((a) => JSON.parse(a.result.content[0]!.text).error as string);
    // each one either ran into its CPU limit or was shed by the scheduler; nothing else
    expect(new Set(codes)).toEqual(new Set(codes.filter((c) => c === 'cpu_limit_exceeded' || c === 'overloaded')));
    expect(codes).toContain('cpu_limit_exceeded');
    // the neighbour's traffic (priority 0) was never behind them
    await t.assertHealthy();
    await nothingLeftBehind();
  });
});

describe('the endpoint', () => {
  it('refuses a missing, forged or revoked token, whatever the body', async () => {
    expect((await post(runCode(1, 'return 1'), null)).status).toBe(401);
    expect((await post(runCode(1, 'return 1'), 'faas_000000000000_' + 'A'.repeat(43))).status).toBe(401);
    expect((await post(runCode(1, 'return 1'), `${t.token}x`)).status).toBe(401);
    const issued = (await (await t.admin('POST', '/admin/tenants/attacker/tokens', {})).json()) as { token: string; id: string };
    expect((await post(runCode(1, 'return 1'), issued.token)).status).toBe(200);
    expect((await t.admin('DELETE', `/admin/tenants/attacker/tokens/${issued.id}`)).status).toBe(204);
    expect((await post(runCode(1, 'return 1'), issued.token)).status).toBe(401);
    await t.assertHealthy();
  });

  it('cannot reach another tenant’s function through any tool, nor through invoke_function’s path', async () => {
    for (const [tool, args] of [
      ['get_function', { name: 'victim-fn' }],
      ['invoke_function', { name: 'victim-fn' }],
      ['delete_function', { name: 'victim-fn' }],
      ['invoke_function', { name: NEIGHBOUR }],
    ] as const) {
      expect((await call(attacker, tool, args)).data.error, tool).toBe('not_found');
    }
    expect((await call(attacker, 'deploy_function', { name: 'victim-fn', source: 'export default { fetch() { return new Response("pwned") } };' })).data.error).toBe('conflict');
    expect((await call(attacker, 'deploy_function', { name: 'planted', source: 'export default { fetch() { return new Response("x") } };', tenant: 'victim' })).data.error).toBe('forbidden');
    await call(attacker, 'deploy_function', { name: 'attacker-fn', source: 'export default { fetch(r: Request) { return new Response(new URL(r.url).pathname) } };' });
    for (const path of ['/../victim-fn', '/%2e%2e/victim-fn', '/x/../../admin/functions', 'http://evil/', '/\r\nx: y', '/a b']) {
      expect((await call(attacker, 'invoke_function', { name: 'attacker-fn', path })).data.error, path).toBe('bad_request');
    }
    expect((await call(attacker, 'invoke_function', { name: 'attacker-fn', headers: { 'x-a': 'b\r\nx-injected: 1' } })).data.error).toBe('bad_request');
    expect(await (await t.fn('victim-fn')).text()).toBe('victim');
    await t.assertHealthy();
  });

  it('invoke_function of a function that streams without end, or whose stream fails, answers in time with what it read', async () => {
    const endless = `export default { fetch() { const chunk = new TextEncoder().encode('z'.repeat(65536)); return new Response(new ReadableStream({ pull(c) { c.enqueue(chunk); } })); } };`;
    const failing = `export default { fetch() { let n = 0; return new Response(new ReadableStream({ pull(c) { if (n++ < 2) c.enqueue(new TextEncoder().encode('ok')); else c.error(new Error('broken stream')); } })); } };`;
    await call(attacker, 'deploy_function', { name: 'endless-stream', source: endless });
    await call(attacker, 'deploy_function', { name: 'failing-stream', source: failing });
    const a = await bounded(20_000, 'endless stream', () => call(attacker, 'invoke_function', { name: 'endless-stream' }));
    expect(a.data.bodyComplete).toBe(false);
    expect(a.text.length).toBeLessThanOrEqual(128 * 1024 + 200);
    const b = await bounded(20_000, 'failing stream', () => call(attacker, 'invoke_function', { name: 'failing-stream' }));
    // either the failure is seen before the answer (an error result) or mid-body (a note): never a clean, complete body
    if (!b.isError) {
      expect(b.data.bodyComplete).toBe(false);
      expect(b.data.truncated.join(' ')).toMatch(/stream failed/);
    }
    await t.assertHealthy();
  });

  it('one-call functions cannot be reached, deployed over or seen, even while one runs', async () => {
    const running = call(attacker, 'run_code', { code: 'await new Promise((r) => setTimeout(r, 300)); return "slow";' });
    await new Promise((r) => setTimeout(r, 100));
    for (const path of ['/fn/mcp:run_code%231', '/fn/mcp%3Arun_code%231', '/fn/mcp:run_code', '/fn/run_code']) {
      const res = await fetch(`${t.url}${path}`);
      expect([400, 404], path).toContain(res.status);
    }
    const listed = (await (await t.admin('GET', '/admin/functions')).json()) as { name: string }[];
    expect(listed.map((f) => f.name).filter((n) => n.includes('run_code'))).toEqual([]);
    expect((await call(root, 'get_function', { name: 'mcp:run_code#1' })).isError).toBe(true);
    expect((await running).data.value).toBe('slow');
    await nothingLeftBehind();
    await t.assertHealthy();
  });

  it('a host route never takes /mcp', async () => {
    const request = (path: string) => rawHttp(t.url, [`POST ${path} HTTP/1.1\r\nHost: mcp-claim.test\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`]);
    // the claimed host's other paths are the function's; /mcp stays the gateway's (and wants a token)
    expect((await request('/elsewhere')).text).toMatch(/\r\n\r\nvictim$/);
    const mcp = await request('/mcp');
    expect(mcp.statuses).toEqual([401]);
    expect(lastJsonBody(mcp.text).error).toBe('unauthorized');
    await t.assertHealthy();
  });

  it('oversized and malformed requests are refused before anything runs', async () => {
    // a snippet over 64 KiB, an input over 64 KiB, arguments with too many elements
    expect((await call(attacker, 'run_code', { code: `return 1;${' '.repeat(70_000)}` })).isError).toBe(true);
    expect((await call(attacker, 'run_code', { code: 'return input.length', input: 'x'.repeat(70_000) })).data.error).toBe('bad_request');
    expect((await call(attacker, 'run_code', { code: 'return 1', input: Array.from({ length: 20_000 }, (_, i) => i) })).text).toMatch(/maximum of 10000 elements/);
    // a body over the deploy cap (16 MiB + the envelope): 413 before it is parsed
    const huge = await post(JSON.stringify(runCode(1, 'x'.repeat(17 * 1024 * 1024))));
    expect(huge.status).toBe(413);
    // JSON-RPC garbage, a batch over the SDK's cap, a wrong content type
    expect((await post('[[[[')).status).toBe(400);
    expect((await post({ jsonrpc: '2.0', id: 1, method: 42 })).status).toBe(400);
    expect((await post(Array.from({ length: 101 }, (_, i) => runCode(i, 'return 1')))).status).toBe(400);
    expect((await post(runCode(1, 'return 1'), attackerToken, { 'content-type': 'text/plain' })).status).toBe(415);
    for (const method of ['GET', 'DELETE', 'PUT']) {
      expect((await fetch(`${t.url}/mcp`, { method, headers: { authorization: `Bearer ${attackerToken}` } })).status, method).toBe(405);
    }
    await t.assertHealthy();
  });
});
