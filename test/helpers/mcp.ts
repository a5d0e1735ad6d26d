/** MCP clients for tests: the SDK's own Client over Streamable HTTP (a gateway's /mcp) or stdio (`faas mcp`). */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { FAAS_BIN, REPO_ROOT } from './gateway.ts';

/** A client connected to `<url>/mcp` with a bearer token. */
export async function httpClient(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'faas-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

/** A client of `node bin/faas.js mcp --url <url> --token <token>` (from source), over its stdin and stdout. */
export async function stdioClient(url: string, token: string, stderr: string[] = []): Promise<Client> {
  const client = new Client({ name: 'faas-test', version: '1.0.0' });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [FAAS_BIN, 'mcp', '--url', url, '--token', token],
    cwd: REPO_ROOT,
    env: { ...(process.env as Record<string, string>), FAAS_FROM_SOURCE: '1' },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (d: Buffer) => stderr.push(String(d)));
  await client.connect(transport);
  return client;
}

export interface ToolAnswer {
  isError: boolean;
  /** The result's text parsed as JSON (every faas tool answers JSON text). */
  data: any;
  text: string;
}

/** Calls a tool and parses its JSON answer. */
export async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> {
  const result = await client.callTool({ name, arguments: args });
  const content = result.content as { type: string; text: string }[];
  const text = content[0]?.text ?? '';
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = undefined;
  }
  return { isError: result.isError === true, data, text };
}
