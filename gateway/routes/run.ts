/**
 * `POST /admin/run`: one request answered by a self-contained source in a throwaway function that is
 * never registered (gateway/run/ephemeral.ts), for the console's playground. Runs as the caller's
 * tenant (the operator's runs as "default"), under that tenant's cpuMs and timeoutMs quota and the
 * ephemeral limits; audited.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { DEFAULT_TENANT } from '../../contract/tenants.ts';
import { readBody, type BodyBudget } from '../body.ts';
import type { ControlPlane } from '../control-plane.ts';
import type { GatewayEnv } from '../http.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { FunctionHost } from '../../runtime/index.ts';
import { runEphemeral } from '../run/ephemeral.ts';
import { audited, parseBody } from './admin.ts';
import { principalOf } from './auth.ts';

export interface RunRouteDeps {
  runtime: FunctionHost;
  scheduler: Scheduler;
  plane: ControlPlane;
  signingKey: Uint8Array;
  bodyTimeoutMs: number;
  bodyBudget: BodyBudget;
}

const RUN_BODY_BYTES = 2 * 1024 * 1024;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const RunBody = z
  .object({
    source: z.string().min(1, 'must not be empty').max(1024 * 1024, 'must be at most 1 MiB'),
    filename: z
      .string()
      .max(128)
      .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*\.(?:ts|mts|js|mjs|tsx|jsx)$/, 'must be a plain file name ending in .ts, .js, .mts, .mjs, .tsx or .jsx')
      .default('playground.ts'),
    env: z.record(z.string().regex(/^[A-Za-z_$][A-Za-z0-9_$]{0,127}$/), z.string().max(64 * 1024)).default({}),
    request: z
      .object({
        method: z.string().regex(TOKEN, 'must be an HTTP method').refine((m) => !/^(CONNECT|TRACE|TRACK)$/i.test(m), 'is not allowed').default('GET'),
        path: z.string().max(2048).regex(/^\/[^\s]*$/, 'must start with "/" and contain no whitespace').default('/'),
        headers: z
          .array(z.tuple([z.string().regex(TOKEN, 'must be a header name'), z.string().max(8192).regex(/^[^\r\n\0]*$/, 'must not contain CR, LF or NUL')]))
          .max(64)
          .default([]),
        body: z.string().max(64 * 1024).optional(),
      })
      .strict()
      .default({ method: 'GET', path: '/', headers: [] }),
  })
  .strict();

export function registerRunRoutes(app: Hono<GatewayEnv>, deps: RunRouteDeps): void {
  app.post('/admin/run', async (c) => {
    const principal = principalOf(c);
    const tenant = principal.kind === 'tenant' ? principal.tenant : DEFAULT_TENANT;
    return audited(deps.plane, principal, 'run', { tenant }, async (target) => {
      const limits = { limit: RUN_BODY_BYTES, timeoutMs: deps.bodyTimeoutMs, outgoing: c.env.outgoing, budget: deps.bodyBudget };
      const body = parseBody(RunBody, await readBody(c.env.incoming, limits), 'run request');
      target.detail = { sourceBytes: body.source.length, method: body.request.method, path: body.request.path.slice(0, 200) };
      const method = body.request.method.toUpperCase();
      const host = /^[A-Za-z0-9.:[\]-]{1,255}$/.test(c.req.header('host') ?? '') ? c.req.header('host')! : 'localhost';
      const result = await runEphemeral(
        { runtime: deps.runtime, scheduler: deps.scheduler, logs: deps.plane.logs, signingKey: deps.signingKey },
        {
          source: body.source,
          filename: body.filename,
          tenant,
          quota: deps.plane.tenants.get(tenant)?.quota ?? {},
          env: body.env,
          request: {
            method,
            url: `http://${host}${body.request.path}`,
            headers: body.request.headers.map(([k, v]) => [k.toLowerCase(), v]),
            body: body.request.body === undefined || method === 'GET' || method === 'HEAD' ? null : new TextEncoder().encode(body.request.body),
          },
          requestId: c.get('requestId'),
        },
      );
      if (result.error) target.detail = { ...target.detail, error: result.error.code };
      return c.json(result);
    });
  });
}
