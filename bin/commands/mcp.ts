/**
 * `faas mcp`: the gateway's MCP server for local clients that speak stdio (Claude Desktop, Claude
 * Code, IDEs). A relay: it answers initialize itself and forwards tools/list and tools/call to a
 * running gateway's /mcp with the token given, so the tools, their scoping (a tenant token sees its
 * own functions) and their limits are the gateway's, and run_code runs on that gateway. Nothing but
 * MCP messages goes to stdout; what goes wrong is said on stderr and in the answers.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { FaasError } from '../../contract/errors.ts';
import { INSTRUCTIONS, SERVER_INFO } from '../../gateway/mcp/about.ts';
import type { AdminOptions } from './admin.ts';
import { exitWithError } from './shared.ts';

/** A tool call may compile a whole function on the gateway (up to 20 s) after waiting for a slot. */
const CALL_TIMEOUT_MS = 120_000;

export async function mcpCommand(opts: AdminOptions): Promise<void> {
  const token = opts.token ?? process.env.FAAS_ADMIN_TOKEN;
  if (!token) exitWithError(new FaasError('unauthorized', 'faas mcp needs a token: --token <token> or $FAAS_ADMIN_TOKEN (the operator\'s or a tenant\'s)'));
  let endpoint: URL;
  try {
    endpoint = new URL('mcp', opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
  } catch {
    exitWithError(new FaasError('bad_request', `--url must be a URL such as http://127.0.0.1:8080 (got "${opts.url}")`));
  }
  const gateway = new GatewayLink(endpoint, token);

  const server = new Server(SERVER_INFO, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  server.setRequestHandler(ListToolsRequestSchema, async (request) => {
    try {
      return await (await gateway.client()).listTools(request.params);
    } catch (err) {
      throw new Error(gateway.explain(err));
    }
  });
  server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
    try {
      return (await (await gateway.client()).callTool(request.params, undefined, { timeout: CALL_TIMEOUT_MS })) as CallToolResult;
    } catch (err) {
      // The gateway's own errors (an unknown tool, invalid arguments) pass through as they are.
      if (err instanceof McpError && err.code !== ErrorCode.ConnectionClosed && err.code !== ErrorCode.RequestTimeout) throw err;
      return { content: [{ type: 'text', text: gateway.explain(err) }], isError: true };
    }
  });
  const stdio = new StdioServerTransport();
  const stop = () => {
    void gateway.close().finally(() => process.exit(0));
  };
  process.stdin.once('end', stop);
  process.stdin.once('close', stop);
  await server.connect(stdio);
  process.stderr.write(`faas mcp: serving MCP on stdio for the gateway at ${endpoint.origin}\n`);
}

/** The connection to the gateway's /mcp: made on first use, made again after it failed. */
class GatewayLink {
  private connecting: Promise<Client> | undefined;

  constructor(
    private readonly endpoint: URL,
    private readonly token: string,
  ) {}

  client(): Promise<Client> {
    this.connecting ??= (async () => {
      const client = new Client({ name: 'faas-mcp', version: SERVER_INFO.version });
      const transport = new StreamableHTTPClientTransport(this.endpoint, { requestInit: { headers: { authorization: `Bearer ${this.token}` } } });
      client.onclose = () => {
        this.connecting = undefined;
      };
      await client.connect(transport);
      return client;
    })().catch((err) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  /** What failed, in words for whoever reads the client's log: the gateway, the token, or the network. */
  explain(err: unknown): string {
    const where = `the faas gateway at ${this.endpoint.href}`;
    if (err instanceof StreamableHTTPError || (err instanceof Error && /HTTP (\d{3})/.test(err.message))) {
      const status = err instanceof StreamableHTTPError ? err.code : Number(/HTTP (\d{3})/.exec(err.message)![1]);
      if (status === 401) return `${where} refused the token (401 unauthorized): check --token or $FAAS_ADMIN_TOKEN`;
      if (status === 404) return `${where} has no MCP endpoint (404): is it a faas gateway of this version?`;
      return `${where} answered ${status}: ${err.message}`;
    }
    this.connecting = undefined;
    const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
    return `cannot reach ${where}: ${cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err))}`;
  }

  async close(): Promise<void> {
    const pending = this.connecting;
    this.connecting = undefined;
    if (pending) await pending.then((c) => c.close()).catch(() => {});
  }
}
