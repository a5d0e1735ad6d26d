/**
 * The MCP tools, bound to the principal of the request that carries the call: the same scoping as
 * the admin API (a tenant token sees, changes and invokes its own functions; another tenant's is
 * `not_found`). Every call takes a slot of the gateway's scheduler under its tool's priority class
 * (invoke_function: the function's own, as at /fn), counts in usage and metrics, and answers JSON
 * text whose parts are capped with a note saying what was cut.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import { z } from 'zod';
import { FUNCTION_NAME } from '../../contract/config.ts';
import { FaasError, isFaasError } from '../../contract/errors.ts';
import { DEFAULT_TENANT } from '../../contract/tenants.ts';
import type { ControlPlane } from '../control-plane.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import { publicView, type Registry } from '../registry/registry.ts';
import { audited, deployFunction, notDeployed, ownTenant } from '../routes/admin.ts';
import type { FunctionCall } from '../routes/fn.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { Principal } from '../tenants/store.ts';
import { RUN_CODE } from './ephemeral.ts';
import { invokeFunction, MAX_HEADERS, MAX_PATH_CHARS, METHODS, type InvokeArgs } from './invoke.ts';
import type { McpMetrics } from './metrics.ts';
import { errorPayload, jsonDepth, RESULT_LIMITS, toolResult, Truncation } from './results.ts';
import type { CodeRunner, RunCodeLimits, RunOutcome } from './run-code.ts';

export interface McpDeps {
  registry: Registry;
  plane: ControlPlane;
  scheduler: Scheduler;
  metrics: GatewayMetrics;
  mcpMetrics: McpMetrics;
  runner: CodeRunner;
  /** The tools (defineTools), built once. */
  tools: ToolDef[];
  /** The /fn path's invocation (routes/fn.ts functionCaller). */
  call: (call: FunctionCall) => Promise<Response>;
  logger: Logger;
  /** Cap on an invoke_function request body (the gateway's function body cap). */
  maxBodyBytes: number;
}

/** Who calls, and where: one per MCP HTTP request (or stdio session through it). */
export interface McpCaller {
  principal: Principal;
  /** The Host the request came to: invoke_function's requests carry it. */
  host: string;
  /** The HTTP request's id, in the log line of each call. */
  requestId: string;
}

/** A tool's scheduler class: its priority and how many calls of one tenant run at once. */
interface ToolClass {
  priority: number;
  concurrency: number;
}

export const TOOL_CLASSES = {
  list_functions: { priority: 0, concurrency: 8 },
  get_function: { priority: 0, concurrency: 8 },
  deploy_function: { priority: -2, concurrency: 2 },
  delete_function: { priority: 0, concurrency: 2 },
} satisfies Record<string, ToolClass>;
/** run_code's priority: below functions (0) and deploys, so a flood of snippets yields to real traffic. */
export const RUN_CODE_PRIORITY = -5;

/** What a tool handler hands back: the payload, and the error when the call failed (isError). */
interface Outcome {
  payload: object;
  error?: FaasError;
}

const functionName = z
  .string()
  .regex(FUNCTION_NAME, 'must be a function name: lower-case letters, digits and "-", starting with a letter or digit, at most 63 characters')
  .describe('the function name');

/** What a tool's handler has to hand: the gateway's parts, who calls, and the tenant it acts for. */
interface ToolContext {
  deps: McpDeps;
  caller: McpCaller;
  principal: Principal;
  /** The caller's tenant ("default" for the operator): its scheduler lane, usage rows and run_code sandboxes. */
  tenant: string;
}

/** A tool as the server lists it, and what a call of it runs. Built once per gateway; bound to a caller per request. */
export interface ToolDef {
  name: string;
  config: { title: string; description: string; inputSchema?: Record<string, z.ZodType>; annotations: ToolAnnotations };
  /** Its scheduler class; none for invoke_function, which takes its function's own slot as at /fn. */
  cls?: ToolClass;
  /** Metered as `mcp:<tool>` by the wrapper (run_code and invoke_function meter themselves). */
  usage: boolean;
  /** Checked before a slot is taken (a rate limit). */
  admit?(ctx: ToolContext): void;
  run(ctx: ToolContext, args: any): Promise<Outcome>;
}

