import { AbortController, AbortSignal, abortState, newSignal, onAbort } from '../abort.ts';
import { CustomEvent, Event, EventTarget } from '../event-target.ts';
import { bindHost, type Internals } from '../host.ts';

export default (shared: Internals) => (bindHost(shared.host, shared), { AbortController, AbortSignal, CustomEvent, Event, EventTarget, abortState, newSignal, onAbort });
