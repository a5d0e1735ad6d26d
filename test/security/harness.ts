/**
 * The attack harness: a real gateway on loopback with a well-behaved neighbour function deployed
 * beside the attacker's, and the checks every security test ends with: the gateway still answers,
 * the neighbour still answers correctly and promptly, and nothing escaped.
 */
import { expect } from 'vitest';
import { startTestGateway, type TestGateway, type TestGatewayOptions } from '../helpers/gateway.ts';

export const NEIGHBOUR = 'neighbour';

/** Echoes a JSON body back with a marker, so a neighbour that sees a corrupted request is caught. */
export const NEIGHBOUR_SOURCE = `export default {
  async fetch(request: Request) {
    const body = request.method === 'POST' ? await request.json() : null;
    return Response.json({ ok: true, body });
  },
};`;

export interface AttackGateway extends TestGateway {
  /** Deploys `source` as `name` and fails the test unless the deploy succeeded (201). */
  deployOk(name: string, source: string, config?: object): Promise<void>;
  /** The gateway process answers, and the neighbour answers a JSON echo correctly within `withinMs`. */
  assertHealthy(withinMs?: number): Promise<void>;
}

export async function startAttackGateway(options: TestGatewayOptions = {}): Promise<AttackGateway> {
  const t = await startTestGateway(options);
  const deployOk = async (name: string, source: string, config?: object) => {
    const res = await t.deploy(name, source, config);
    if (res.status !== 201) throw new Error(`deploy of ${name} failed: ${res.status} ${await res.text()}`);
  };
  await deployOk(NEIGHBOUR, NEIGHBOUR_SOURCE);
  const assertHealthy = async (withinMs = 5000) => {
    try {
      await checkHealthy(withinMs);
    } catch (err) {
      // A keep-alive socket the server closed while it sat idle in the client's pool fails once with
      // "other side closed": that says nothing about the gateway, so it is retried on a fresh one.
      if (!/other side closed|ECONNRESET|socket/i.test(String((err as Error)?.cause ?? err))) throw err;
      await checkHealthy(withinMs);
    }
  };
  const checkHealthy = async (withinMs: number) => {
    const started = Date.now();
    const health = await fetch(`${t.url}/healthz`, { signal: AbortSignal.timeout(withinMs) });
    expect(health.status).toBe(200);
    const probe = { marker: Math.random().toString(36).slice(2), list: [1, 2, 3] };
    const res = await t.fn(NEIGHBOUR, '', {
      method: 'POST',
      body: JSON.stringify(probe),
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(withinMs),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, body: probe });
    expect(Date.now() - started).toBeLessThan(withinMs);
  };
  return { ...t, deployOk, assertHealthy };
}

/** Runs `fn` with a hard upper bound on its duration, so an attack that hangs fails instead of stalling the suite. */
export async function bounded<T>(ms: number, what: string, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
