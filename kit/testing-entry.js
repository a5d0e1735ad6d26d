// faas/testing's entry (package.json "exports"). An installed faas runs the build in dist/ (`npm run
// build`, run by `npm install`); without one, or with FAAS_FROM_SOURCE=1, it runs the TypeScript
// sources through tsx's loader, as the CLI does (bin/faas.js).
import { existsSync } from 'node:fs';

const built = new URL('../dist/kit/testing.js', import.meta.url);
let mod;
if (process.env.FAAS_FROM_SOURCE !== '1' && existsSync(built)) {
  mod = await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import('./testing.ts');
}

export const createFunction = mod.createFunction;
