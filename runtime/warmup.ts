import { EvalFlags, QuickJS } from 'quickjs-wasi';
import type { Artifact, ArtifactHeader } from '../contract/artifact.ts';
import { parseFunctionConfig } from '../contract/config.ts';
import { quickjsWasmModule } from '../contract/engine.ts';
import type { Runtime } from './runtime.ts';

/** Not a valid function name, so no request can ever reach it. */
const WARMUP_NAME = '__warmup';

const SOURCE = `export default {
  async fetch(request) {
    const url = new URL(request.url);
    const body = request.method === 'POST' ? await request.json() : { q: url.searchParams.get('q') };
    return Response.json({ ok: true, body, n: [1, 2, 3].map((x) => x * 2) }, { headers: { 'x-warm': '1' } });
  },
};`;

let artifact: Promise<Artifact> | undefined;

/** Built in-process from a fixed source: it never comes from outside, so it needs no signature. */
function warmupArtifact(): Promise<Artifact> {
  artifact ??= (async () => {
    const vm = await QuickJS.create({ wasm: quickjsWasmModule() });
    try {
      const bytecode = vm.compile(SOURCE, 'faas-warmup.js', EvalFlags.TYPE_MODULE);
      const header = { entry: 'faas-warmup.js', sha256: 'warmup', bytecodeBytes: bytecode.byteLength } as ArtifactHeader;
      return { header, bytecode, js: SOURCE, sourceMap: '' };
    } finally {
      vm.dispose();
    }
  })();
  return artifact;
}

/**
 * V8 compiles WASM lazily and tiers hot functions up after they run: the first requests of a fresh
 * process are several times slower than later ones. Run a representative handler through the whole
 * path (cold start, dispatch, URL, JSON, Response) before the process reports ready.
 */
export async function warmUp(runtime: Runtime, rounds = 150): Promise<void> {
  runtime.deploy(WARMUP_NAME, 0, await warmupArtifact(), parseFunctionConfig({}));
  try {
    const get = { method: 'GET', url: 'http://localhost/?q=warm', headers: [] as [string, string][], body: null };
    const body = new TextEncoder().encode('{"a":[1,2,3]}');
    const post = { method: 'POST', url: 'http://localhost/', headers: [['content-type', 'application/json']] as [string, string][], body: body.buffer as ArrayBuffer };
    for (let i = 0; i < rounds; i++) {
      const r = await runtime.invoke(WARMUP_NAME, i % 2 ? post : get);
      await r.background;
    }
  } finally {
    runtime.undeploy(WARMUP_NAME);
  }
}
