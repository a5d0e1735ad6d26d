/**
 * `npm run build` step: bundles the web console (console/) once, with its gzip and brotli forms,
 * into the directory the compiled gateway serves it from (dist/gateway/console/prebuilt/).
 */
import { resolve } from 'node:path';
import { writePrebuiltConsole } from './assets.ts';

const out = resolve(process.argv[2] ?? 'dist/gateway/console/prebuilt');
const { files, bytes, gzipBytes } = await writePrebuiltConsole(out);
console.log(`console: ${files} files, ${bytes} bytes (${gzipBytes} gzipped) -> ${out}`);
const { stop } = await import('esbuild');
await stop();
