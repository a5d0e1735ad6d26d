import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { INSTRUCTIONS, SERVER_INFO } from './about.ts';
import { registerTools, type McpCaller, type McpDeps } from './tools.ts';

/** Elements (array items and object members, all levels) a tool call's arguments may have. */
export const MAX_TOOL_INPUT_ELEMENTS = 10_000;

// One validator for every server: building one (an Ajv instance) per request would cost more than the request.
const validator = new AjvJsonSchemaValidator();

/** A server for one HTTP request (the transport is stateless): its tools act as `caller`. */
export function createMcpServer(deps: McpDeps, caller: McpCaller): McpServer {
  const server = new McpServer(SERVER_INFO, {
    capabilities: { tools: {} },
    instructions: INSTRUCTIONS,
    jsonSchemaValidator: validator,
    maxToolInputElements: MAX_TOOL_INPUT_ELEMENTS,
  });
  registerTools(server, deps, caller);
  return server;
}
