/**
 * `npm run build` step: bundles the guest prelude and compiles it to QuickJS bytecode once, into the
 * file the built runtime loads (dist/runtime/prelude/prebuilt/prelude.json), so no process or worker
 * thread bundles it again at start.
 */
import { resolve } from 'node:path';
import { writePrebuilt } from './build.ts';

const out = resolve(process.argv[2] ?? 'dist/runtime/prelude/prebuilt/prelude.json');
const file = await writePrebuilt(out);
const bytes = file.sizes.core!.bytecode + Object.keys(file.chunks).reduce((n, c) => n + file.sizes[c]!.bytecode, 0);
console.log(`prelude: core + ${Object.keys(file.chunks).length} chunks, ${bytes} bytes of bytecode -> ${out}`);
const { stop } = await import('esbuild');
await stop();
