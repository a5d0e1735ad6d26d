import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SOURCES, waitFor } from '../helpers/gateway.ts';
import { bounded, startAttackGateway, type AttackGateway } from './harness.ts';

// Functions are read from disk on their first request (and again after they were forgotten): what is
// read then gets the same checks as at deploy, and requests for names that do not exist cost nothing.

let t: AttackGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const loaded = async (gw: AttackGateway) => Number(/^faas_functions_loaded (\S+)$/m.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1]);

describe('lazy loading under attack', () => {
  it('a flood of requests for functions that do not exist loads nothing and leaves nothing behind', async () => {
    t = await startAttackGateway();
    const names = Array.from({ length: 600 }, (_, i) => `ghost-${i}-${'x'.repeat(i % 40)}`);
    const statuses = await bounded(60_000, 'the ghost requests', async () => {
      const out: number[] = [];
      for (let i = 0; i < names.length; i += 50) {
        out.push(...(await Promise.all(names.slice(i, i + 50).map(async (n) => (await t!.fn(n)).status))));
      }
      return out;
    });
    expect(new Set(statuses)).toEqual(new Set([404]));
    expect(await loaded(t)).toBe(0);
    expect(t.gw.registry.count()).toBe(1); // the neighbour
    await t.assertHealthy();
  });

  it('an artifact file swapped while its function sat forgotten is refused and rebuilt on the next request', async () => {
    t = await startAttackGateway({ functionIdleTtlMs: 1000 });
    await t.deployOk('alpha', SOURCES.version('I am alpha'));
    await t.deployOk('beta', SOURCES.version('I am beta'));
    expect(await (await t.fn('beta')).text()).toBe('I am beta');
    await waitFor(() => t!.gw.runtime.get('beta') === undefined, { timeoutMs: 10_000, what: 'beta to be forgotten' });
    const alpha = t.gw.registry.get('alpha')!;
    const beta = t.gw.registry.get('beta')!;
    copyFileSync(join(t.dataDir, alpha.artifact), join(t.dataDir, beta.artifact));
    expect(await (await t.fn('beta')).text()).toBe('I am beta');
    expect(t.logs.some((l) => l.msg === 'rebuilding function from stored source' && l.function === 'beta' && l.error === 'artifact_invalid')).toBe(true);
    expect(await (await t.fn('alpha')).text()).toBe('I am alpha');
    await t.assertHealthy();
  });
});
