import { bindHost, type Internals } from '../host.ts';
import { requestParts } from '../request-init.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { requestParts });
