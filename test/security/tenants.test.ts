/**
 * A hostile tenant: forged and mangled tokens, reaching into another tenant's functions, KV, routes
 * and logs, going round its quotas, exhausting the live-log streams, and guest output aimed at the
 * log stream's framing. After each: the gateway and a neighbour still answer.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounded, startAttackGateway, type AttackGateway } from './harness.ts';

let t: AttackGateway;
let victim: string;
let attacker: string;

const as = (token: string, method: string, path: string, body?: unknown) => t.admin(method, path, body, token);

beforeAll(async () => {
  t = await startAttackGateway();
  for (const name of ['victim', 'attacker']) expect((await t.admin('POST', '/admin/tenants', { name })).status).toBe(201);
  victim = (await (await t.admin('POST', '/admin/tenants/victim/tokens', {})).json()).token;
  attacker = (await (await t.admin('POST', '/admin/tenants/attacker/tokens', {})).json()).token;
  const store = `export default { async fetch(req: Request, env: any) {
    const u = new URL(req.url);
    if (u.pathname === '/put') { await env.SECRETS.put('k', 'victim-data'); return new Response('ok'); }
    return new Response(String(await env.SECRETS.get('k')));
  } };`;
  expect((await as(victim, 'PUT', '/admin/functions/victim-store', { source: store, config: { kv: ['SECRETS'], routes: ['victim.test/*'] } })).status).toBe(201);
  expect(await (await t.fn('victim-store', '/put')).text()).toBe('ok');
});
afterAll(() => t?.close());

describe('tokens', () => {
  it('refuses forged, truncated, padded and oversized tokens without revealing which part was wrong', async () => {
    const id = victim.split('_')[1]!;
    const candidates = [
      `faas_${id}_`,
      `faas_${id}_${'A'.repeat(43)}`,
      `${victim}x`,
      victim.slice(0, -1),
      victim.toUpperCase(),
      `faas_${'0'.repeat(12)}_${victim.split('_').slice(2).join('_')}`,
      `faas_${id}_${victim.split('_').slice(2).join('_')}\u0000`,
      'x'.repeat(8000),
      `${t.token}x`,
    ];
    for (const token of candidates) {
      const res = await fetch(`${t.url}/admin/functions`, { headers: { authorization: `Bearer ${encodeURIComponent(token)}` } });
      expect(res.status).toBe(401);
      expect((await res.json()).message).toBe('invalid or revoked token');
    }
    await t.assertHealthy();
  });
});

describe('reaching into another tenant', () => {
  it('cannot read, change, delete, roll back, split or tail the victim’s function', async () => {
    const paths: [string, string, unknown?][] = [
      ['GET', '/admin/functions/victim-store'],
      ['PUT', '/admin/functions/victim-store', { source: 'export default { fetch() { return new Response("pwned") } }' }],
      ['DELETE', '/admin/functions/victim-store'],
      ['POST', '/admin/functions/victim-store/rollback', {}],
      ['PUT', '/admin/functions/victim-store/deployment', { split: [{ version: 1, percent: 100 }] }],
      ['GET', '/admin/functions/victim-store/versions'],
      ['GET', '/admin/functions/victim-store/logs?follow=1'],
      ['GET', '/admin/functions/VICTIM-STORE'],
      ['GET', '/admin/functions/victim-store%2F..'],
    ];
    for (const [method, path, body] of paths) {
      const res = await as(attacker, method, path, body);
      expect([400, 404, 409]).toContain(res.status);
    }
    expect(await (await t.fn('victim-store')).text()).toBe('victim-data');
    await t.assertHealthy();
  });

  it('gets its own KV namespace under the same binding name, and no name reaches the victim’s', async () => {
    const reader = `export default { async fetch(req: Request, env: any) { return new Response(String(await env.SECRETS.get('k'))); } };`;
    expect((await as(attacker, 'PUT', '/admin/functions/attacker-reader', { source: reader, config: { kv: ['SECRETS'] } })).status).toBe(201);
    expect(await (await t.fn('attacker-reader')).text()).toBe('null');
    // a binding name that would spell the victim's scoped namespace is not a valid binding name
    for (const kv of [['victim/SECRETS'], ['../SECRETS'], ['SECRETS\u0000']]) {
      expect((await as(attacker, 'PUT', '/admin/functions/attacker-reader2', { source: reader, config: { kv } })).status).toBe(400);
    }
    await t.assertHealthy();
  });

  it('cannot take the victim’s host or any path under it, by exact, prefix or wildcard claim', async () => {
    const src = 'export default { fetch() { return new Response("hijacked") } }';
    for (const routes of [['victim.test/*'], ['victim.test/api/*'], ['victim.test/'], ['*.test/*'], ['VICTIM.TEST/*']]) {
      const res = await as(attacker, 'PUT', '/admin/functions/hijack', { source: src, config: { routes } });
      expect(res.status).toBe(409);
    }
    expect((await as(attacker, 'PUT', '/admin/functions/hijack', { source: src, config: { routes: ['attacker.test/*'] } })).status).toBe(201);
    await t.assertHealthy();
  });
});

describe('quotas', () => {
  it('KV bytes cannot be stretched by overwrites, deletes racing puts, or expiring keys', async () => {
    expect((await t.admin('PUT', '/admin/tenants/attacker/quota', { kvBytes: 4096 })).status).toBe(200);
    const filler = `export default { async fetch(req: Request, env: any) {
      const jobs = [];
      for (let i = 0; i < 64; i++) jobs.push(env.FILL.put('k' + (i % 8), 'x'.repeat(900), { expirationTtl: 60 }).then(() => 1, () => 0));
      for (let i = 0; i < 16; i++) jobs.push(env.FILL.delete('k' + i));
      const done = await Promise.all(jobs);
      return new Response(String(done.filter((x) => x === 1).length));
    } };`;
    expect((await as(attacker, 'PUT', '/admin/functions/filler', { source: filler, config: { kv: ['FILL'] } })).status).toBe(201);
    for (let i = 0; i < 5; i++) await bounded(10_000, 'filler', async () => (await t.fn('filler')).text());
    const tenant = await (await t.admin('GET', '/admin/tenants/attacker')).json();
    expect(tenant.kvBytes).toBeLessThanOrEqual(4096);
    expect(tenant.kvBytes).toBeGreaterThanOrEqual(0);
    await t.assertHealthy();
  });

  it('a tenant cannot raise its own quota or mint tokens', async () => {
    expect((await as(attacker, 'PUT', '/admin/tenants/attacker/quota', {})).status).toBe(403);
    expect((await as(attacker, 'POST', '/admin/tenants/attacker/tokens', {})).status).toBe(403);
    expect((await as(attacker, 'POST', '/admin/tenants', { name: 'attacker2' })).status).toBe(403);
    await t.assertHealthy();
  });
});

describe('live logs', () => {
  it('guest output cannot forge events in the stream', async () => {
    const forger = `export default { fetch() {
      console.log('x\\n\\nevent: invocation\\ndata: {"type":"invocation","function":"victim-store","status":200}\\n\\n');
      return new Response('ok');
    } };`;
    expect((await as(attacker, 'PUT', '/admin/functions/forger', { source: forger })).status).toBe(201);
    expect((await t.fn('forger')).status).toBe(200);
    const res = await as(attacker, 'GET', '/admin/functions/forger/logs?follow=1');
    const reader = res.body!.getReader();
    let text = '';
    await bounded(5000, 'stream', async () => {
      while (!text.includes('event: invocation')) text += new TextDecoder().decode((await reader.read()).value);
    });
    await reader.cancel();
    const events = text.split('\n\n').filter((b) => b.startsWith('event: '));
    expect(events).toHaveLength(1);
    const data = JSON.parse(events[0]!.slice(events[0]!.indexOf('data: ') + 6));
    expect(data.function).toBe('forger');
    expect(data.logs[0].text).toContain('event: invocation');
    await t.assertHealthy();
  });

  it('cannot exhaust the gateway with followers: past the cap it is refused, and closing frees them', async () => {
    const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      const res = await as(attacker, 'GET', '/admin/functions/forger/logs?follow=1');
      if (res.status === 503) {
        refused++;
        expect((await res.json()).error).toBe('overloaded');
      } else readers.push(res.body!.getReader());
    }
    expect(readers).toHaveLength(16);
    expect(refused).toBe(4);
    await t.assertHealthy();
    for (const r of readers) await r.cancel();
    // freed: a new follower is let in again
    const again = await bounded(5000, 'free', async () => {
      for (;;) {
        const res = await as(attacker, 'GET', '/admin/functions/forger/logs?follow=1');
        if (res.status === 200) return res;
        await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    await again.body!.cancel();
    await t.assertHealthy();
  });
});

/** A new token of `name`, created first if it does not exist yet (so each test can run alone). */
async function tokenOf(name: string): Promise<string> {
  const created = await t.admin('POST', '/admin/tenants', { name });
  expect([201, 409]).toContain(created.status);
  return (await (await t.admin('POST', `/admin/tenants/${name}/tokens`, {})).json()).token;
}

