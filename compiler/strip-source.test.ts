import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../test/helpers/gateway.ts';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
});
afterAll(() => t.close());

describe('function bytecode without source text', () => {
  it('answers toString() of guest functions like a built-in, and keeps stack positions', async () => {
    const source = `function add(a: number, b: number) { return a + b; }
export default { fetch() {
  const stack = new Error('here').stack ?? '';
  return Response.json({ text: add.toString(), sum: add(1, 2), positioned: /:\\d+:\\d+/.test(stack) });
} };`;
    expect((await t.deploy('stripped', source)).status).toBe(201);
    const res = await t.fn('stripped');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { text: string; sum: number; positioned: boolean };
    expect(body.sum).toBe(3);
    expect(body.text).toContain('[native code]');
    expect(body.text).not.toContain('a + b');
    expect(body.positioned).toBe(true);
  });
});
