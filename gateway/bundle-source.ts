import type { Bundle } from '../compiler/index.ts';

/**
 * A bundle as one self-contained source text: the code with its source map inlined. Compiling
 * this text again (a server-side deploy, or a rebuild from the registry) keeps stack traces and
 * errors pointing at the user's original files, because esbuild follows an inline input map.
 */
export function bundleSource(bundle: Pick<Bundle, 'code' | 'map'>): string {
  return `${bundle.code}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(bundle.map).toString('base64')}\n`;
}
