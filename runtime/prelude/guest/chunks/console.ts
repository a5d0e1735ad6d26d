import { consoleExtras } from '../console-extras.ts';
import { bindHost, type Internals } from '../host.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), consoleExtras());
