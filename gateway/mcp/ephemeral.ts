/**
 * Functions that live for one MCP run_code call. Their names start with a prefix no deployed
 * function can have (function names are `[a-z0-9-]`), so they never clash with one, can never be
 * reached at /fn/<name>, and are folded into one label wherever a name becomes a metrics label.
 */
export const RUN_CODE = 'mcp:run_code';
const PREFIX = `${RUN_CODE}#`;

let seq = 0;

/** A name no other function, ephemeral or deployed, has in this process. */
export function ephemeralName(): string {
  return `${PREFIX}${++seq}`;
}

export function isEphemeral(name: string): boolean {
  return name.startsWith(PREFIX);
}

/** The metrics label of a function: every ephemeral function counts as `mcp:run_code`. */
export function functionLabel(name: string): string {
  return isEphemeral(name) ? RUN_CODE : name;
}
