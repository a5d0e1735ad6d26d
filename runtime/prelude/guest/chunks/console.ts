import { consoleExtras } from '../console-extras.ts';
import { bindHost } from '../host.ts';

(globalThis as any).__faas_define((host: any, shared: any) => (bindHost(host, shared), consoleExtras()));
