/**
 * `faas mcp` over stdio: the SDK's client spawns `node bin/faas.js mcp --url … --token …` (from
 * source), which relays to a real gateway on loopback. The same tools and the same scoping as /mcp.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../test/helpers/gateway.ts';
import { call, stdioClient } from '../test/helpers/mcp.ts';

let t: TestGateway;
let root: Client;
let tenant: Client;
const stderr: string[] = [];

beforeAll(async () => {
  t = await startTestGateway();
  expect((await t.admin('POST', '/admin/tenants', { name: 'acme' })).status).toBe(201);
  const issued = (await (await t.admin('POST', '/admin/tenants/acme/tokens', {})).json()) as { token: string };
  [root, tenant] = await Promise.all([stdioClient(t.url, t.token, stderr), stdioClient(t.url, issued.token, stderr)]);
});
afterAll(async () => {
  await Promise.all([root?.close(), tenant?.close()]);
  await t?.close();
});

describe('faas mcp (stdio)', () => {
  it('lists the gateway’s tools and says what it is', async () => {
    const { tools } = await root.listTools();
    expect(tools.map((x) => x.name).sort()).toEqual(['delete_function', 'deploy_function', 'get_function', 'invoke_function', 'list_functions', 'run_code']);
    expect(root.getServerVersion()?.name).toBe('faas');
    expect(root.getInstructions()).toMatch(/run_code/);
    expect(stderr.join('')).toMatch(/faas mcp: serving MCP on stdio for the gateway at http:\/\/127\.0\.0\.1:\d+/);
  });

  it('deploys, invokes, and answers a compile error as a tool error', async () => {
    const source = `export default { fetch(req: Request) { console.log('hit', new URL(req.url).pathname); return new Response('stdio ok'); } };`;
    expect((await call(root, 'deploy_function', { name: 'via-stdio', source })).data).toMatchObject({ name: 'via-stdio', version: 1 });
    const res = await call(root, 'invoke_function', { name: 'via-stdio', path: '/p' });
    expect(res.data).toMatchObject({ status: 200, body: 'stdio ok', logs: [{ level: 'log', text: 'hit /p' }] });
    const broken = await call(root, 'deploy_function', { name: 'via-stdio', source: 'export default { fetch() { return 1 +; } };' });
    expect(broken.isError).toBe(true);
    expect(broken.data.message).toMatch(/^via-stdio\.ts:1:\d+: /);
    expect((await t.fn('via-stdio')).status).toBe(200);
  });

  it('runs code: the value and the console output', async () => {
    const res = await call(root, 'run_code', { code: 'console.log("from stdio"); return [input, 2 ** 10];', input: 'in' });
    expect(res.isError).toBe(false);
    expect(res.data).toMatchObject({ value: ['in', 1024], console: [{ level: 'log', text: 'from stdio' }] });
  });

  it('stops an infinite loop and a memory bomb with their limit errors while other calls proceed', async () => {
    const started = Date.now();
    const [spin, bomb, other] = await Promise.all([
      call(root, 'run_code', { code: 'while (true) {}' }),
      call(tenant, 'run_code', { code: 'const a = []; for (;;) a.push({ n: a.length });' }),
      call(root, 'run_code', { code: 'return "still here";' }),
    ]);
    expect(spin.data.error).toBe('cpu_limit_exceeded');
    expect(bomb.data.error).toBe('memory_limit_exceeded');
    expect(other.data.value).toBe('still here');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a tenant token cannot touch another tenant’s function', async () => {
    expect((await call(tenant, 'list_functions')).data.functions).toEqual([]);
    for (const tool of ['get_function', 'invoke_function', 'delete_function']) {
      expect((await call(tenant, tool, { name: 'via-stdio' })).data.error, tool).toBe('not_found');
    }
    expect((await call(tenant, 'deploy_function', { name: 'via-stdio', source: 'export default { fetch() { return new Response("mine") } };' })).data.error).toBe('conflict');
    expect(await (await t.fn('via-stdio')).text()).toBe('stdio ok');
  });

  it('says so in the answer when the gateway cannot be reached or refuses the token', async () => {
    // a port nobody listens on
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const down = await stdioClient(`http://127.0.0.1:${port}`, 'whatever');
    const wrong = await stdioClient(t.url, 'not-a-token');
    try {
      const unreachable = await call(down, 'run_code', { code: 'return 1' });
      expect(unreachable.isError).toBe(true);
      expect(unreachable.text).toMatch(/^cannot reach the faas gateway at http:\/\/127\.0\.0\.1:\d+\/mcp: ECONNREFUSED/);
      const refused = await call(wrong, 'list_functions');
      expect(refused.isError).toBe(true);
      expect(refused.text).toMatch(/refused the token \(401 unauthorized\)/);
      await expect(wrong.listTools()).rejects.toThrow(/refused the token/);
    } finally {
      await Promise.all([down.close(), wrong.close()]);
    }
  });
});
