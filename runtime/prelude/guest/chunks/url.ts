import { bindHost } from '../host.ts';
import { URL } from '../url.ts';
import { URLSearchParams } from '../url-search-params.ts';

(globalThis as any).__faas_define((host: any, shared: any) => (bindHost(host, shared), { URL, URLSearchParams }));