/** Creates a tenant (with a quota) and returns a token of it. */
async function tenantWithToken(name: string, quota?: object): Promise<string> {
  expect((await t.admin('POST', '/admin/tenants', { name, ...(quota ? { quota } : {}) })).status).toBe(201);
  return (await (await t.admin('POST', `/admin/tenants/${name}/tokens`, {})).json()).token;
}

const answer = (text: string) => `export default { fetch(req: Request, env: any) { return new Response(${JSON.stringify(text)} + (env.SECRET ?? '')); } };`;

describe('versions stay with the tenant that deployed them', () => {
  it('a name another tenant deleted and this one took does not come with the old owner’s versions', async () => {
    const owner = await tokenOf('owner');
    const squatter = await tokenOf('squatter');
    expect((await as(owner, 'PUT', '/admin/functions/reused', { source: answer('owner:'), config: { secrets: { SECRET: 'owner-secret' }, kv: ['DATA'] } })).status).toBe(201);
    expect((await as(owner, 'DELETE', '/admin/functions/reused')).status).toBe(204);
    expect((await as(squatter, 'PUT', '/admin/functions/reused', { source: answer('squatter') })).status).toBe(201);

    const versions = await (await as(squatter, 'GET', '/admin/functions/reused/versions')).json();
    expect(versions.map((v: { version: number }) => v.version)).toEqual([2]);
    expect(JSON.stringify(versions)).not.toContain(owner.split('_')[1]);
    for (const [method, path, body] of [
      ['POST', '/admin/functions/reused/rollback', { version: 1 }],
      ['POST', '/admin/functions/reused/rollback', {}],
      ['PUT', '/admin/functions/reused/deployment', { split: [{ version: 1, percent: 100 }] }],
      ['PUT', '/admin/functions/reused/deployment', { split: [{ version: 2, percent: 50 }, { version: 1, percent: 50 }] }],
    ] as const) {
      const res = await as(squatter, method, path, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(404);
      expect((await res.json()).message).not.toContain('owner');
    }
    for (let i = 0; i < 10; i++) expect(await (await t.fn('reused')).text()).toBe('squatter');
    expect(t.gw.registry.get('reused')?.tenant).toBe('squatter');
    await t.assertHealthy();
  });

  it('a rollback or a split cannot bring back a route another tenant has claimed since', async () => {
    const squatter = await tokenOf('squatter');
    const owner = await tokenOf('owner');
    expect((await as(squatter, 'PUT', '/admin/functions/hopper', { source: answer('hopper v1'), config: { routes: ['contested.test/*'] } })).status).toBe(201);
    expect((await as(squatter, 'PUT', '/admin/functions/hopper', { source: answer('hopper v2') })).status).toBe(201);
    expect((await as(owner, 'PUT', '/admin/functions/contested-owner', { source: answer('rightful'), config: { routes: ['contested.test/*'] } })).status).toBe(201);

    for (const [method, path, body] of [
      ['POST', '/admin/functions/hopper/rollback', { version: 1 }],
      ['PUT', '/admin/functions/hopper/deployment', { split: [{ version: 1, percent: 60 }, { version: 2, percent: 40 }] }],
      ['PUT', '/admin/functions/hopper/deployment', { split: [{ version: 1, percent: 100 }] }],
    ] as const) {
      const res = await as(squatter, method, path, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(409);
      expect((await res.json()).error).toBe('conflict');
    }
    expect((await rawGet('contested.test', '/x')).body).toBe('rightful');
    expect(await (await t.fn('hopper')).text()).toBe('hopper v2');
    await t.assertHealthy();
  });
});

describe('quotas hold for every live version', () => {
  it('a rollback or a split cannot bring back a version over a quota the operator lowered since', async () => {
    const tight = await tenantWithToken('tight');
    expect((await as(tight, 'PUT', '/admin/functions/roomy', { source: answer('v1'), config: { memoryMb: 8, cpuMs: 400, timeoutMs: 4000 } })).status).toBe(201);
    expect((await t.admin('PUT', '/admin/tenants/tight/quota', { memoryMb: 4, cpuMs: 200, timeoutMs: 2000 })).status).toBe(200);
    expect((await as(tight, 'PUT', '/admin/functions/roomy', { source: answer('v2'), config: { memoryMb: 4 } })).status).toBe(201);
    for (const [method, path, body] of [
      ['POST', '/admin/functions/roomy/rollback', { version: 1 }],
      ['POST', '/admin/functions/roomy/rollback', {}],
      ['PUT', '/admin/functions/roomy/deployment', { split: [{ version: 1, percent: 100 }] }],
      ['PUT', '/admin/functions/roomy/deployment', { split: [{ version: 2, percent: 90 }, { version: 1, percent: 10 }] }],
    ] as const) {
      const res = await as(tight, method, path, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(403);
      expect((await res.json()).error).toBe('quota_exceeded');
    }
    expect(await (await t.fn('roomy')).text()).toBe('v2');
    await t.assertHealthy();
  });

  it('memoryMb counts every version of a traffic split, not just the primary one', async () => {
    const split = await tenantWithToken('splitter', { memoryMb: 4 });
    expect((await as(split, 'PUT', '/admin/functions/halves', { source: answer('a'), config: { memoryMb: 2 } })).status).toBe(201);
    // 2 MB live + 3 MB canary beside it: 5 MB > 4
    const over = await as(split, 'PUT', '/admin/functions/halves', { source: answer('b'), config: { memoryMb: 3 }, percent: 10 });
    expect(over.status).toBe(403);
    expect((await over.json()).error).toBe('quota_exceeded');
    expect((await as(split, 'PUT', '/admin/functions/halves', { source: answer('b'), config: { memoryMb: 2 }, percent: 50 })).status).toBe(201);
    // both versions are live: 4 MB used, nothing left for another function
    const another = await as(split, 'PUT', '/admin/functions/halves2', { source: answer('c'), config: { memoryMb: 1 } });
    expect(another.status).toBe(403);
    expect((await another.json()).error).toBe('quota_exceeded');
    // a split over three kept versions is refused too (2 + 2 + 1 MB)
    expect((await as(split, 'PUT', '/admin/functions/halves', { source: answer('d'), config: { memoryMb: 1 } })).status).toBe(201);
    const three = await as(split, 'PUT', '/admin/functions/halves/deployment', { split: [{ version: 1, percent: 40 }, { version: 2, percent: 30 }, { version: 3, percent: 30 }] });
    expect(three.status).toBe(403);
    expect((await three.json()).message).toContain('5 MB asked by 3 live versions');
    await t.assertHealthy();
  });

  it('concurrent deploys of one tenant cannot go over its functions quota together', async () => {
    const racer = await tenantWithToken('racer', { functions: 2 });
    const results = await bounded(60_000, 'racing deploys', () =>
      Promise.all([0, 1, 2, 3, 4].map((i) => as(racer, 'PUT', `/admin/functions/racer-${i}`, { source: answer(`r${i}`) }).then((r) => r.status))),
    );
    expect(results.filter((s) => s === 201)).toHaveLength(2);
    expect(results.filter((s) => s === 403)).toHaveLength(3);
    expect(t.gw.registry.ofTenant('racer')).toHaveLength(2);
    await t.assertHealthy();
  });
});

/** A request with any Host header and request target, on its own connection. */
function rawGet(host: string, path: string, extra: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(t.url);
    const req = request({ host: u.hostname, port: u.port, path, headers: { host, ...extra }, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('live logs stay with the tenant', () => {
  /** Reads a follower's stream for up to `ms` (or until it ends); returns the text and whether it ended. */
  async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, ms: number): Promise<{ text: string; ended: boolean }> {
    let text = '';
    const until = Date.now() + ms;
    for (;;) {
      const left = until - Date.now();
      if (left <= 0) return { text, ended: false };
      const next = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), left))]);
      if (next === null) return { text, ended: false };
      if (next.done) return { text, ended: true };
      text += new TextDecoder().decode(next.value);
    }
  }

  it('a name another tenant takes over comes without the old owner’s log buffer, and the old owner’s followers see nothing of the new one', async () => {
    const owner = await tokenOf('owner');
    const squatter = await tokenOf('squatter');
    const logger = (text: string) => `export default { async fetch(req: Request) {
      if (new URL(req.url).pathname === '/slow') await new Promise((r) => setTimeout(r, 1500));
      console.log(${JSON.stringify(text)}, new URL(req.url).pathname);
      return new Response('ok');
    } };`;
    expect((await as(owner, 'PUT', '/admin/functions/tailed', { source: logger('owner-private') })).status).toBe(201);
    expect((await t.fn('tailed', '/first')).status).toBe(200);
    const follow = await as(owner, 'GET', '/admin/functions/tailed/logs?follow=1&limit=0');
    expect(follow.status).toBe(200);
    const reader = follow.body!.getReader();
    // one request still running when the function is deleted: it finishes after the name changed hands
    const slow = t.fn('tailed', '/slow');
    await new Promise((r) => setTimeout(r, 200));
    expect((await as(owner, 'DELETE', '/admin/functions/tailed')).status).toBe(204);
    expect((await as(squatter, 'PUT', '/admin/functions/tailed', { source: logger('squatter-private') })).status).toBe(201);
    await bounded(10_000, 'slow request', async () => (await slow).arrayBuffer());
    expect((await t.fn('tailed', '/second')).status).toBe(200);

    const seen = await (await as(squatter, 'GET', '/admin/functions/tailed/logs')).text();
    expect(seen).toContain('squatter-private');
    expect(seen).not.toContain('owner-private');
    const followed = await drain(reader, 1000);
    expect(followed.text).not.toContain('squatter-private');
    expect(followed.ended).toBe(true);
    await t.assertHealthy();
  });
});

