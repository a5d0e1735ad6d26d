import { internals } from './host.ts';
import { copyArray } from './safe.ts';
import { REDIRECTED, RESPONSE_URL, STATUS, STATUS_TEXT, TYPE } from './slots.ts';

/**
 * Response.redirect(), Response.error() and response.clone(): a chunk, since few functions call them
 * and the core's every byte is heap in every instance. They build the state array response.ts lays out.
 */
const REDIRECT_STATUS = [301, 302, 303, 307, 308];

export function redirect(url: unknown, status: unknown): unknown {
  const location = internals.absoluteUrl(url);
  const n = Number(status);
  if (!callWith(ArrayPrototypeIncludes, REDIRECT_STATUS, n)) throw new RangeError('Invalid status code ' + n);
  return internals.trustedResponse([null, false, null, null, ['location', location], true, n, '', 'default', '', false]);
}

export function error(): unknown {
  return internals.trustedResponse([null, false, null, null, [], true, 0, '', 'error', '', false]);
}

export function clone(s: any[]): unknown {
  const body = internals.cloneSource(s);
  const list = copyArray(internals.headerList(s));
  return internals.trustedResponse([body, false, null, null, list, s[TYPE] !== 'default', s[STATUS], s[STATUS_TEXT], s[TYPE], s[RESPONSE_URL], s[REDIRECTED]]);
}
