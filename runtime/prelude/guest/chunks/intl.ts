import { bindHost, type Internals } from '../host.ts';
import { Intl, localeMethods } from '../intl.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { Intl, localeMethods });