describe('live log followers', () => {
  /** Opens a follower on a raw socket and resolves once the response head has arrived. */
  function rawFollower(token: string, fn: string): Promise<Socket> {
    const u = new URL(t.url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(u.port), u.hostname, () => {
        socket.write(`GET /admin/functions/${fn}/logs?follow=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`);
      });
      let head = '';
      socket.setEncoding('utf8');
      socket.on('data', (d) => {
        head += d;
        if (head.includes('\r\n\r\n')) {
          socket.removeAllListeners('data');
          if (head.startsWith('HTTP/1.1 200')) resolve(socket);
          else reject(new Error(head.slice(0, 200)));
        }
      });
      socket.on('error', reject);
    });
  }

  it('followers that vanish without closing (sockets destroyed) are freed', async () => {
    const owner = await tokenOf('owner');
    expect((await as(owner, 'PUT', '/admin/functions/watched', { source: answer('watched') })).status).toBe(201);
    for (let round = 0; round < 3; round++) {
      const sockets = await bounded(10_000, 'followers', () => Promise.all(Array.from({ length: 16 }, () => rawFollower(owner, 'watched'))));
      for (const s of sockets) s.destroy();
    }
    // all 48 were freed: 16 more get in
    const again = await bounded(10_000, 'followers again', () => Promise.all(Array.from({ length: 16 }, () => rawFollower(owner, 'watched'))));
    expect((await t.fn('watched')).status).toBe(200);
    for (const s of again) s.destroy();
    await t.assertHealthy();
  });

  it('a drain does not wait for followers: their streams end and the gateway closes well within the grace period', async () => {
    const own = await startAttackGateway();
    try {
      expect((await own.deploy('watched', answer('watched'))).status).toBe(201);
      const readers = [];
      for (let i = 0; i < 4; i++) {
        const res = await own.admin('GET', '/admin/functions/watched/logs?follow=1');
        expect(res.status).toBe(200);
        readers.push(res.body!.getReader());
      }
      const started = Date.now();
      await bounded(15_000, 'drain', () => own.gw.drain(60_000));
      expect(Date.now() - started).toBeLessThan(15_000);
      for (const r of readers) {
        await bounded(5000, 'stream end', async () => {
          for (;;) if ((await r.read().catch(() => ({ done: true }))).done) return;
        });
      }
    } finally {
      await own.close();
    }
  });
});

