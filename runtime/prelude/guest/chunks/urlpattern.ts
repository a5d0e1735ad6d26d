/**
 * URLPattern: the urlpattern-polyfill package (a spec-following implementation kept by the URL
 * Pattern standard's editors), bundled into this chunk as it is. It is vendored code, outside the
 * primordials rules (runtime/prelude/primordials-lint.ts checks the prelude's own sources): it
 * handles only the guest's own data (the patterns and URLs it is given) and reaches the host through
 * nothing but the guest's own URL, so built-ins the guest patched can only change its own results.
 */
import { URLPattern } from 'urlpattern-polyfill/urlpattern';

export default () => ({ URLPattern });