/** The tools, with run_code's limits in its description and schema. */
export function defineTools(limits: RunCodeLimits): ToolDef[] {
  return [
    {
      name: 'list_functions',
      config: {
        title: 'List functions',
        description: 'The deployed functions this token can see: name, live version, tenant, config (secrets omitted), traffic split.',
        annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
      },
      cls: TOOL_CLASSES.list_functions,
      usage: true,
      async run({ deps, principal }) {
        const t = new Truncation();
        const all = deps.registry.list(principal);
        return { payload: t.into({ count: all.length, functions: t.items('functions', all).map(publicView) }) };
      },
    },
    {
      name: 'get_function',
      config: {
        title: 'Get a function',
        description: 'One function: config (secrets omitted), live version and traffic split, kept versions, its URL path, and its most recent invocations.',
        inputSchema: { name: functionName },
        annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
      },
      cls: TOOL_CLASSES.get_function,
      usage: true,
      async run({ deps, principal }, { name }: { name: string }) {
        const rec = deps.registry.get(name, principal);
        if (!rec) throw notDeployed(name);
        const recent = deps.plane.logs
          .recent(name, rec.tenant, {}, 50)
          .filter((e) => e.type === 'invocation')
          .slice(-5)
          .map(({ type: _type, logs, ...e }) => ({ ...e, logLines: logs.length }));
        return { payload: { ...publicView(rec), path: `/fn/${name}`, versions: await deps.registry.versions(name, principal), recentInvocations: recent } };
      },
    },
    {
      name: 'deploy_function',
      config: {
        title: 'Deploy a function',
        description:
          'Compiles and deploys a function as a new version. `source` is one self-contained JavaScript or TypeScript module with ' +
          '`export default { async fetch(request, env, ctx) { return new Response("…") } }` (Workers style: Request, Response, URL, fetch, ' +
          'crypto.subtle, TextEncoder … are available; nothing can be imported: inline any helper). A compile error comes back as an error ' +
          'result whose message reads `file:line:col: message`: fix the source and deploy again. The function then answers at /fn/<name>.',
        inputSchema: {
          name: functionName,
          source: z.string().min(1).describe('the module source text'),
          filename: z.string().optional().describe('the file name it compiles as; its extension picks the loader (.ts, .js, .mts, .mjs, .tsx, .jsx). Default <name>.ts'),
          config: z
            .record(z.string(), z.unknown())
            .optional()
            .describe('function configuration, as in <name>.faas.json: memoryMb, cpuMs, timeoutMs, priority, maxConcurrency, allowedHosts, env, secrets, kv, crons, routes, rateLimit, stripPrefix, isolation'),
          percent: z.number().int().min(1).max(99).optional().describe('a gradual rollout: the new version takes this share of the traffic, the live version the rest'),
          tenant: z.string().optional().describe("the operator's token only: the tenant a new function belongs to"),
        },
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      },
      cls: TOOL_CLASSES.deploy_function,
      usage: true,
      async run({ deps, principal }, args: { name: string; source: string; filename?: string; config?: unknown; percent?: number; tenant?: string }) {
        const { name, filename, ...rest } = args;
        const answer = await audited(deps.plane, principal, 'deploy', { tenant: ownTenant(principal), name, detail: { via: 'mcp' } }, (target) =>
          deployFunction(deps, principal, name, { ...rest, filename: filename ?? `${name}.ts` }, target),
        );
        return { payload: { ...answer, path: `/fn/${name}` } };
      },
    },
    {
      name: 'invoke_function',
      config: {
        title: 'Invoke a function',
        description:
          'Sends one HTTP request to a deployed function, as a client of /fn/<name><path> would (the same rate limits, scheduling and ' +
          'logging). Answers status, headers, body (text, or bodyBase64 when it is not UTF-8), timings (queue, cold start, execution) and the ' +
          'console lines the request logged. A failure of the function (an exception, a CPU, memory or time limit) is an error result with its code.',
        inputSchema: {
          name: functionName,
          method: z.enum(METHODS).optional().describe('HTTP method (default GET)'),
          path: z.string().max(MAX_PATH_CHARS).optional().describe('path and query the function sees, e.g. "/todos?done=true" (default "/")'),
          headers: z.record(z.string(), z.string()).optional().describe(`request headers (at most ${MAX_HEADERS}); host and content-length are set by the gateway`),
          body: z.string().optional().describe('request body as text'),
          bodyBase64: z.string().optional().describe('request body as base64 (binary); instead of body'),
        },
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
      },
      usage: false,
      run: ({ deps, principal, caller }, args: InvokeArgs) => invokeFunction(deps, principal, caller.host, args),
    },
    {
      name: 'delete_function',
      config: {
        title: 'Delete a function',
        description: 'Deletes a function and every kept version of it.',
        inputSchema: { name: functionName },
        annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      },
      cls: TOOL_CLASSES.delete_function,
      usage: true,
      async run({ deps, principal }, { name }: { name: string }) {
        const { registry, plane } = deps;
        const owner = registry.get(name, principal)?.tenant ?? ownTenant(principal);
        await audited(plane, principal, 'delete', { tenant: owner, name, detail: { via: 'mcp' } }, async () => {
          if (!(await registry.remove(name, principal))) throw notDeployed(name);
        });
        return { payload: { deleted: name } };
      },
    },
    {
      name: 'run_code',
      config: {
        title: 'Run code in a sandbox',
        description:
          'Runs a JavaScript or TypeScript snippet once in a fresh, throwaway QuickJS sandbox (nothing is deployed) and returns its value ' +
          'and console output. The snippet is the body of an async function: `return` the result (any JSON value; other values come back ' +
          'as text), `await` works, and the optional `input` argument is the variable `input`. Web APIs are there (URL, TextEncoder, ' +
          `crypto, structuredClone, setTimeout …); imports are not. Limits: ${limits.memoryMb} MiB heap, ${limits.cpuMs} ms CPU, ` +
          `${limits.timeoutMs} ms wall time, ` +
          (limits.allowedHosts.length ? `fetch only to ${limits.allowedHosts.join(', ')}` : 'no network (fetch is refused)') +
          '. Exceeding one is an error result (cpu_limit_exceeded, memory_limit_exceeded, timeout); an exception is function_error with its stack.',
        inputSchema: {
          code: z.string().min(1).max(limits.maxCodeBytes).describe('the snippet: the body of an async function, e.g. "const r = [1, 2, 3].map(x => x * 2); console.log(r); return r;"'),
          input: z.unknown().optional().describe('a JSON value the snippet sees as `input`'),
        },
        annotations: { readOnlyHint: true, idempotentHint: false, openWorldHint: limits.allowedHosts.length > 0 },
      },
      cls: { priority: RUN_CODE_PRIORITY, concurrency: limits.concurrency },
      usage: false,
      // the tenant's request rate covers snippets too
      admit: ({ deps, tenant }) => deps.plane.limits.admit(RUN_CODE, tenant),
      async run({ deps, tenant, caller }, { code, input }: { code: string; input?: unknown }) {
        const started = performance.now();
        const outcome = await deps.runner.run(tenant, code, input, caller.requestId);
        const wallMs = performance.now() - started;
        const failed = outcome.error?.code;
        if (failed === 'internal_error') deps.logger.error({ requestId: caller.requestId, tool: 'run_code', cause: outcome.error?.detail?.cause }, 'run_code failed');
        deps.plane.usage.add(tenant, RUN_CODE, {
          invocations: 1,
          errors: failed ? 1 : 0,
          wallMs,
          cpuMs: outcome.usage?.cpuMs ?? 0,
          egressBytes: outcome.usage?.egressBytes ?? 0,
        });
        deps.metrics.invocation(RUN_CODE, failed ?? 'ok', failed ? undefined : { seconds: ((outcome.coldMs ?? 0) + (outcome.execMs ?? 0)) / 1000, cold: true });
        return runCodePayload(outcome);
      },
    },
  ];
}

