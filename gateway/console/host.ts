/**
 * With a console host configured, that host serves the gateway's own paths and nothing a function
 * answers: a function's page (HTML, script) can then never run in the console's origin, where it
 * could drive the console with the signed-in user's session. Registered only when the option is set,
 * so `/fn/*` costs nothing more without it.
 */
import type { MiddlewareHandler } from 'hono';
import { FaasError } from '../../contract/errors.ts';
import type { GatewayEnv } from '../http.ts';
import { hostName } from './routes.ts';

/** The gateway's own paths besides /fn/: the admin API, the console, health and metrics. */
const OWN_PATH = /^\/(?:admin|console)(?:\/|$)|^\/(?:healthz|readyz|metrics)$/;

export function consoleHostOnly(consoleHost: string): MiddlewareHandler<GatewayEnv> {
  const host = consoleHost.toLowerCase();
  return async (c, next) => {
    if (hostName(c.req.header('host')) === host && !OWN_PATH.test(c.req.path)) {
      throw new FaasError('not_found', `functions are not served on the console host ${host}`);
    }
    await next();
  };
}
