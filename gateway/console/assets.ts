/**
 * The console's browser assets: console/ bundled by esbuild (the app, CodeMirror and uPlot split into
 * chunks; one stylesheet), each file kept in memory with its gzip and brotli forms and an ETag. A
 * built install reads what `npm run build` wrote beside this module (prebuilt/); from source
 * (FAAS_FROM_SOURCE=1, tests, `faas dev` without a build) the bundle is built once per process, on
 * the first request for it. Nothing is ever read from disk by a name a request chose.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export interface Asset {
  name: string;
  type: string;
  body: Uint8Array;
  gzip: Uint8Array;
  br: Uint8Array;
  etag: string;
}

export interface ConsoleAssets {
  /** By file name (`app-<hash>.js`, `chunk-<hash>.js`, `app-<hash>.css`). */
  files: Map<string, Asset>;
  /** The page every console URL answers (it names the hashed entry script and stylesheet). */
  page: Asset;
}

interface Manifest {
  script: string;
  style: string;
  files: string[];
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};

const HERE = dirname(fileURLToPath(import.meta.url));
const BUILT = import.meta.url.endsWith('.js');
/** Sources: console/ at the repository root (from gateway/console/, or dist/gateway/console/ in a build). */
const SOURCE_ENTRY = join(HERE, BUILT ? '../../../console/main.ts' : '../../console/main.ts');
const PREBUILT = join(HERE, 'prebuilt');

let loading: Promise<ConsoleAssets> | undefined;

/** The console's assets, built or read once per process. */
export function consoleAssets(): Promise<ConsoleAssets> {
  loading ??= (BUILT && existsSync(join(PREBUILT, 'manifest.json')) ? Promise.resolve(readPrebuilt()) : buildFromSource()).catch((err) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

/** Bundles console/ with esbuild into files in memory: name → bytes. */
export async function bundleConsole(): Promise<{ manifest: Manifest; outputs: Map<string, Uint8Array> }> {
  // imported here: a built gateway serves the prebuilt bundle and never needs esbuild
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: { app: SOURCE_ENTRY },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    outdir: '/console-out',
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    assetNames: 'asset-[hash]',
    legalComments: 'none',
    logLevel: 'silent',
    charset: 'utf8',
    metafile: true,
  });
  const outputs = new Map<string, Uint8Array>();
  let script = '';
  let style = '';
  for (const f of result.outputFiles) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1);
    outputs.set(name, f.contents);
    if (name.startsWith('app-') && name.endsWith('.js')) script = name;
    if (name.startsWith('app-') && name.endsWith('.css')) style = name;
  }
  if (!script || !style) throw new Error('console bundle has no app script or stylesheet');
  return { manifest: { script, style, files: [...outputs.keys()] }, outputs };
}

async function buildFromSource(): Promise<ConsoleAssets> {
  const { manifest, outputs } = await bundleConsole();
  return assemble(manifest, (name) => outputs.get(name)!);
}

function readPrebuilt(): ConsoleAssets {
  const manifest = JSON.parse(readFileSync(join(PREBUILT, 'manifest.json'), 'utf8')) as Manifest;
  return assemble(manifest, (name) => readFileSync(join(PREBUILT, name)), (name) => ({
    gzip: readFileSync(join(PREBUILT, `${name}.gz`)),
    br: readFileSync(join(PREBUILT, `${name}.br`)),
  }));
}

function assemble(manifest: Manifest, read: (name: string) => Uint8Array, compressed?: (name: string) => { gzip: Uint8Array; br: Uint8Array }): ConsoleAssets {
  const files = new Map<string, Asset>();
  for (const name of manifest.files) files.set(name, asset(name, read(name), compressed?.(name)));
  return { files, page: asset('index.html', new TextEncoder().encode(pageHtml(manifest))) };
}

function asset(name: string, body: Uint8Array, compressed?: { gzip: Uint8Array; br: Uint8Array }): Asset {
  const ext = name.slice(name.lastIndexOf('.'));
  const { gzip, br } = compressed ?? compress(body);
  return { name, type: TYPES[ext] ?? 'application/octet-stream', body, gzip, br, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

function compress(body: Uint8Array): { gzip: Uint8Array; br: Uint8Array } {
  return {
    gzip: gzipSync(body, { level: 9 }),
    br: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength } }),
  };
}

/** The one HTML page: no inline script or style (the CSP allows neither); the app renders into <body>. */
function pageHtml(m: Manifest): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>faas console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/assets/${m.style}">
<script type="module" src="/console/assets/${m.script}"></script>
</head>
<body>
<noscript>The faas console needs JavaScript.</noscript>
</body>
</html>
`;
}

/** `npm run build`: writes the bundle, its compressed forms and a manifest into `dir`. */
export async function writePrebuiltConsole(dir: string): Promise<{ files: number; bytes: number; gzipBytes: number }> {
  const { manifest, outputs } = await bundleConsole();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  let gzipBytes = 0;
  for (const [name, body] of outputs) {
    const { gzip, br } = compress(body);
    writeFileSync(join(dir, name), body);
    writeFileSync(join(dir, `${name}.gz`), gzip);
    writeFileSync(join(dir, `${name}.br`), br);
    bytes += body.byteLength;
    gzipBytes += gzip.byteLength;
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return { files: outputs.size, bytes, gzipBytes };
}
