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

describe('faas versions / rollback / deploy --percent / tail', () => {
  it('walks a function through a rollout, a rollback and its live logs', { timeout: 60_000 }, async () => {
    writeFiles(project, {
      'src/v1.ts': `export default { fetch(req: Request) { console.log('v1 served', new URL(req.url).pathname); return new Response('one'); } };`,
      'src/v2.ts': `export default { fetch() { return new Response('two'); } };`,
    });
    expect((await runCli(['deploy', join(project, 'src/v1.ts'), '--name', 'walk', ...admin()])).code).toBe(0);
    const rollout = await runCli(['deploy', join(project, 'src/v2.ts'), '--name', 'walk', '--percent', '10', ...admin()]);
    expect(rollout.stdout).toMatch(/^deployed walk v2 .*; traffic v2 10%, v1 90%\)/);
    const versions = await runCli(['versions', 'walk', ...admin()]);
    expect(versions.code).toBe(0);
    expect(versions.stdout).toMatch(/^VERSION\s+TRAFFIC\s+SHA256\s+BYTECODE\s+DEPLOYED\s+BY\nv2\s+10%\s+[0-9a-f]{12}.*root\nv1\s+90%/);
    const bad = await runCli(['deploy', join(project, 'src/v2.ts'), '--name', 'walk', '--percent', '100', ...admin()]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: bad_request: --percent must be an integer from 1 to 99/);

    const rolledBack = await runCli(['rollback', 'walk', 'v1', ...admin()]);
    expect(rolledBack.stdout).toBe('walk now serves v1\n');
    expect(await (await t.fn('walk')).text()).toBe('one');

    // a tail starts with the recent events that match (live ones: gateway/tenancy.test.ts)
    await t.fn('walk', '/ignored');
    await t.fn('walk', '/tailed');
    const out = await runCli(['tail', 'walk', '--search', 'tailed', '--count', '1', ...admin()]);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3}  GET \/fn\/walk\/tailed 200 ok [\d.]+ ms cpu [\d.]+ ms v1  \[[0-9a-f-]{36}\]\n    log   v1 served \/tailed\n$/);
    const missing = await runCli(['tail', 'nope', ...admin()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/error: not_found/);
  });

  it('tail shows a guest’s control characters as escapes: its console output cannot drive the terminal', { timeout: 60_000 }, async () => {
    writeFiles(project, {
      'src/ansi.ts': `export default { fetch() { console.log('\\u001b]52;c;ZXZpbA==\\u0007\\u001b[2J\\u009b31m erased\\rforged'); return new Response('ok'); } };`,
    });
    expect((await runCli(['deploy', join(project, 'src/ansi.ts'), '--name', 'ansi', ...admin()])).code).toBe(0);
    await t.fn('ansi');
    const out = await runCli(['tail', 'ansi', '--count', '1', ...admin()]);
    expect(out.code).toBe(0);
    expect(out.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(out.stdout).toContain('\\u001b]52;c;ZXZpbA==\\u0007\\u001b[2J\\u009b31m erased\\u000dforged');
  });
});

describe('faas tenant / usage', () => {
  it('creates a tenant with a quota, issues a token that deploys into it, and reports usage', async () => {
    const created = await runCli(['tenant', 'create', 'cli-team', '--functions', '3', '--rps', '100', ...admin()]);
    expect(created.stdout).toBe('created tenant cli-team: functions 3, requestsPerSecond 100\n');
    const issued = await runCli(['tenant', 'token', 'cli-team', '--label', 'ci', ...admin()]);
    const token = issued.stdout.trim();
    expect(token).toMatch(/^faas_/);
    expect(issued.stderr).toMatch(/shown once/);
    const deployed = await runCli(['deploy', join(project, 'src/app.ts'), '--name', 'team-app', '--url', t.url, '--token', token]);
    expect(deployed.code).toBe(0);
    expect(await (await t.fn('team-app')).text()).toBe('HELLO CLI!');
    const quota = await runCli(['tenant', 'quota', 'cli-team', '--functions', '1', ...admin()]);
    expect(quota.stdout).toBe('tenant cli-team: functions 1\n');
    const refused = await runCli(['deploy', join(project, 'src/app.ts'), '--name', 'team-app-2', '--url', t.url, '--token', token]);
    expect(refused.stderr).toMatch(/^error: quota_exceeded: tenant "cli-team" quota functions: 1 functions deployed, 1 allowed/);
    const listed = await runCli(['tenant', 'list', '--json', ...admin()]);
    expect(JSON.parse(listed.stdout)).toContainEqual(expect.objectContaining({ name: 'cli-team', functions: 1 }));
    const tokens = JSON.parse((await runCli(['tenant', 'tokens', 'cli-team', '--json', ...admin()])).stdout);
    const usage = await runCli(['usage', '--tenant', 'cli-team', '--url', t.url, '--token', token]);
    expect(usage.stdout).toMatch(/cli-team\/team-app\s+1\s+0\s/);
    expect((await runCli(['tenant', 'revoke', 'cli-team', tokens[0].id, ...admin()])).stdout).toBe(`revoked token ${tokens[0].id} of tenant cli-team\n`);
    expect((await runCli(['list', '--url', t.url, '--token', token])).stderr).toMatch(/^error: unauthorized/);
  }, 120_000); // ten CLI processes, each starting Node and the TypeScript loader
});