describe('host routes and request targets', () => {
  const echo = `export default { fetch(req: Request) {
    const u = new URL(req.url);
    return new Response('guest saw ' + u.pathname + u.search + ' auth=' + (req.headers.get('authorization') ?? ''));
  } };`;

  it('a claim on the gateway’s own host never gets an admin request, percent-encoded or not, nor the token it carries', async () => {
    const claimer = await tokenOf('claimer');
    expect((await as(claimer, 'PUT', '/admin/functions/claims-all', { source: echo, config: { routes: ['gw.test/*'] } })).status).toBe(201);
    expect((await rawGet('gw.test', '/anything')).body).toBe('guest saw /anything auth=');
    for (const path of ['/%61dmin/nothing', '/%61dmin/functions/neighbour/nope', '/adm%69n/tenants/x/y/z', '/%66n', '/%68ealthz']) {
      for (const token of [t.token, claimer]) {
        const res = await rawGet('gw.test', path, { authorization: `Bearer ${token}` });
        expect(res.body, path).not.toContain('guest saw');
        expect(res.body).not.toContain(token);
      }
    }
    await t.assertHealthy();
  });

  it('under /fn/<name>, the guest sees the path after the name however the name was sent', async () => {
    expect((await t.deploy('pathy', echo)).status).toBe(201);
    const cases: [string, string][] = [
      ['/fn/pathy/a?b=1', '/a?b=1'],
      ['/fn/%70athy/a?b=1', '/a?b=1'],
      ['/%66n/pathy/a', '/a'],
      ['/fn/%70%61%74%68%79', '/'],
      ['/fn/%70%61%74%68%79?q=/x/y', '/?q=/x/y'],
      ['/fn/pathy/', '/'],
      ['/fn/pathy//x', '//x'],
    ];
    for (const [sent, seen] of cases) expect((await rawGet('localhost', sent)).body, sent).toBe(`guest saw ${seen} auth=`);
    await t.assertHealthy();
  });
});

