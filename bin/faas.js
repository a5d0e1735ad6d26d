#!/usr/bin/env node
// The CLI. A built install (`npm run build`, run by `npm install`) runs the compiled JavaScript in
// dist/; without one, or with FAAS_FROM_SOURCE=1 (tests, development), it runs the TypeScript
// sources through tsx's loader.
import { existsSync } from 'node:fs';

const built = new URL('../dist/bin/cli.js', import.meta.url);
if (process.env.FAAS_FROM_SOURCE !== '1' && existsSync(built)) {
  await import(built.href);
} else {
  if (process.env.FAAS_FROM_SOURCE !== '1') process.stderr.write('faas: no build found (dist/); running from source. `npm run build` makes start-up faster.\n');
  const { register } = await import('tsx/esm/api');
  register();
  await import('./cli.ts');
}
