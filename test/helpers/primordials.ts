/// <reference path="../../runtime/prelude/guest/primordials.d.ts" />
/**
 * Installs the prelude's primordials (runtime/prelude/primordials.ts) as globals of this Node process,
 * so a guest module with no host dependency (url-fast.ts) can be imported and checked directly. Import
 * it before that module. The names are free in Node; nothing else reads them.
 */
import { PRIMORDIALS } from '../../runtime/prelude/primordials.ts';

const g = globalThis as Record<string, unknown>;
for (const [name, expression] of Object.entries(PRIMORDIALS)) {
  if (!(name in g)) g[name] = (0, eval)(expression);
}
