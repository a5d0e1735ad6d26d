/**
 * `POST /mcp`: the Model Context Protocol over Streamable HTTP, stateless. Each request is
 * authenticated like the admin API (the root token or a tenant token) and served by a server of its
 * own, whose tools act as that principal; the answer is JSON (no stream), so nothing is held between
 * requests and a client may send any request to any gateway. GET (a server-to-client stream) and
 * DELETE (ending a session) have nothing to do without sessions: 405, as the transport allows.
 */
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Hono } from 'hono';
import { FaasError } from '../../contract/errors.ts';
import { readBody, type BodyBudget } from '../body.ts';
import type { GatewayEnv } from '../http.ts';
import { principalAuth, principalOf } from '../routes/auth.ts';
import { createMcpServer } from './server.ts';
import type { McpDeps } from './tools.ts';

export interface McpRouteDeps extends McpDeps {
  adminToken: string;
  /** Cap on a request body: deploy_function carries a whole function's source. */
  maxDeployBytes: number;
  bodyTimeoutMs: number;
  bodyBudget: BodyBudget;
}

/** Room for the JSON-RPC envelope around a deploy's source. */
const ENVELOPE_BYTES = 64 * 1024;
const SANE_HOST = /^[A-Za-z0-9.\-]{1,253}(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](?::\d{1,5})?$/;

export function registerMcpRoutes(app: Hono<GatewayEnv>, deps: McpRouteDeps): void {
  app.post('/mcp', principalAuth(deps.adminToken, deps.plane.tenants), async (c) => {
    const bytes = await readBody(c.env.incoming, {
      limit: deps.maxDeployBytes + ENVELOPE_BYTES,
      timeoutMs: deps.bodyTimeoutMs,
      outgoing: c.env.outgoing,
      budget: deps.bodyBudget,
    });
    let message: unknown;
    try {
      message = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return c.json({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: the body is not JSON' }, id: null }, 400);
    }
    const host = c.req.header('host') ?? '';
    const server = createMcpServer(deps, {
      principal: principalOf(c),
      host: SANE_HOST.test(host) ? host : 'localhost',
      requestId: c.get('requestId'),
    });
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    try {
      await server.connect(transport);
      return await transport.handleRequest(c.req.raw, { parsedBody: message });
    } finally {
      void server.close();
    }
  });
  app.all('/mcp', (c) => {
    c.header('allow', 'POST');
    throw new FaasError('method_not_allowed', `${c.req.method} is not supported on /mcp: this server is stateless and answers POST only`);
  });
}
