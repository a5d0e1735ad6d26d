import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { tempDir } from '../../test/helpers/gateway.ts';
import { openRegistryDb } from '../registry/store.ts';
import { UsageMeter } from './meter.ts';

const dir = tempDir('faas-usage-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('usage meter', () => {
  it('a write that fails (full disk, locked file) neither crashes the timer nor loses or doubles figures', async () => {
    const db = openRegistryDb(join(dir, 'faas.db'));
    const meter = new UsageMeter(db, 10);
    const at = Date.UTC(2026, 10, 30, 10, 15);
    meter.add('t', 'f', { invocations: 1, cpuMs: 2 }, at);
    await meter.flush();
    db.exec('ALTER TABLE usage RENAME TO usage_away');
    meter.add('t', 'f', { invocations: 2, cpuMs: 3 }, at);
    meter.add('t', 'g', { invocations: 5 }, at + 3_600_000);
    await expect(meter.flush()).rejects.toThrow();
    meter.add('t', 'f', { invocations: 4 }, at);
    // the timer runs into the same failure several times: nothing is thrown out of it
    await new Promise((r) => setTimeout(r, 60));
    db.exec('ALTER TABLE usage_away RENAME TO usage');
    const rows = await meter.query({ tenant: 't' });
    expect(rows.map((r) => [r.function, r.invocations, r.cpuMs])).toEqual([
      ['f', 7, 5],
      ['g', 5, 0],
    ]);
    await meter.close();
    db.close();
  });
});
