import { FormData, bodyForm, extractForm } from '../form-data.ts';
import { bindHost, type Internals } from '../host.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { FormData, fromBody: bodyForm, toBody: extractForm });
