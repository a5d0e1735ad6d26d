/** The KV binding's guest chunk: `binding(name)` is the KVNamespace the env gets for `name`. */
import { bindHost, type Internals } from '../../../runtime/prelude/guest/host.ts';
import { namespace } from './namespace.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { binding: namespace });
