import { fetch } from '../fetch.ts';
import { bindHost, type Internals } from '../host.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { fetch });
