import { bindHost, type Internals } from '../host.ts';
import { structuredClone } from '../structured-clone.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { structuredClone });
