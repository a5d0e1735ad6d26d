/**
 * Gateways as child processes on one database: a cron firing every second runs once per second
 * across three of them, and keeps doing so after one is SIGKILLed; and what happens while the
 * database is away (readyz 503, deploys `unavailable`, loaded functions keep serving) and after.
 */
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { sleep, SOURCES, waitFor, type ChildGateway } from '../helpers/gateway.ts';
import { clusterDatabase, spawnClusterGateway } from '../helpers/cluster.ts';
import { pgCtl } from '../helpers/postgres.ts';

const children: ChildGateway[] = [];

afterAll(async () => {
  await Promise.all(children.map((c) => c.stop('SIGKILL')));
});

const admin = (gw: ChildGateway, method: string, path: string, body?: unknown) =>
  fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${gw.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const deploy = (gw: ChildGateway, name: string, source: string, config: object = {}) =>
  admin(gw, 'PUT', `/admin/functions/${name}`, { source, filename: `${name}.ts`, config });

/** The guest's own record of its runs: one KV key per run, named by its scheduled second. */
const TICK = `export default {
  async scheduled(controller: { scheduledTime: number }, env: any) {
    await env.RUNS.put(controller.scheduledTime + ':' + Math.random().toString(36).slice(2), '1');
  },
  async fetch(_request: Request, env: any) {
    const names: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 20; i++) {
      const page = await env.RUNS.list({ cursor });
      names.push(...page.keys.map((k: { name: string }) => k.name));
      if (page.list_complete) break;
      cursor = page.cursor;
    }
    return Response.json(names);
  },
};`;

async function runsBySecond(gw: ChildGateway): Promise<Map<number, number>> {
  const names = (await (await fetch(`${gw.url}/fn/tick`)).json()) as string[];
  const counts = new Map<number, number>();
  for (const n of names) {
    const second = Number(n.split(':')[0]);
    counts.set(second, (counts.get(second) ?? 0) + 1);
  }
  return counts;
}

describe('cron across a cluster', () => {
  it('fires once per second across three gateways, and after the one firing is SIGKILLed', async () => {
    const url = await clusterDatabase();
    const gws = await Promise.all([0, 1, 2].map(() => spawnClusterGateway(url)));
    children.push(...gws);
    expect((await deploy(gws[0]!, 'tick', TICK, { crons: ['* * * * * *'], kv: ['RUNS'] })).status).toBe(201);
    // Every gateway schedules it once the change reaches it.
    await sleep(4000);
    const before = await runsBySecond(gws[1]!);
    expect(before.size).toBeGreaterThanOrEqual(2);
    for (const [, n] of before) expect(n).toBe(1);

    // Kill whichever gateway ran the latest firings.
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const { rows } = await db.query<{ gateway: string }>('SELECT gateway FROM cron_firings ORDER BY scheduled_at DESC LIMIT 1');
      const victim = gws.find((g) => rows[0] && g.stderr.concat(g.stdout).some((l) => l.includes(rows[0]!.gateway))) ?? gws[0]!;
      const killedAt = Date.now();
      await victim.stop('SIGKILL');
      const survivor = gws.find((g) => g !== victim)!;
      await sleep(4000);
      const after = await runsBySecond(survivor);
      const since = [...after.keys()].filter((s) => s > killedAt + 1000);
      // Firings go on (no lease to wait out) and each second still runs once.
      expect(since.length).toBeGreaterThanOrEqual(2);
      for (const [, n] of after) expect(n).toBe(1);
    } finally {
      await db.end();
    }
  });
});

describe('the database away', () => {
  it('readyz 503 and deploys unavailable while loaded functions keep serving; all restored after', async () => {
    const server = inject('pg');
    const url = await clusterDatabase();
    const gw = await spawnClusterGateway(url);
    children.push(gw);
    expect((await deploy(gw, 'steady', SOURCES.version('still here'))).status).toBe(201);
    expect(await (await fetch(`${gw.url}/fn/steady`)).text()).toBe('still here');
    // Deployed but never requested here: its artifact is in the database.
    expect((await deploy(gw, 'unloaded', SOURCES.version('later'))).status).toBe(201);

    pgCtl(server, 'stop');
    try {
      await waitFor(async () => ((await fetch(`${gw.url}/readyz`)).status === 503 ? true : undefined), { timeoutMs: 15_000, what: 'readyz to turn 503' });
      expect(((await (await fetch(`${gw.url}/readyz`)).json()) as { status: string }).status).toBe('degraded');
      expect(await (await fetch(`${gw.url}/fn/steady`)).text()).toBe('still here');
      const refused = await deploy(gw, 'steady', SOURCES.version('new'));
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: string }).error).toBe('unavailable');
      expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
      // The artifact cannot be fetched now: 503 unavailable (not a broken artifact, no rebuild).
      const cold = await fetch(`${gw.url}/fn/unloaded`);
      expect(cold.status).toBe(503);
      expect(((await cold.json()) as { error: string }).error).toBe('unavailable');
    } finally {
      pgCtl(server, 'start');
    }
    await waitFor(async () => ((await fetch(`${gw.url}/readyz`)).status === 200 ? true : undefined), { timeoutMs: 20_000, what: 'readyz to recover' });
    expect((await deploy(gw, 'steady', SOURCES.version('new'))).status).toBe(201);
    expect(await (await fetch(`${gw.url}/fn/steady`)).text()).toBe('new');
    expect(await (await fetch(`${gw.url}/fn/unloaded`)).text()).toBe('later');
  });
});