/** Registers every tool on a request's server, each call acting as `caller`. */
export function registerTools(server: McpServer, deps: McpDeps, caller: McpCaller): void {
  const { principal } = caller;
  const ctx: ToolContext = { deps, caller, principal, tenant: principal.kind === 'tenant' ? principal.tenant : DEFAULT_TENANT };
  for (const def of deps.tools) server.registerTool(def.name, def.config, instrumented(ctx, def) as never);
}

/** run_code's answer: the value (parsed JSON when it fits, else capped text), console, timings; or the error with console and timings. */
function runCodePayload(o: RunOutcome): Outcome {
  const t = new Truncation();
  const console = t.console(o.console.map((l) => (l.source === 'guest' ? { level: l.level, text: l.text } : { level: l.level, text: l.text, source: l.source })), o.droppedLines);
  const r = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * 100) / 100);
  const timing = { compileMs: r(o.compileMs), coldMs: r(o.coldMs), execMs: r(o.execMs), cpuMs: r(o.usage?.cpuMs), cached: o.cached };
  if (o.error) return { payload: t.into({ console, timing }), error: o.error };
  const result: Record<string, unknown> = { type: o.type };
  const parsed = o.form === 'json' && o.text !== undefined && o.text.length <= RESULT_LIMITS.textChars ? jsonValue(o.text) : NOT_PARSED;
  if (parsed !== NOT_PARSED) {
    result.value = parsed;
  } else if (o.form === 'json') {
    result.valueJson = t.text('value (as JSON)', o.text ?? '');
  } else if (o.form === 'text') {
    result.valueText = t.text('value (as text)', o.text ?? '');
  }
  return { payload: t.into({ ...result, console, timing }) };
}

