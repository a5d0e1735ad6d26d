import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import * as esbuild from 'esbuild';
import { QuickJS } from 'quickjs-wasi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ArtifactHeader, canonicalJson, readArtifactHeader, verifyArtifact } from '../contract/artifact.ts';
import { quickjsWasmModule } from '../contract/engine.ts';
import { FaasError } from '../contract/errors.ts';
import { writeFileAtomic } from '../contract/fs-atomic.ts';
import { loadSigningKey } from '../contract/signing-key.ts';
import { compileModuleToBytecode, PROBE_CPU_MS } from './bytecode.ts';
import { bundleSource } from '../gateway/bundle-source.ts';
import { bundleEntry } from './bundle.ts';
import { compileEntry } from './index.ts';

const KEY = new Uint8Array(32).fill(7);
let root: string;
/** The app lives two levels below node_modules, so packages must be found by walking upwards. */
let app: string;

async function put(relativePath: string, text: string): Promise<string> {
  const path = join(root, relativePath);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return path;
}

async function compile(file: string) {
  return compileEntry(join(app, file), KEY, { workingDir: app });
}

async function compileError(file: string): Promise<FaasError> {
  const err = await compile(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FaasError);
  expect((err as FaasError).code).toBe('compile_error');
  return err as FaasError;
}

