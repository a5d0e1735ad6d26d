/**
 * Attacks on what the authoring kit added to the deploy and request paths: a config's `$schema`
 * key, the handler probe under the function's own memoryMb and cpuMs (a module that takes all the
 * memory or CPU it is given at top level), and the source mapping of text the guest produces (console
 * lines and error response bodies) with a source map the uploader wrote: source names megabytes long,
 * names that would break the JSON they are put into, and thousands of frames.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleSource } from '../../gateway/bundle-source.ts';
import { bounded, startAttackGateway, type AttackGateway } from './harness.ts';

let t: AttackGateway;
beforeAll(async () => {
  t = await startAttackGateway();
});
afterAll(() => t?.close());

async function deploy(name: string, body: unknown): Promise<{ status: number; error: string; message: string }> {
  const res = await t.admin('PUT', `/admin/functions/${name}`, body);
  const parsed = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
  return { status: res.status, error: parsed.error ?? '', message: parsed.message ?? '' };
}

const OK_SOURCE = 'export default { fetch: () => new Response("ok") };';

describe('a config\'s $schema key', () => {
  it.each([
    ['a number', 1],
    ['an object', { $ref: '#' }],
    ['3000 characters', 'x'.repeat(3000)],
  ])('is refused when it is %s', async (_what, $schema) => {
    const r = await deploy('schema-bad', { source: OK_SOURCE, filename: 'schema-bad.ts', config: { $schema } });
    expect(r.status).toBe(400);
    expect(r.error).toBe('bad_request');
    expect(r.message).toMatch(/\$schema/);
    await t.assertHealthy();
  });

  it('cannot smuggle other keys through __proto__', async () => {
    const raw = `{"source":${JSON.stringify(OK_SOURCE)},"filename":"schema-proto.ts","config":{"$schema":"x","__proto__":{"memoryMb":128,"cpuMs":60000}}}`;
    const r = await deploy('schema-proto', raw);
    expect(r.status).toBe(400);
    expect(r.error).toBe('bad_request');
    expect(t.gw.registry.get('schema-proto')).toBeUndefined();
    await t.assertHealthy();
  });
});

describe('the probe under the function\'s own limits', () => {
  it('a module that allocates without end at top level is refused, naming memoryMb, and nothing is deployed', async () => {
    const source = 'const hog: unknown[] = []; for (;;) hog.push(new Array(65536).fill(hog.length));\nexport default { fetch: () => new Response("") };';
    for (const memoryMb of [1, 128]) {
      const r = await bounded(60_000, `the probe at memoryMb ${memoryMb}`, () => deploy('top-hog', { source, filename: 'top-hog.ts', config: { memoryMb } }));
      expect(r.status).toBe(422);
      expect(r.error).toBe('compile_error');
      expect(r.message).toMatch(/config key "memoryMb"/);
      expect(r.message).toMatch(memoryMb === 128 ? /more than the largest memoryMb \(128\)/ : /set "memoryMb" to more than 64/);
      expect(t.gw.registry.get('top-hog')).toBeUndefined();
      await t.assertHealthy();
    }
  });

  it('top-level code that spins is stopped at the function\'s cpuMs, twice at most', async () => {
    const source = 'for (;;) {}\nexport default { fetch: () => new Response("") };';
    const started = Date.now();
    const r = await bounded(30_000, 'the probe at cpuMs 20', () => deploy('top-spin', { source, filename: 'top-spin.ts', config: { cpuMs: 20 } }));
    expect(r.status).toBe(422);
    expect(r.message).toMatch(/exceeded the function's CPU limit of 20 ms \(config key "cpuMs"\)/);
    // two evaluations of 20 ms and the compile: far from the probe's own 1,000 ms
    expect(Date.now() - started).toBeLessThan(10_000);
    await t.assertHealthy();
  });
});

/** A function whose source map names its one source `name`, printing and returning `frames` stacks. */
function withSourceName(name: string): string {
  const code = `export default {
  async fetch(request) {
    const frames = Number(new URL(request.url).searchParams.get('n') ?? '1');
    let stacks = '';
    try { null.x; } catch (e) { for (let i = 0; i < frames; i++) stacks += e.stack; }
    console.error(stacks.slice(0, 16000));
    const json = new URL(request.url).pathname === '/json';
    return json
      ? Response.json({ stack: stacks.slice(0, 60000) }, { status: 500 })
      : new Response(stacks.slice(0, 60000), { status: 500, headers: { 'content-type': 'text/plain' } });
  },
};
`;
  // an identity map of every line onto the same source
  const mappings = code.split('\n').map((_, i) => (i === 0 ? 'AAAA' : 'AACA')).join(';');
  return bundleSource({ code, map: JSON.stringify({ version: 3, sources: [name], sourcesContent: [code], names: [], mappings }) });
}

describe('mapping the text a guest produces, with a hostile source map', () => {
  const cases: [string, string][] = [
    ['a source name of 4 MiB', `${'a'.repeat(4 * 1024 * 1024)}.ts`],
    ['a source name of 900 characters, frame after frame', `${'b'.repeat(900)}.ts`],
    ['a source name that breaks JSON and lines', 'q"\\\n"}{,.ts'],
  ];
  it.each(cases)('%s: the response stays valid and bounded, the gateway unharmed', async (_what, sourceName) => {
    const name = `map-${cases.findIndex(([, n]) => n === sourceName)}`;
    const deployed = await deploy(name, { source: withSourceName(sourceName), filename: `${name}.js` });
    expect(deployed.status, deployed.message).toBe(201);
    for (const n of [1, 2000]) {
      const json = await bounded(20_000, `the JSON error body of ${n} stacks`, () => t.fn(name, `/json?n=${n}`));
      expect(json.status).toBe(500);
      const text = await json.text();
      // never more than the body plus the mapping's bound, and always valid JSON
      expect(text.length).toBeLessThan(60_000 + 200 * 1024);
      const body = JSON.parse(text) as { stack: string };
      expect(body.stack).toMatch(/at fetch \(/);
      if (sourceName.length < 1024 && n === 1) expect(body.stack).toContain(`(${sourceName}:5:`);
      const plain = await bounded(20_000, `the text error body of ${n} stacks`, () => t.fn(name, `/text?n=${n}`));
      const bytes = new Uint8Array(await plain.arrayBuffer());
      expect(bytes.byteLength).toBeLessThan(60_000 + 200 * 1024);
      const length = plain.headers.get('content-length');
      if (length !== null) expect(Number(length)).toBe(bytes.byteLength);
    }
    // console lines are mapped under the same bound
    const lines = t.logs.filter((l) => l.source === 'guest' && l.function === name && l.guestLevel === 'error').map((l) => String(l.msg ?? ''));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.length).toBeLessThan(16_000 + 200 * 1024);
    await t.assertHealthy();
  }, 120_000);
});
