import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounded, startAttackGateway, type AttackGateway } from './harness.ts';

/**
 * User code replaces the built-ins the prelude could call (every method of Object, Object.prototype,
 * Array.prototype and its iterator, Map/Set/WeakMap, the String and RegExp methods, JSON, Promise's
 * then/catch/finally and resolve, Function.prototype.call/apply/bind/toString; getters for
 * get/set/value/writable on Object.prototype; species constructors) before any Web API is touched,
 * then uses every API, before and after its response goes out. The prelude must never hand a patch
 * a function that is neither the user's nor public API (the host function above all), never build
 * anything through a species constructor, never call a patched built-in at all, and keep working.
 * The guest module is prelude-patching.guest.js; it reports through KV once its waitUntil work is done.
 */

const GUEST = readFileSync(new URL('./prelude-patching.guest.js', import.meta.url), 'utf8');

interface Report {
  variant: string;
  lastRun: string | null;
  collected: number;
  unexpected: unknown[];
  dunder: string[];
  species: string[];
  zoneCalls: string[];
  errors: string[];
  checks: Record<string, unknown>;
}

describe('the prelude under patched built-ins', () => {
  let t: AttackGateway;
  let upstream: Server;
  let port: number;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, headers: req.headers, body }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    port = (upstream.address() as AddressInfo).port;
    t = await startAttackGateway();
  });

  afterAll(async () => {
    await t?.close();
    await new Promise((r) => upstream?.close(r));
  });

  async function deploy(variant: string): Promise<string> {
    const name = `patched-${variant}`;
    const source = GUEST.replaceAll('%VARIANT%', variant).replaceAll('%UPSTREAM%', `http://127.0.0.1:${port}`);
    await t.deployOk(name, source, { allowedHosts: [`127.0.0.1:${port}`], kv: ['PATCHKV'], memoryMb: 16, cpuMs: 5000 });
    return name;
  }

  /** Two runs (the second on a warm instance, its patches still in place), then the report of the last. */
  async function attack(variant: string): Promise<Report> {
    const name = await deploy(variant);
    for (let n = 1; n <= 2; n++) {
      const res = await bounded(20_000, `run ${n} of ${variant}`, () =>
        t.fn(name, `/run?q=1&n=${n}`, { method: 'POST', headers: { 'x-probe': 'p' }, body: 'incoming' }),
      );
      const text = await res.text();
      expect(res.status, text).toBe(200);
      expect(res.headers.get('x-run')).toBe(variant);
      expect(JSON.parse(text)).toEqual({ ok: true, errors: [] });
    }
    return bounded(20_000, `report of ${variant}`, async () => {
      for (;;) {
        const res = await t.fn(name, '/report');
        const text = await res.text();
        if (res.status === 200) {
          const report = JSON.parse(text) as Report;
          if (report.lastRun === '2') return report;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    });
  }

  function expectClean(report: Report): void {
    expect(report.errors).toEqual([]);
    expect(report.unexpected).toEqual([]);
    expect(report.dunder).toEqual([]);
    expect(report.species).toEqual([]);
    expect(report.zoneCalls).toEqual([]);
  }

  it('recorders on every method see no function but the user\'s and public API, and every API still works', async () => {
    const report = await attack('record');
    expectClean(report);
    // the recorders did see things (user code calls them too): the attack was in place
    expect(report.collected).toBeGreaterThan(0);
    const c = report.checks;
    expect(c.method).toBe('POST');
    expect(c['incoming header']).toBe('p');
    expect(c['incoming body']).toBe('incoming');
    expect(c['incoming url']).toBe('1');
    expect(c.headers).toEqual(['1, 3', true, 2, 4, 'set-cookie,set-cookie,x-a,x-c', 4, 'set-cookie=a=1;set-cookie=b=2;x-a=1, 3;x-c=4']);
    expect(c['headers init']).toEqual(['r', 'm', '4', 'n']);
    expect(c.url).toEqual(['https://a.example/z?x=1&y=2&w=v+w#k', 'https://a.example', 'https://b.example/a/r?s=1', false, 'c.example', '{"u":"https://a.example/z?x=1&y=2&w=v+w#k"}']);
    expect(c['search params']).toEqual(['a=A&b=2', 'r=s', '  1', 2, 'aA,b2', 2, 1, true]);
    expect(c.encoding).toEqual([11, 2, 4, 'h\u00e9llo \u{1f600}']);
    expect(c.crypto).toEqual([4, 0xba, true, 'SHA-256', 'sign', 3, 'NotSupportedError', 36, true, 'secret']);
    expect(c.clone).toEqual([true, 'd', true, 0, '/x/gi', 2, 2, 'RangeError', 'why', 3, false, 'DataCloneError']);
    expect(c.abort).toEqual(['abort,onabort', 'why', true, true, 'TimeoutError', false, 1, 'AbortError', 25]);
    expect(c.fetch).toEqual([200, 'POST', 'u', 'up\u00e9', 'f=g', 'stop', true, 'TypeError', 'application/json']);
    expect(c.base64).toEqual(['aGn/', 'hi']);
    expect(c.bodies).toEqual(['POST', 1, '1', null, 'hi', 2, 3, 'piped', 2, 1, 'https://a.example/next', 'error', 'a=1', 1]);
    expect(c.blob).toEqual([3, 'text/plain', 'abc', 'bc', 3, 3, 'f.txt', 3, 's,b,f', 's,b,f', 'g.txt', 'abc', 'text/plain', 1, '3', 'multipart/form-data', true, 1]);
    expect(c.kv).toEqual([7, 1, 2, true, 1, true, null]);
    expect(c.timers).toEqual(['micro', true, -1]);
    expect(c.after).toEqual(['1', 1, 'late.example']);
    await t.assertHealthy();
  });

  it('no species constructor is ever asked to build a result the prelude uses', async () => {
    const report = await attack('species');
    expectClean(report);
    await t.assertHealthy();
  });

  it('a setter for array indices on Array.prototype sees no prelude function written into an array', async () => {
    const report = await attack('indices');
    expectClean(report);
    await t.assertHealthy();
  });

  it('with each API call alone in a window, no patched built-in is called by the prelude, before or after the response goes out', async () => {
    const report = await attack('strict');
    expectClean(report);
    await t.assertHealthy();
  });
});
