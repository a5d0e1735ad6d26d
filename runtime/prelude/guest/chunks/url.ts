import { bindHost, type Internals } from '../host.ts';
import { URL } from '../url.ts';
import { URLSearchParams, parseQuery, serializeParams } from '../url-search-params.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { URL, URLSearchParams, parseQuery, serializeParams });
