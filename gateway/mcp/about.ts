/** What the MCP server says about itself: shared by the gateway's /mcp and `faas mcp` (which must start fast). */
import { FAAS_VERSION } from '../../contract/version.ts';

export const SERVER_INFO = { name: 'faas', version: FAAS_VERSION };

/** What a model is told about this server when it connects. */
export const INSTRUCTIONS =
  'faas runs Workers-style JavaScript/TypeScript functions in small QuickJS sandboxes with hard CPU, memory and time limits. ' +
  'Use run_code to evaluate a snippet once (nothing is deployed); deploy_function to make a function that answers HTTP at /fn/<name>, ' +
  'invoke_function to call it, get_function and list_functions to look around, delete_function to remove one. ' +
  'Errors come back as error results with a code (compile_error, function_error, cpu_limit_exceeded, memory_limit_exceeded, timeout, not_found …) ' +
  'and a message; compile errors read file:line:col.';
