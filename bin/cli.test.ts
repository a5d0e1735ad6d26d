import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startTestGateway, tempDir, writeFiles, type TestGateway } from '../test/helpers/gateway.ts';

let t: TestGateway;
let project: string;
beforeAll(async () => {
  t = await startTestGateway();
  project = tempDir('faas-cli-');
  writeFiles(project, {
    // An npm package beside the project: `faas deploy` must resolve it from the entry's folder upwards.
    'node_modules/shout/package.json': { name: 'shout', version: '1.0.0', main: 'index.js' },
    'node_modules/shout/index.js': 'module.exports = (s) => s.toUpperCase() + "!";',
    'src/greet.ts': `export const greet = (who: string) => 'hello ' + who;`,
    'src/app.ts': `import shout from 'shout';\nimport { greet } from './greet.ts';\nexport default { fetch(req: Request, env: { WHO: string }) { return new Response(shout(greet(env.WHO))); } };\n`,
    'src/app.faas.json': { env: { WHO: 'cli' } },
    'src/thrower.ts': `function inner(): never {\n  throw new Error('deep boom');\n}\nexport default {\n  fetch() {\n    return inner();\n  },\n};\n`,
    'src/broken.ts': `export default {\n  fetch() {\n    return new Response(;\n  },\n};\n`,
  });
});
afterAll(async () => {
  await t?.close();
  rmSync(project, { recursive: true, force: true });
});

const admin = (...args: string[]) => ['--url', t.url, '--token', t.token, ...args];

describe('faas deploy / list / delete', () => {
  it('deploys a bundled entry with its config, lists it and deletes it', async () => {
    const deployed = await runCli(['deploy', join(project, 'src/app.ts'), '--name', 'from-cli', ...admin()]);
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).toMatch(/^deployed from-cli v1 \(sha256 [0-9a-f]{12}, \d+ B bytecode\)/);
    const res = await t.fn('from-cli');
    expect(await res.text()).toBe('HELLO CLI!');

    const listed = await runCli(['list', '--json', ...admin()]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: 'from-cli', version: 1, config: expect.objectContaining({ env: { WHO: 'cli' } }) })]);
    const table = await runCli(['list', ...admin()]);
    expect(table.stdout).toMatch(/^NAME\s+VERSION\s+SHA256\s+BYTECODE\s+DEPLOYED\nfrom-cli\s+v1\s+/);

    const deleted = await runCli(['delete', 'from-cli', ...admin()]);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe('deleted from-cli\n');
    expect((await t.fn('from-cli')).status).toBe(404);
  });

  it('takes the token from FAAS_ADMIN_TOKEN', async () => {
    const res = await runCli(['list', '--json', '--url', t.url], { FAAS_ADMIN_TOKEN: t.token });
    expect(res.code).toBe(0);
    expect(Array.isArray(JSON.parse(res.stdout))).toBe(true);
  });

  it('prints error: <code>: <message> and exits 1', async () => {
    const [wrong, missing, badName, down] = await Promise.all([
      runCli(['list', '--url', t.url, '--token', 'nope']),
      runCli(['delete', 'ghost', ...admin()]),
      runCli(['deploy', join(project, 'src/app.ts'), '--name', 'Bad_Name', ...admin()]),
      runCli(['list', '--url', 'http://127.0.0.1:1', '--token', 'x']),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error: unauthorized: /);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: not_found: function "ghost" is not deployed/);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(/^error: bad_request: invalid function name/);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^error: unavailable: cannot reach the gateway/);
  });

  it('keeps stack traces pointing at the original source through the upload', async () => {
    const deployed = await runCli(['deploy', join(project, 'src/thrower.ts'), '--name', 'thrower', ...admin()]);
    expect(deployed.code).toBe(0);
    const res = await t.fn('thrower', '', { headers: { 'x-request-id': 'thrower-1' } });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: 'function_error', message: 'Uncaught Error: deep boom' });
    const line = t.logs.find((l) => l.msg === 'request' && l.requestId === 'thrower-1');
    expect(line?.stack).toMatch(/thrower\.ts:2:\d+/);
  });

  it('prints a compile error as file:line:col', async () => {
    const res = await runCli(['deploy', join(project, 'src/broken.ts'), '--name', 'broken', ...admin()]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/broken\.ts:3:\d+: /);
    expect((await t.fn('broken')).status).toBe(404);
  });
});