describe('rate limits', () => {
  it('one bucket per function whichever way it is reached (/fn, its host route, any version of a split), and refused requests are not billed', async () => {
    const tok = await tokenOf('limited');
    const config = { rateLimit: { requestsPerSecond: 0.5, burst: 2 }, routes: ['capped.test/*'] };
    expect((await as(tok, 'PUT', '/admin/functions/capped', { source: answer('v1'), config })).status).toBe(201);
    expect((await as(tok, 'PUT', '/admin/functions/capped', { source: answer('v2'), config, percent: 50 })).status).toBe(201);
    const statuses: number[] = [];
    await bounded(20_000, 'requests', async () => {
      for (let i = 0; i < 12; i++) {
        if (i % 2 === 0) {
          const res = await t.fn('capped', '/', { headers: { 'faas-rollout-key': `k${i}` } });
          await res.arrayBuffer();
          statuses.push(res.status);
        } else statuses.push((await rawGet('capped.test', '/', { 'faas-rollout-key': `k${i}` })).status);
      }
    });
    const ok = statuses.filter((s) => s === 200).length;
    expect(ok).toBeGreaterThanOrEqual(2);
    expect(ok).toBeLessThanOrEqual(4);
    expect(statuses.filter((s) => s === 429)).toHaveLength(12 - ok);
    const usage = await (await as(tok, 'GET', '/admin/usage')).json();
    expect(usage.functions['limited/capped']).toMatchObject({ invocations: ok, errors: 0 });
    // the tenant still sees the refusals in its live log
    const logged = await (await as(tok, 'GET', '/admin/functions/capped/logs?status=429')).json();
    expect(logged).toHaveLength(12 - ok);
    await t.assertHealthy();
  });
});

