import { afterAll, beforeAll, describe, it } from 'vitest';
import { startAttackGateway, type AttackGateway } from './harness.ts';

describe('attack harness', () => {
  let t: AttackGateway;
  beforeAll(async () => {
    t = await startAttackGateway();
  });
  afterAll(() => t?.close());

  it('starts a gateway whose neighbour answers', async () => {
    await t.assertHealthy();
  });
});