/** Runs the artifact's bytecode with a stand-in Response, proving the bytecode itself works. */
async function invoke(bytes: Uint8Array): Promise<string> {
  const { bytecode } = verifyArtifact(bytes, KEY);
  const vm = await QuickJS.create({ wasm: quickjsWasmModule() });
  try {
    vm.evalCode('globalThis.Response = class { constructor(body) { this.body = body; } };').dispose();
    const ns = vm.evalBytecode(bytecode);
    vm.executePendingJobs();
    const settled = await vm.resolvePromise(ns);
    if (!('value' in settled)) throw new Error('module evaluation failed');
    vm.setProp(vm.global, '__ns', settled.value);
    const response = vm.evalCode('__ns.default.fetch({ url: "http://x/" }, {}, {})');
    vm.executePendingJobs();
    const result = await vm.resolvePromise(response);
    if (!('value' in result)) throw new Error('fetch failed');
    return result.value.getProp('body').toString();
  } finally {
    vm.dispose();
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'faas-compiler-'));
  app = join(root, 'project', 'app');
  await put('node_modules/greet-pkg/package.json', JSON.stringify({ name: 'greet-pkg', main: 'index.cjs', module: 'index.js' }));
  await put('node_modules/greet-pkg/index.js', 'export const greet = (name) => `Hello, ${name}!`;\n');
  await put('node_modules/node-only-pkg/package.json', JSON.stringify({ name: 'node-only-pkg', main: 'index.js' }));
  await put('node_modules/node-only-pkg/index.js', 'import { createHash } from "node:crypto";\nexport const hash = (s) => createHash("sha1").update(s).digest("hex");\n');
  await put('node_modules/browser-safe-pkg/package.json', JSON.stringify({ name: 'browser-safe-pkg', main: 'index.js', browser: { fs: false } }));
  await put('node_modules/browser-safe-pkg/index.js', 'import fs from "fs";\nexport const hasFs = typeof fs?.readFileSync === "function";\n');

  await put('project/app/src/hello.ts', 'export default {\n  async fetch(request: Request): Promise<Response> {\n    return new Response("Hello from faas!");\n  },\n};\n');
  await put('project/app/src/util.ts', 'export function shout(s: string): string {\n  return s.toUpperCase();\n}\n');
  await put(
    'project/app/src/imports.ts',
    'import { greet } from "greet-pkg";\nimport { shout } from "./util.ts";\nexport default { fetch: () => new Response(shout(greet("faas"))) };\n',
  );
  await put('project/app/src/bad-syntax.ts', 'const ok = 1;\nconst broken = (ok + ;\nexport default { fetch: () => new Response("x") };\n');
  await put('project/app/src/node-fs.ts', "import fs from 'node:fs';\nexport default { fetch: () => new Response(String(fs)) };\n");
  await put('project/app/src/bare-fs.ts', "import 'fs';\nexport default { fetch: () => new Response('x') };\n");
  await put('project/app/src/node-only.ts', "import { hash } from 'node-only-pkg';\nexport default { fetch: () => new Response(hash('x')) };\n");
  await put('project/app/src/browser-safe.ts', "import { hasFs } from 'browser-safe-pkg';\nexport default { fetch: () => new Response(String(hasFs)) };\n");
  await put('project/app/src/no-default.ts', 'export const fetch = () => new Response("x");\n');
  await put('project/app/src/no-fetch.ts', 'export default { hello() { return 1; } };\n');
  await put('project/app/src/scheduled-only.ts', 'export default { async scheduled() {} };\n');
  await put('project/app/src/web-global.ts', 'const base = new URL("https://example.com/");\nexport default { fetch: () => new Response(base.href) };\n');
  await put('project/app/src/bad-regex.ts', 'export default {\n  fetch: () => new Response(String(/a{2,1}/.test("aa"))),\n};\n');
  await put('project/app/src/spin.ts', 'while (true) {}\nexport default { fetch: () => new Response("x") };\n');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('compileEntry', () => {
  it('compiles a TypeScript entry into an artifact that verifies and runs', async () => {
    const result = await compile('src/hello.ts');
    const { header, bytecode, js, sourceMap } = verifyArtifact(result.bytes, KEY);
    expect(header).toMatchObject({
      formatVersion: 1,
      engine: { name: 'quickjs-wasi', version: '3.6.2' },
      entry: 'hello.ts',
      exports: { fetch: true, scheduled: false, verified: true },
      bytecodeBytes: bytecode.byteLength,
    });
    expect(header).toEqual(result.header);
    expect(js).toContain('Hello from faas!');
    expect(JSON.parse(sourceMap).sources).toEqual(['src/hello.ts']);
    expect(await invoke(result.bytes)).toBe('Hello from faas!');
  });

  it('bundles relative imports and npm packages found in a node_modules above the entry', async () => {
    const result = await compile('src/imports.ts');
    const sources: string[] = JSON.parse(verifyArtifact(result.bytes, KEY).sourceMap).sources;
    expect(sources).toEqual(expect.arrayContaining(['src/imports.ts', 'src/util.ts', '../../node_modules/greet-pkg/index.js']));
    expect(await invoke(result.bytes)).toBe('HELLO, FAAS!');
  });

  it('compiles uploaded source that resolves packages from resolveDir', async () => {
    const result = await compileEntry(
      { source: 'import { greet } from "greet-pkg";\nexport default { fetch: () => new Response(greet("upload")) };\n', filename: 'index.ts', resolveDir: app },
      KEY,
    );
    expect(result.header.entry).toBe('index.ts');
    expect(await invoke(result.bytes)).toBe('Hello, upload!');
  });

  it('reports syntax errors as file:line:col', async () => {
    const err = await compileError('src/bad-syntax.ts');
    expect(err.message).toMatch(/^src\/bad-syntax\.ts:2:\d+: /);
    expect(err.detail).toMatchObject({ file: 'src/bad-syntax.ts', line: 2 });
  });

  it('rejects node: imports, naming the import and where it is', async () => {
    const err = await compileError('src/node-fs.ts');
    expect(err.message).toBe('src/node-fs.ts:1:16: "node:fs" is a Node.js built-in and is not available in faas functions');
    expect(err.detail).toEqual({ file: 'src/node-fs.ts', line: 1, column: 16 });
  });

  it('rejects Node built-ins imported by bare name', async () => {
    const err = await compileError('src/bare-fs.ts');
    expect(err.message).toBe('src/bare-fs.ts:1:8: "fs" is a Node.js built-in and is not available in faas functions');
  });

  it('rejects Node-only packages, naming the package and the built-in', async () => {
    const err = await compileError('src/node-only.ts');
    expect(err.message).toContain('"node:crypto" is a Node.js built-in and is not available in faas functions');
    expect(err.message).toContain('package "node-only-pkg" is Node-only (imported by ../../node_modules/node-only-pkg/index.js)');
    expect(err.message).toMatch(/^\.\.\/\.\.\/node_modules\/node-only-pkg\/index\.js:1:28: /);
  });

  it('accepts a package whose browser map disables the built-in it imports', async () => {
    const result = await compile('src/browser-safe.ts');
    expect(await invoke(result.bytes)).toBe('false');
  });

  it('rejects a module without a default export', async () => {
    const err = await compileError('src/no-default.ts');
    expect(err.message).toBe(
      'src/no-default.ts:1:1: "src/no-default.ts" has no default export with a fetch() handler: export default { fetch(request, env, ctx) { ... } }',
    );
  });

  it('rejects a default export without fetch or scheduled', async () => {
    const err = await compileError('src/no-fetch.ts');
    expect(err.message).toContain('has no default export with a fetch() handler');
  });

  it('accepts a scheduled-only module and records its handlers', async () => {
    const { header } = await compile('src/scheduled-only.ts');
    expect(header.exports).toEqual({ fetch: false, scheduled: true, verified: true });
  });

  it('does not fail when top-level code needs a Web global, but marks the exports unverified', async () => {
    const { header } = await compile('src/web-global.ts');
    expect(header.exports).toEqual({ fetch: true, scheduled: false, verified: false });
  });

  it('refuses a module whose top-level code exceeds the probe CPU limit', async () => {
    const started = performance.now();
    const err = await compileError('src/spin.ts');
    expect(err.message).toBe(
      `src/spin.ts:1:1: the module's top-level code exceeded the handler probe's CPU limit of ${PROBE_CPU_MS} ms: top-level code runs on every cold start and must finish quickly (move long work into fetch())`,
    );
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it('reports what QuickJS rejects even when esbuild accepted it', async () => {
    const err = await compileError('src/bad-regex.ts');
    expect(err.message).toBe('src/bad-regex.ts:1:1: SyntaxError: invalid repetition count (QuickJS reported no position)');
  });
});

describe('uploaded source (no resolveDir): reads no file', () => {
  const SECRET = 'TOP-SECRET-7f3a9c';
  let secret: string;
  let secretMap: string;

  beforeAll(async () => {
    secret = await put('secrets/secret.txt', SECRET);
    await put('secrets/secret.json', JSON.stringify({ value: SECRET }));
    secretMap = await put('secrets/linked.js.map', JSON.stringify({ version: 3, sources: ['linked.ts'], sourcesContent: [SECRET], names: [], mappings: 'AAAA' }));
  });

  const upload = (source: string, filename = 'index.ts') => compileEntry({ source, filename }, KEY);

  async function refused(source: string): Promise<FaasError> {
    const err = await upload(source).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, source).toBeInstanceOf(FaasError);
    expect((err as FaasError).code).toBe('compile_error');
    expect((err as FaasError).message).not.toContain(SECRET);
    expect((err as FaasError).message).toContain('imports must be bundled by faas deploy');
    return err as FaasError;
  }

  const fetchReturning = (expr: string) => `\nexport default { fetch: () => new Response(String(${expr})) };\n`;

  it('refuses every import form, whatever it names', async () => {
    const forms = [
      `import s from ${JSON.stringify(secret)};`,
      `import s from ${JSON.stringify(secret)} with { type: "text" };`,
      `import s from ${JSON.stringify(secret)} with { type: "bytes" };`,
      `import s from ${JSON.stringify(secret)} with { type: "file" };`,
      `import s from ${JSON.stringify(secret.replace(/\.txt$/, '.json'))} with { type: "json" };`,
      `import s from "file://${secret}";`,
      'import s from "/etc/passwd" with { type: "text" };',
      'import s from "/proc/self/environ" with { type: "text" };',
      'import s from "./signing.key" with { type: "bytes" };',
      'import s from "../../../../../../../../etc/passwd" with { type: "text" };',
      'import s from "greet-pkg";',
      'import s from "esbuild";',
      'import s from "node:fs";',
      'import s from "data:text/javascript,export default 1";',
      `const s = require(${JSON.stringify(secret)});`,
      'const s = require("./secret.txt");',
      `const s = await import(${JSON.stringify(secret)});`,
      'const s = (x: string) => import(`./secrets/${x}.txt`);',
      'const s = (x: string) => require(`../secrets/${x}.json`);',
      // Globs esbuild would expand from its own working directory (which holds package.json files).
      'const s = (x: string) => import(`./${x}.json`);',
      'const s = (x: string) => import(/* why not */ "./" + x);',
      'const s = (x: string) => require("../" + x + ".json");',
      'const s = (x: string) => \\u0072equire(`../../${x}`);',
    ];
    for (const form of forms) {
      const err = await refused(`${form}${fetchReturning('s')}`);
      expect(err.message, form).toMatch(/^index\.ts:1:\d+: /);
    }
  });

  it('refuses a source-map comment that links a file', async () => {
    const rel = relative(process.cwd(), secretMap);
    for (const comment of [
      `//# sourceMappingURL=${secretMap}`,
      `//# sourceMappingURL=file://${secretMap}`,
      `//# sourceMappingURL=${rel}`,
      `//@ sourceMappingURL=../../../../../../..${secretMap}`,
      `/*# sourceMappingURL=file://${secretMap} */`,
    ]) {
      for (const source of [`${fetchReturning('1')}${comment}\n`, `const x = 1; ${comment}${fetchReturning('x')}`]) {
        const err = await refused(source);
        expect(err.message).toMatch(/source map comment .* is not allowed/);
      }
    }
  });

  it('refuses an inline data: map anywhere but the last line', async () => {
    const map = Buffer.from(JSON.stringify({ version: 3, sources: [`file://${secret}`], names: [], mappings: 'AAAA' })).toString('base64');
    const err = await refused(`//# sourceMappingURL=data:application/json;base64,${map}${fetchReturning('1')}const s = "//# sourceMappingURL=x";\n`);
    expect(err.message).toMatch(/^index\.ts:1:1: source map comment/);
  });

  it('never lets an inline map pull in the files its sources name', async () => {
    for (const sources of [[secret], [`file://${secret}`], [relative(process.cwd(), secret)]]) {
      for (const extra of [{}, { sourcesContent: [null] }, { sourceRoot: 'file:///' }]) {
        const map = { version: 3, sources, names: [], mappings: 'AAAA', ...extra };
        const source = `export default { fetch: () => new Response("x") };\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
        const { bytes } = await upload(source, 'index.js');
        const artifact = verifyArtifact(bytes, KEY);
        expect(artifact.sourceMap).not.toContain(SECRET);
        expect(artifact.js).not.toContain(SECRET);
      }
    }
  });

  it('compiles what faas deploy sends: a bundle with its source map inline', async () => {
    const bundle = await bundleEntry(join(app, 'src/imports.ts'), { workingDir: app });
    const result = await upload(bundleSource(bundle), bundle.fileName);
    expect(JSON.parse(verifyArtifact(result.bytes, KEY).sourceMap).sources).toEqual(
      expect.arrayContaining(['src/imports.ts', 'src/util.ts', '../../node_modules/greet-pkg/index.js']),
    );
    expect(await invoke(result.bytes)).toBe('HELLO, FAAS!');
  });

  it('compiles a computed import() or require(), which can only fail at run time', async () => {
    const { bytes } = await upload(`const load = (x: string) => import(x);${fetchReturning('typeof load')}`);
    expect(await invoke(bytes)).toBe('function');
    expect(verifyArtifact(bytes, KEY).js).not.toMatch(/\brequire\(/);
  });

  it('still compiles strings that merely mention a source map comment', async () => {
    const { bytes } = await upload(`const tail = "\\n//# sourceMappingURL=" + "x.map";${fetchReturning('tail')}`);
    expect(await invoke(bytes)).toBe('\n//# sourceMappingURL=x.map');
  });
});

describe('compileModuleToBytecode', () => {
  it('maps a QuickJS syntax error position back through the source map', async () => {
    const original = 'const a: number = 1;\nconst b: number = 2;\nexport default { a, b };\n';
    const out = await esbuild.transform(original, { loader: 'ts', sourcemap: 'external', sourcefile: 'src/orig.ts', format: 'esm' });
    // QuickJS rejects what esbuild would not have produced; splice an error into line 2 of the output.
    const broken = out.code.replace('const b = 2;', 'const b = (;');
    expect(broken).not.toBe(out.code);
    const err = await compileModuleToBytecode(broken, 'orig.js', { sourceMap: out.map }).then(
      () => undefined,
      (e: unknown) => e as FaasError,
    );
    expect(err?.code).toBe('compile_error');
    expect(err?.message).toMatch(/^src\/orig\.ts:2:\d+: SyntaxError: /);
  });

  it('returns module bytecode that evaluates', async () => {
    const bytecode = await compileModuleToBytecode('export default 6 * 7;', 'answer.js');
    const vm = await QuickJS.create({ wasm: quickjsWasmModule() });
    try {
      const evaluation = vm.evalBytecode(bytecode);
      vm.executePendingJobs();
      const settled = await vm.resolvePromise(evaluation);
      expect('value' in settled && settled.value.getProp('default').toNumber()).toBe(42);
    } finally {
      vm.dispose();
    }
  });
});

describe('artifact verification', () => {
  let artifact: Uint8Array;
  let headerLength: number;

  beforeAll(async () => {
    artifact = (await compile('src/hello.ts')).bytes;
    headerLength = new DataView(artifact.buffer, artifact.byteOffset).getUint32(8, true);
  });

  function expectInvalid(bytes: Uint8Array, key = KEY, code = 'artifact_invalid'): FaasError {
    let thrown: unknown;
    try {
      verifyArtifact(bytes, key);
    } catch (err) {
      thrown = err;
    }
    expect(thrown, 'verification should fail').toBeInstanceOf(FaasError);
    expect((thrown as FaasError).code).toBe(code);
    return thrown as FaasError;
  }

  /** Rebuilds an artifact around an edited header, signed with the right key. */
  function resign(edit: (header: Record<string, unknown>) => void): Uint8Array {
    const header = JSON.parse(new TextDecoder().decode(artifact.subarray(12, 12 + headerLength)));
    const payload = artifact.subarray(12 + headerLength);
    edit(header);
    delete header.signature;
    header.signature = createHmac('sha256', KEY).update(canonicalJson(header)).update(payload).digest('hex');
    const headerBytes = new TextEncoder().encode(canonicalJson(header));
    const out = new Uint8Array(12 + headerBytes.byteLength + payload.byteLength);
    out.set(artifact.subarray(0, 8));
    new DataView(out.buffer).setUint32(8, headerBytes.byteLength, true);
    out.set(headerBytes, 12);
    out.set(payload, 12 + headerBytes.byteLength);
    return out;
  }

  it('reads the header without verifying it', () => {
    const header: ArtifactHeader = readArtifactHeader(artifact);
    expect(header.engine).toEqual({ name: 'quickjs-wasi', version: '3.6.2' });
    expect(header.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects one flipped byte anywhere: magic, header, bytecode, JS or source map', () => {
    const { header } = verifyArtifact(artifact, KEY);
    const payloadStart = 12 + headerLength;
    const messages = new Set<string>();
    for (let i = 0; i < artifact.byteLength; i++) {
      const copy = artifact.slice();
      copy[i]! ^= 0x01;
      messages.add(expectInvalid(copy).message.split(':')[0]!);
    }
    // Every region was covered, and payload damage is caught by the integrity check.
    expect(artifact.byteLength).toBe(payloadStart + header.bytecodeBytes + header.jsBytes + header.sourceMapBytes);
    const payloadFlip = artifact.slice();
    payloadFlip[payloadStart + header.bytecodeBytes + header.jsBytes + 5]! ^= 0x20;
    expect(expectInvalid(payloadFlip).message).toBe('integrity check failed (sha256 mismatch): the artifact was modified or corrupted');
    expect([...messages]).toEqual(expect.arrayContaining(['not a faas artifact (missing FAASQBC1 magic)', 'integrity check failed (sha256 mismatch)']));
  });

  it('reports an artifact from another engine version as engine_mismatch', () => {
    const old = resign((header) => {
      header.engine = { name: 'quickjs-wasi', version: '0.0.1' };
    });
    const err = expectInvalid(old, KEY, 'engine_mismatch');
    expect(err.message).toBe(
      'artifact was built for quickjs-wasi 0.0.1 but this runtime runs quickjs-wasi 3.6.2: recompile with faas compile',
    );
  });

  it('rejects an unsupported format version', () => {
    const future = resign((header) => {
      header.formatVersion = 2;
    });
    expect(expectInvalid(future).message).toMatch(/^unsupported format version 2/);
  });

  it('rejects an artifact signed with another key', () => {
    expect(expectInvalid(artifact, randomBytes(32)).message).toBe(
      "signature check failed: the artifact was not compiled with this gateway's signing key",
    );
  });

  it('rejects truncation at every length and trailing bytes', () => {
    for (let length = 0; length < artifact.byteLength; length++) {
      const message = expectInvalid(artifact.subarray(0, length)).message;
      if (length >= 12 + headerLength) expect(message).toMatch(/^truncated/);
      expect(() => readArtifactHeader(artifact.subarray(0, length))).toThrow(FaasError);
    }
    const extended = new Uint8Array(artifact.byteLength + 1);
    extended.set(artifact);
    expect(expectInvalid(extended).message).toMatch(/unexpected bytes after the payload/);
  });

  it('only ever throws artifact_invalid for random bytes', () => {
    const magic = artifact.subarray(0, 8);
    for (let i = 0; i < 300; i++) {
      const bytes = randomBytes(Math.floor(Math.random() * 600));
      if (i % 3 === 0 && bytes.byteLength >= 8) bytes.set(magic);
      if (i % 6 === 0 && bytes.byteLength >= 12) bytes.writeUInt32LE(Math.floor(Math.random() * (bytes.byteLength - 12)), 8);
      expectInvalid(new Uint8Array(bytes));
      try {
        readArtifactHeader(bytes);
      } catch (err) {
        expect((err as FaasError).code).toBe('artifact_invalid');
      }
    }
  });
});

describe('signing key', () => {
  it('creates a 32-byte key file with mode 0600 once and reuses it', async () => {
    const dataDir = join(root, 'data', 'nested');
    const first = loadSigningKey(dataDir, {});
    expect(first.byteLength).toBe(32);
    expect(loadSigningKey(dataDir, {})).toEqual(first);
    if (process.platform !== 'win32') expect((await stat(join(dataDir, 'signing.key'))).mode & 0o777).toBe(0o600);
    expect((await readdir(dataDir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('prefers FAAS_SIGNING_KEY in hex or base64 and rejects short keys', () => {
    const key = randomBytes(32);
    expect(Buffer.from(loadSigningKey(root, { FAAS_SIGNING_KEY: key.toString('hex') }))).toEqual(key);
    expect(Buffer.from(loadSigningKey(root, { FAAS_SIGNING_KEY: key.toString('base64') }))).toEqual(key);
    expect(() => loadSigningKey(root, { FAAS_SIGNING_KEY: 'abcd' })).toThrow(/at least 32/);
    expect(() => loadSigningKey(root, { FAAS_SIGNING_KEY: 'not a key!' })).toThrow(/hex or base64/);
  });
});

describe('writeFileAtomic', () => {
  it('replaces a file in one step and leaves no temp file behind', async () => {
    const path = join(root, 'atomic', 'out.bin');
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    await writeFileAtomic(path, new Uint8Array([4, 5]));
    expect([...(await readFile(path))]).toEqual([4, 5]);
    expect(await readdir(dirname(path))).toEqual(['out.bin']);
  });
});