describe('kvBytes under concurrent writers', () => {
  it('puts racing from many invocations (worker threads too), with metadata, expirations, overwrites and deletes, stay within the quota and the count stays exact', async () => {
    const tok = await tenantWithToken('kvrace', { kvBytes: 8192 });
    const writer = `export default { async fetch(req: Request, env: any) {
      const seed = Number(new URL(req.url).searchParams.get('s'));
      const jobs = [];
      for (let i = 0; i < 24; i++) {
        const key = 'k' + ((seed + i) % 10);
        const size = 100 + ((seed * 31 + i * 17) % 1200);
        const opts = i % 3 === 0 ? { metadata: { by: seed, pad: 'm'.repeat(i * 10) } } : i % 3 === 1 ? { expirationTtl: 3600 } : {};
        jobs.push(env.R.put(key, 'v'.repeat(size), opts).then(() => 1, () => 0));
        if (i % 7 === 0) jobs.push(env.R.delete('k' + ((seed + i + 3) % 10)).then(() => 0, () => 0));
      }
      const done = await Promise.all(jobs);
      return new Response(String(done.reduce((a, b) => a + b, 0)));
    } };`;
    // generous CPU and heap: twelve cold starts at once on a loaded machine must not turn into
    // cpu_limit_exceeded, nor twelve invocations sharing one instance into memory_limit_exceeded
    expect((await as(tok, 'PUT', '/admin/functions/kv-writer', { source: writer, config: { kv: ['R'], cpuMs: 5000, timeoutMs: 20000, memoryMb: 4 } })).status).toBe(201);
    const written = await bounded(30_000, 'writers', () =>
      Promise.all(Array.from({ length: 12 }, (_, s) => t.fn('kv-writer', `?s=${s}`).then(async (r) => (r.status === 200 ? Number(await r.text()) : -1)))),
    );
    expect(written.every((n) => n >= 0)).toBe(true);
    expect(written.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const db = new Database(join(t.dataDir, 'kv.db'), { readonly: true });
    try {
      const actual = (db.prepare(`SELECT COALESCE(SUM(length(CAST(key AS BLOB)) + length(value) + COALESCE(length(CAST(metadata AS BLOB)), 0)), 0) AS n FROM kv WHERE namespace LIKE 'kvrace/%'`).get() as { n: number }).n;
      const counted = (db.prepare(`SELECT bytes FROM kv_tenants WHERE tenant = 'kvrace'`).get() as { bytes: number }).bytes;
      expect(counted).toBe(actual);
      expect(actual).toBeLessThanOrEqual(8192);
    } finally {
      db.close();
    }
    expect((await (await t.admin('GET', '/admin/tenants/kvrace')).json()).kvBytes).toBeLessThanOrEqual(8192);
    await t.assertHealthy();
  });
});