/** JSON nested deeper than this comes back as its text: the answer is written out with recursion. */
const MAX_VALUE_DEPTH = 64;
const NOT_PARSED = Symbol('not parsed');

/** Parsed, unless it is nested too deep to be written out again safely. */
function jsonValue(text: string): unknown {
  if (jsonDepth(text) > MAX_VALUE_DEPTH) return NOT_PARSED;
  try {
    return JSON.parse(text);
  } catch {
    return NOT_PARSED;
  }
}

/**
 * A tool's handler wrapped in what every call goes through: a scheduler slot of its class (none
 * for invoke_function, which takes its function's own), metrics, usage, one log line, and errors as
 * error results.
 */
function instrumented(ctx: ToolContext, def: ToolDef) {
  const { deps, caller, tenant } = ctx;
  return async (args: unknown): Promise<CallToolResult> => {
    const started = performance.now();
    let outcome = 'ok';
    let slot: { release(): void } | undefined;
    try {
      def.admit?.(ctx);
      if (def.cls) {
        const granted = await deps.scheduler.acquire({ name: `mcp:${def.name}/${tenant}`, priority: def.cls.priority, maxConcurrency: def.cls.concurrency });
        slot = granted;
        // The queue's deadline is a timer, and a busy thread fires it late; a call that waited past it is shed anyway.
        const { queueTimeoutMs } = deps.scheduler.options;
        if (granted.waitedMs > queueTimeoutMs) {
          throw new FaasError('overloaded', `no slot became free within ${queueTimeoutMs} ms`, { retryAfterSeconds: deps.scheduler.retryAfterSeconds });
        }
      }
      const out = await def.run(ctx, args ?? {});
      if (out.error) {
        outcome = out.error.code;
        return toolResult({ ...errorPayload(out.error), ...out.payload }, true);
      }
      return toolResult(out.payload);
    } catch (err) {
      outcome = isFaasError(err) ? err.code : 'internal_error';
      if (!isFaasError(err)) deps.logger.error({ requestId: caller.requestId, tool: def.name, err }, 'mcp tool failed');
      return toolResult(errorPayload(err), true);
    } finally {
      slot?.release();
      const seconds = (performance.now() - started) / 1000;
      deps.mcpMetrics.call(def.name, outcome, seconds);
      if (def.usage) deps.plane.usage.add(tenant, `mcp:${def.name}`, { invocations: 1, errors: outcome === 'ok' ? 0 : 1, wallMs: seconds * 1000 });
      deps.logger.info({ requestId: caller.requestId, tool: def.name, tenant, outcome, ms: Math.round(seconds * 100_000) / 100 }, 'mcp tool call');
    }
  };
}
