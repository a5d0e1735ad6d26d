import { atob, btoa } from '../base64.ts';
import { bindHost, type Internals } from '../host.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { atob, btoa });
