import { bindHost, type Internals } from '../host.ts';
import { clone, error, redirect } from '../response-extras.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { clone, error, redirect });
