/**
 * The MCP server at /mcp through the SDK's own client over Streamable HTTP, against a real gateway
 * on loopback: the tools, compile errors as tool errors, run_code's value, console and limits,
 * tenant scoping, and what every call leaves in metrics, usage and the audit log.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCES, startTestGateway, type TestGateway } from '../../test/helpers/gateway.ts';
import { call, httpClient } from '../../test/helpers/mcp.ts';

let t: TestGateway;
let root: Client;
let alpha: Client;
let beta: Client;

const LOGGING_ECHO = `export default {
  async fetch(request: Request) {
    const body = await request.text();
    console.log('echo', request.method, new URL(request.url).pathname);
    return Response.json({ method: request.method, url: request.url, header: request.headers.get('x-test'), body }, { headers: { 'x-echo': 'yes' } });
  },
};`;

/** Did not hang: generous, far above anything the call should take. */
function bounded<T>(p: Promise<T>, ms = 20_000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}

async function tenantToken(name: string): Promise<string> {
  expect((await t.admin('POST', '/admin/tenants', { name })).status).toBe(201);
  const res = await t.admin('POST', `/admin/tenants/${name}/tokens`, { label: 'mcp' });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

beforeAll(async () => {
  t = await startTestGateway();
  root = await httpClient(t.url, t.token);
  alpha = await httpClient(t.url, await tenantToken('alpha'));
  beta = await httpClient(t.url, await tenantToken('beta'));
});
afterAll(async () => {
  for (const c of [root, alpha, beta]) await c?.close();
  await t?.close();
});

describe('tools', () => {
  it('lists the six tools with their input schemas, and tells the model what the server is', async () => {
    const { tools } = await root.listTools();
    expect(tools.map((x) => x.name).sort()).toEqual(['delete_function', 'deploy_function', 'get_function', 'invoke_function', 'list_functions', 'run_code']);
    const run = tools.find((x) => x.name === 'run_code')!;
    expect(run.inputSchema.required).toEqual(['code']);
    expect(run.description).toMatch(/1 MiB heap, 100 ms CPU, 1000 ms wall time, no network/);
    expect(tools.find((x) => x.name === 'delete_function')!.annotations?.destructiveHint).toBe(true);
    expect(root.getInstructions()).toMatch(/run_code/);
  });

  it('deploys a function and invokes it: status, headers, body, timings and the request’s console lines', async () => {
    const deployed = await call(root, 'deploy_function', { name: 'echo', source: LOGGING_ECHO });
    expect(deployed.isError).toBe(false);
    expect(deployed.data).toMatchObject({ name: 'echo', version: 1, tenant: 'default', path: '/fn/echo' });

    const res = await call(root, 'invoke_function', { name: 'echo', method: 'POST', path: '/a/b?q=1', headers: { 'x-test': 'hi' }, body: 'payload' });
    expect(res.isError).toBe(false);
    expect(res.data.status).toBe(200);
    expect(res.data.headers['x-echo']).toBe('yes');
    expect(JSON.parse(res.data.body)).toMatchObject({ method: 'POST', header: 'hi', body: 'payload' });
    expect(new URL(JSON.parse(res.data.body).url).pathname).toBe('/a/b');
    expect(res.data.serverTiming).toMatch(/queue;dur=.*exec;dur=/);
    expect(res.data.timing.execMs).toBeGreaterThanOrEqual(0);
    expect(res.data.logs).toEqual([{ level: 'log', text: 'echo POST /a/b' }]);

    // the same path as /fn: the live logs and the function's usage have it
    const live = (await (await t.admin('GET', '/admin/functions/echo/logs')).json()) as { requestId: string }[];
    expect(live.some((e) => e.requestId === res.data.requestId)).toBe(true);
    const usage = (await (await t.admin('GET', '/admin/usage?function=echo')).json()) as { functions: Record<string, { invocations: number }> };
    expect(usage.functions['default/echo']!.invocations).toBe(1);

    const got = await call(root, 'get_function', { name: 'echo' });
    expect(got.data).toMatchObject({ name: 'echo', version: 1, path: '/fn/echo' });
    expect(got.data.versions).toHaveLength(1);
    expect(got.data.recentInvocations.at(-1)).toMatchObject({ requestId: res.data.requestId, status: 200, logLines: 1 });
    expect((await call(root, 'list_functions')).data.functions.map((f: { name: string }) => f.name)).toContain('echo');
  });

  it('reads a streamed body only as far as it can show, and says so (an endless stream does not hold the call)', async () => {
    const source = `export default { fetch() { const chunk = new TextEncoder().encode('x'.repeat(65536)); return new Response(new ReadableStream({ pull(c) { c.enqueue(chunk); } })); } };`;
    expect((await call(root, 'deploy_function', { name: 'streamer', source })).isError).toBe(false);
    const res = await bounded(call(root, 'invoke_function', { name: 'streamer' }));
    expect(res.isError).toBe(false);
    expect(res.data.status).toBe(200);
    expect(res.data.bodyComplete).toBe(false);
    expect(res.data.body.length).toBe(32 * 1024);
    expect(res.data.truncated).toContain('body: streamed, only the first 1,048,576 bytes were read (the rest was not)');
    expect((await t.fn('echo')).status).toBe(200);
  });

  it('answers a compile error as a tool error with file:line:col, and deploys nothing', async () => {
    const res = await call(root, 'deploy_function', { name: 'broken', source: 'export default {\n  fetch() { return new Response( }\n};' });
    expect(res.isError).toBe(true);
    expect(res.data).toMatchObject({ error: 'compile_error', status: 422 });
    expect(res.data.message).toMatch(/^broken\.ts:2:\d+: /);
    expect((await call(root, 'get_function', { name: 'broken' })).data.error).toBe('not_found');
  });

  it('answers a function’s own failure as a tool error with its code, stack and console lines', async () => {
    await call(root, 'deploy_function', { name: 'thrower', source: `export default { fetch() { console.log('before'); throw new Error('boom'); } };` });
    const res = await call(root, 'invoke_function', { name: 'thrower' });
    expect(res.isError).toBe(true);
    expect(res.data).toMatchObject({ error: 'function_error', status: 500 });
    expect(res.data.message).toMatch(/boom/);
    expect(res.data.logs).toEqual([{ level: 'log', text: 'before' }]);
  });

  it('deletes a function (audited, marked as done through MCP)', async () => {
    await call(root, 'deploy_function', { name: 'doomed', source: SOURCES.hello });
    expect((await call(root, 'delete_function', { name: 'doomed' })).data).toEqual({ deleted: 'doomed' });
    expect((await t.fn('doomed')).status).toBe(404);
    expect((await call(root, 'delete_function', { name: 'doomed' })).data.error).toBe('not_found');
    const audit = (await (await t.admin('GET', '/admin/audit?limit=50')).json()) as { action: string; target: string; outcome: string; detail: { via?: string } | null }[];
    const mine = audit.filter((a) => a.target === 'doomed');
    expect(mine.map((a) => [a.action, a.outcome, a.detail?.via])).toEqual([
      ['delete', 'not_found', 'mcp'],
      ['delete', 'ok', 'mcp'],
      ['deploy', 'ok', 'mcp'],
    ]);
  });

  it('refuses bad arguments as tool errors', async () => {
    expect((await call(root, 'get_function', { name: 'Not A Name' })).isError).toBe(true);
    expect((await call(root, 'invoke_function', { name: 'echo', path: '/../admin' })).data.error).toBe('bad_request');
    expect((await call(root, 'invoke_function', { name: 'echo', path: 'no-slash' })).data.error).toBe('bad_request');
    expect((await call(root, 'invoke_function', { name: 'echo', headers: { host: 'evil' } })).data.message).toMatch(/set by the gateway/);
    expect((await call(root, 'invoke_function', { name: 'echo', method: 'GET', body: 'x' })).data.message).toMatch(/has no body/);
    expect((await call(root, 'no_such_tool')).isError).toBe(true);
  });
});

describe('run_code', () => {
  it('returns the value and the console output; input is `input`; TypeScript is accepted', async () => {
    const res = await call(root, 'run_code', {
      code: 'const xs: number[] = input.xs;\nconsole.log("sum of", xs.length);\nconsole.warn("careful");\nreturn { sum: xs.reduce((a, b) => a + b, 0) };',
      input: { xs: [1, 2, 3] },
    });
    expect(res.isError).toBe(false);
    expect(res.data.value).toEqual({ sum: 6 });
    expect(res.data.type).toBe('object');
    expect(res.data.console).toEqual([
      { level: 'log', text: 'sum of 3' },
      { level: 'warn', text: 'careful' },
    ]);
    expect(res.data.timing.cpuMs).toBeGreaterThan(0);
  });

  it('awaits promises and timers, and says what came back when JSON cannot carry it', async () => {
    expect((await call(root, 'run_code', { code: 'await new Promise((r) => setTimeout(r, 5)); return "done";' })).data.value).toBe('done');
    expect((await call(root, 'run_code', { code: 'console.log(1);' })).data).toMatchObject({ type: 'undefined', console: [{ text: '1' }] });
    expect((await call(root, 'run_code', { code: 'return 2n ** 70n;' })).data).toMatchObject({ type: 'bigint', valueText: '1180591620717411303424' });
    expect((await call(root, 'run_code', { code: 'const a: any = {}; a.self = a; return a;' })).data).toMatchObject({ type: 'object', valueText: '[object Object]' });
    expect((await call(root, 'run_code', { code: 'return null;' })).data).toMatchObject({ type: 'null', value: null });
  });

  it('reports an exception with its stack and a compile error at the snippet’s own line and column', async () => {
    const thrown = await call(root, 'run_code', { code: 'const x = 1;\nthrow new TypeError("nope " + x);' });
    expect(thrown.isError).toBe(true);
    expect(thrown.data).toMatchObject({ error: 'function_error' });
    expect(thrown.data.message).toMatch(/TypeError: nope 1/);
    expect(thrown.data.stack).toMatch(/snippet\.ts:2:\d+/);
    expect(thrown.data.stack).not.toMatch(/__faas_run/);

    const bad = await call(root, 'run_code', { code: 'let a = 1;\nlet a = 2;' });
    expect(bad.data).toMatchObject({ error: 'compile_error', status: 422 });
    expect(bad.data.message).toMatch(/^snippet\.ts:2:5: The symbol "a" has already been declared/);
    expect((await call(root, 'run_code', { code: 'return (1 +' })).data.message).toMatch(/^snippet\.ts:1:\d+: /);
    expect((await call(root, 'run_code', { code: 'import x from "y";\nreturn x;' })).data.message).toMatch(/cannot import or export/);
  });

  it('stops an infinite loop and a memory bomb with their limit errors quickly while other calls proceed', async () => {
    const started = Date.now();
    const [spin, bomb, other, list] = await Promise.all([
      call(root, 'run_code', { code: 'for (;;) {}' }),
      call(root, 'run_code', { code: 'const hoard: string[] = []; for (let i = 0; ; i++) hoard.push(String(i).repeat(64));' }),
      call(alpha, 'run_code', { code: 'return 6 * 7;' }),
      call(root, 'list_functions'),
    ]);
    expect(spin.data).toMatchObject({ error: 'cpu_limit_exceeded', status: 503 });
    expect(spin.data.message).toBe('run_code exceeded its CPU limit of 100 ms (config key "cpuMs")');
    expect(bomb.data).toMatchObject({ error: 'memory_limit_exceeded' });
    expect(other.data.value).toBe(42);
    expect(list.isError).toBe(false);
    // did not hang: generous, far above the 100 ms CPU limit
    expect(Date.now() - started).toBeLessThan(10_000);
    // the gateway and its functions are fine
    expect((await t.fn('echo')).status).toBe(200);
  });

  it('stops a snippet that waits forever at its wall-time limit, and refuses fetch (no egress)', async () => {
    expect((await call(root, 'run_code', { code: 'await new Promise(() => {});' })).data.error).toBe('timeout');
    const fetched = await call(root, 'run_code', { code: `return await fetch(${JSON.stringify(`${t.url}/healthz`)}).then((r) => r.status);` });
    expect(fetched.data.error).toBe('function_error');
    expect(fetched.data.message).toMatch(/blocked by the egress policy/);
  });

  it('is never deployed: nothing listed, nothing persisted, nothing left in the runtime or the metrics', async () => {
    await call(root, 'run_code', { code: 'console.log("ephemeral"); return 1;' });
    expect(t.gw.runtime.list().map((f) => f.name)).not.toContainEqual(expect.stringContaining('run_code'));
    expect(t.gw.registry.list().map((f) => f.name)).not.toContainEqual(expect.stringContaining('run_code'));
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).not.toMatch(/run_code#/);
    expect(metrics).toMatch(/faas_mcp_tool_calls_total\{tool="run_code",outcome="ok"\} \d+/);
    expect(metrics).toMatch(/faas_mcp_tool_calls_total\{tool="run_code",outcome="cpu_limit_exceeded"\} [1-9]/);
    expect(metrics).toMatch(/faas_limit_violations_total\{function="mcp:run_code",kind="cpu"\} [1-9]/);
  });

  it('caps what it returns and says what was cut', async () => {
    const big = await call(root, 'run_code', { code: 'for (let i = 0; i < 300; i++) console.log("line " + i + " " + "x".repeat(400)); return "y".repeat(100_000);' });
    expect(big.isError).toBe(false);
    expect(big.data.valueJson.length).toBe(32 * 1024);
    expect(big.data.truncated).toEqual([
      expect.stringMatching(/^console: \d+ more lines not shown \(the lines shown hold [\d,]+ of at most 32,768 characters\)$/),
      expect.stringMatching(/^console: \d+ lines over the per-call cap were not kept$/),
      'value (as JSON): 100,002 characters, only the first 32,768 are shown',
    ]);
    expect(big.data.console[0]).toEqual({ level: 'log', text: `line 0 ${'x'.repeat(400)}` });
    expect(big.text.length).toBeLessThan(128 * 1024 + 200);
  });
});

describe('tenants', () => {
  it('a tenant token sees, invokes and deletes only its own functions; another tenant’s is not_found', async () => {
    expect((await call(alpha, 'deploy_function', { name: 'alpha-fn', source: SOURCES.hello })).data.tenant).toBe('alpha');
    expect((await call(beta, 'deploy_function', { name: 'beta-fn', source: SOURCES.hello })).data.tenant).toBe('beta');
    expect((await call(alpha, 'list_functions')).data.functions.map((f: { name: string }) => f.name)).toEqual(['alpha-fn']);
    for (const [tool, args] of [
      ['get_function', { name: 'beta-fn' }],
      ['invoke_function', { name: 'beta-fn' }],
      ['delete_function', { name: 'beta-fn' }],
      ['get_function', { name: 'echo' }],
    ] as const) {
      const res = await call(alpha, tool, args);
      expect(res.isError, `${tool} ${args.name}`).toBe(true);
      expect(res.data.error).toBe('not_found');
    }
    expect((await call(alpha, 'deploy_function', { name: 'beta-fn', source: SOURCES.hello })).data.error).toBe('conflict');
    expect((await call(alpha, 'deploy_function', { name: 'sneaky', source: SOURCES.hello, tenant: 'beta' })).data.error).toBe('forbidden');
    expect((await t.fn('beta-fn')).status).toBe(200);
    expect((await call(alpha, 'invoke_function', { name: 'alpha-fn' })).data.body).toBe('hello');
  });

  it('counts run_code and the other tools in the caller tenant’s usage', async () => {
    await call(beta, 'run_code', { code: 'return 1;' });
    await call(beta, 'list_functions');
    const usage = (await (await t.admin('GET', '/admin/usage?tenant=beta')).json()) as { functions: Record<string, { invocations: number; cpuMs: number }> };
    expect(usage.functions['beta/mcp:run_code']!.invocations).toBeGreaterThanOrEqual(1);
    expect(usage.functions['beta/mcp:run_code']!.cpuMs).toBeGreaterThan(0);
    expect(usage.functions['beta/mcp:list_functions']!.invocations).toBeGreaterThanOrEqual(1);
  });
});

describe('the endpoint', () => {
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${t.url}/mcp`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${t.token}`, ...headers },
    });

  it('needs a token, answers POST only, and answers a body that is not JSON with a parse error', async () => {
    const noToken = await fetch(`${t.url}/mcp`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const get = await fetch(`${t.url}/mcp`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const notJson = await post('{');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: number } }).error.code).toBe(-32700);
  });

  it('answers a tools/call without a session (stateless): any request can go to any gateway', async () => {
    const res = await post(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'run_code', arguments: { code: 'return "plain";' } } }), {
      'mcp-protocol-version': '2025-06-18',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('mcp-session-id')).toBeNull();
    const msg = (await res.json()) as { id: number; result: { content: { text: string }[] } };
    expect(msg.id).toBe(7);
    expect(JSON.parse(msg.result.content[0]!.text).value).toBe('plain');
  });
});
