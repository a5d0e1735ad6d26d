/** The body timeout as `faas serve` sets it (the attacks themselves are in test/security/edge.test.ts). */
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli, spawnGateway, tempDir } from '../test/helpers/gateway.ts';
import { rawHttp } from '../test/security/raw-http.ts';

const put = (path: string, headers: string[]) => `PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;

describe('faas serve --body-timeout', () => {
  it('sets the body timeout, and refuses a nonsense value', async () => {
    const dataDir = tempDir('faas-edge-');
    const child = await spawnGateway({ dataDir, args: ['--body-timeout', '300'] });
    try {
      const slowDeploy = put('/admin/functions/slow', [`Authorization: Bearer ${child.token}`, 'Content-Length: 10']);
      const ex = await rawHttp(child.url, [slowDeploy, { data: '{', delayMs: 10 }], { timeoutMs: 5000 });
      expect(ex.statuses).toEqual([408]);
      expect(ex.ms).toBeLessThan(3000);
      expect((await fetch(`${child.url}/healthz`)).status).toBe(200);
    } finally {
      await child.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
    const bad = await runCli(['serve', '--port', '0', '--data', dataDir, '--body-timeout', '0']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--body-timeout must be an integer/);
    rmSync(dataDir, { recursive: true, force: true });
  });
});
