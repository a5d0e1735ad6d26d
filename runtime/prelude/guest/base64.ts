import { call } from './host.ts';

/** Only loaded when the engine's context lacks QuickJS-NG's native atob/btoa. */

export function btoa(data: unknown): string {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'btoa': 1 argument required");
  return call('base64Encode', String(data));
}

export function atob(data: unknown): string {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'atob': 1 argument required");
  return call('base64Decode', String(data));
}
