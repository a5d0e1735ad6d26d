import { bindHost, type Internals } from '../host.ts';
import { namespace } from '../kv.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { namespace });
