import { AbortController, AbortSignal } from '../abort.ts';
import { Event, EventTarget } from '../event-target.ts';
import { bindHost } from '../host.ts';

(globalThis as any).__faas_define((host: any, shared: any) => (bindHost(host, shared), { AbortController, AbortSignal, Event, EventTarget }));
