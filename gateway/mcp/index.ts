/** The MCP server (Model Context Protocol) at /mcp: what the gateway wires in. */
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { FunctionHost } from '../../runtime/index.ts';
import type { BodyBudget } from '../body.ts';
import type { ControlPlane } from '../control-plane.ts';
import type { GatewayEnv } from '../http.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { Registry } from '../registry/registry.ts';
import { functionCaller } from '../routes/fn.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import { McpMetrics } from './metrics.ts';
import { registerMcpRoutes } from './route.ts';
import { CodeRunner, type RunCodeLimits } from './run-code.ts';
import { defineTools } from './tools.ts';

export interface McpOptions {
  /** run_code's limits (see RUN_CODE_DEFAULTS); `allowedHosts` lets snippets fetch. */
  runCode?: Partial<RunCodeLimits>;
}

export interface McpGatewayDeps {
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
  bodyBudget: BodyBudget;
  signingKey: Uint8Array;
  mcp?: McpOptions;
}

export function registerMcp(app: Hono<GatewayEnv>, deps: McpGatewayDeps): void {
  const runner = new CodeRunner({ runtime: deps.runtime, signingKey: deps.signingKey, logs: deps.plane.logs }, deps.mcp?.runCode);
  registerMcpRoutes(app, {
    ...deps,
    mcpMetrics: new McpMetrics(deps.metrics.registry),
    runner,
    tools: defineTools(runner.limits),
    call: functionCaller(deps),
  });
}
