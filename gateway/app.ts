import { Hono, type MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { FaasError, isFaasError } from '../contract/errors.ts';
import type { FunctionHost } from '../runtime/index.ts';
import { errorResponse, rawHeader, requestIdFrom, serverTiming, asHttpError, type GatewayEnv } from './http.ts';
import type { BodyBudget } from './body.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { GatewayMetrics } from './observability/metrics.ts';
import type { Registry } from './registry/registry.ts';
import { registerAdminRoutes } from './routes/admin.ts';
import { registerFunctionRoutes, registerHostRoutes } from './routes/fn.ts';
import type { ControlPlane } from './control-plane.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerMetricsRoute } from './routes/metrics.ts';
import type { Scheduler } from './scheduler/scheduler.ts';
import type { KvBackend } from '../bindings/kv/store.ts';
import { registerConsoleRoutes } from './console/routes.ts';
import type { SessionStore } from './console/sessions.ts';
import type { MetricsSampler } from './observability/sampler.ts';
import { tokenAuthenticator } from './routes/auth.ts';
import { registerKvRoutes } from './routes/kv.ts';
import { registerRunRoutes } from './routes/run.ts';
import { registerStatsRoutes } from './routes/stats.ts';
import { registerSourceRoutes } from './routes/source.ts';
import { consoleHostOnly } from './console/host.ts';
import { registerMcp, type McpOptions } from './mcp/index.ts';

export interface AppDeps {
  runtime: FunctionHost;
  registry: Registry;
  plane: ControlPlane;
  scheduler: Scheduler;
  metrics: GatewayMetrics;
  lifecycle: Lifecycle;
  logger: Logger;
  adminToken: string;
  maxBodyBytes: number;
  maxDeployBytes: number;
  bodyTimeoutMs: number;
  /** Shared by every request body being received. */
  bodyBudget: BodyBudget;
  /** The gateway's own connection to the KV file (the admin KV routes). */
  kv: KvBackend;
  /** The last hour of metrics, for the console's charts. */
  sampler: MetricsSampler;
  /** Console sign-in sessions. */
  sessions: SessionStore;
  /** Verifies what an ephemeral run (POST /admin/run) compiles. */
  signingKey: Uint8Array;
  /** Serve the console only on this host name, and no function on it (see gateway/console/routes.ts). */
  consoleHost?: string;
  mcp?: McpOptions;
  /** Fraction (0..1) of successful requests that get an access-log line; errors always do. Default 1. */
  accessLogSample?: number;
  /** With `faas serve --processes`: this process's slot, sent as the `faas-process` response header. */
  processSlot?: number;
}

export function createApp(deps: AppDeps): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  app.use('*', requestContext(deps.logger, deps.accessLogSample ?? 1, deps.processSlot === undefined ? undefined : String(deps.processSlot)));
  app.use('*', canonicalTarget());
  const admit = admission(deps.lifecycle);
  app.use('/fn/*', admit);
  app.use('/admin/*', admit);
  app.use('/mcp', admit);
  registerHealthRoutes(app, deps.lifecycle);
  registerMetricsRoute(app, deps.metrics);
  registerConsoleRoutes(app, { ...deps, authenticate: tokenAuthenticator(deps.adminToken, deps.plane.tenants) });
  registerAdminRoutes(app, deps);
  registerKvRoutes(app, deps);
  registerStatsRoutes(app, deps);
  registerRunRoutes(app, deps);
  registerSourceRoutes(app, deps);
  if (deps.consoleHost) app.use('*', consoleHostOnly(deps.consoleHost));
  registerFunctionRoutes(app, deps);
  registerMcp(app, deps);
  registerHostRoutes(app, deps, admit);
  app.notFound((c) => errorResponse(c, new FaasError('not_found', `no route for ${c.req.method} ${c.req.path}`)));
  app.onError((err, c) => {
    if (!isFaasError(err)) deps.logger.error({ requestId: c.get('requestId'), err }, 'unhandled error');
    return errorResponse(c, asHttpError(err));
  });
  return app;
}

/**
 * Request id in and out, server-timing for invocations, and one log line per request: every error
 * (status 400 and up, or an error raised), and `sample` of the rest.
 */
function requestContext(logger: Logger, sample: number, processSlot: string | undefined): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const started = performance.now();
    const requestId = requestIdFrom(rawHeader(c.env.incoming.rawHeaders, 'x-request-id'));
    c.set('requestId', requestId);
    await next();
    const inv = c.get('invocation');
    if (!inv?.headersSet) {
      c.res.headers.set('x-request-id', requestId);
      if (processSlot !== undefined) c.res.headers.set('faas-process', processSlot);
      if (inv?.queueMs !== undefined) c.res.headers.set('server-timing', serverTiming(inv));
    }
    const failed = c.res.status >= 400 || c.error !== undefined || inv?.error !== undefined;
    if (!failed && sample < 1 && (sample <= 0 || Math.random() >= sample)) return;
    const path = c.req.path;
    const routine = path === '/healthz' || path === '/readyz' || path === '/metrics';
    logger[routine ? 'debug' : 'info'](
      {
        requestId,
        method: c.req.method,
        path,
        function: inv?.function,
        status: c.res.status,
        ms: round(performance.now() - started),
        queueMs: round(inv?.queueMs),
        coldMs: round(inv?.coldMs),
        execMs: round(inv?.execMs),
        worker: inv?.worker,
        error: inv?.error ?? (isFaasError(c.error) ? c.error.code : c.error ? 'internal_error' : undefined),
        // Guest failures are the user's to debug: keep the message and the (source-mapped) stack.
        ...(isFaasError(c.error) && c.res.status >= 500 ? { errorMessage: c.error.message, stack: c.error.detail?.stack } : {}),
      },
      'request',
    );
  };
}

/**
 * A `.` or `..` path segment, literal or percent-encoded (`%2e`), before any query. The URL parser
 * resolves them, so `/fn/%2e%2e/metrics` would be routed as `/metrics`: a proxy in front that only lets
 * `/fn/*` through would be bypassed.
 */
const DOT_SEGMENT = /^[^?#]*?\/(?:\.|%2e){1,2}(?:[/?#]|$)/i;

/** Refuses request targets whose path the URL parser would rewrite: what is routed is what was sent. */
function canonicalTarget(): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const target = c.env.incoming.url ?? '';
    if (DOT_SEGMENT.test(target)) throw new FaasError('bad_request', 'request path must not contain "." or ".." segments');
    await next();
  };
}

/** Turns requests away while starting or draining, and counts the ones let in so a drain can wait for them. */
function admission(lifecycle: Lifecycle): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    if (lifecycle.phase !== 'ready') {
      if (lifecycle.phase !== 'starting') c.header('connection', 'close');
      throw new FaasError('unavailable', lifecycle.phase === 'starting' ? 'the gateway is starting' : 'the gateway is shutting down', {
        retryAfterSeconds: 1,
      });
    }
    // Counted until the response is written out, not just produced, so a drain never cuts one off.
    c.env.outgoing.once('close', lifecycle.enter());
    await next();
  };
}


const round = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * 100) / 100);
