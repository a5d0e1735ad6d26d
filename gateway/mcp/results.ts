/**
 * Tool results: JSON text a model reads, every part of it capped, and whatever was cut said so in
 * the result itself (`truncated`: one note per part), so a model never takes a prefix for the whole.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ERROR_STATUS, isFaasError, type ErrorCode } from '../../contract/errors.ts';

export const RESULT_LIMITS = {
  /** A response body, a run_code value, a function's source: characters shown. */
  textChars: 32 * 1024,
  /** Console lines of one call, all together. */
  consoleChars: 32 * 1024,
  /** Functions one list shows. */
  listItems: 200,
  /** The whole result text: a backstop behind the caps above. */
  totalChars: 128 * 1024,
} as const;

/** Notes about what a result leaves out, collected while it is built. */
export class Truncation {
  readonly notes: string[] = [];

  /** `text` cut to `max` characters, with a note naming `what` and how much was left out. */
  text(what: string, text: string, max: number = RESULT_LIMITS.textChars): string {
    if (text.length <= max) return text;
    this.notes.push(`${what}: ${fmt(text.length)} characters, only the first ${fmt(max)} are shown`);
    return text.slice(0, max);
  }

  /** The first `max` items of a list, with a note when there were more. */
  items<T>(what: string, items: readonly T[], max: number = RESULT_LIMITS.listItems): T[] {
    if (items.length <= max) return [...items];
    this.notes.push(`${what}: ${fmt(items.length)} in all, only the first ${fmt(max)} are shown`);
    return items.slice(0, max);
  }

  /** Console lines until their text adds up to `max` characters; a line longer than what is left is cut (the runtime already caps each at 16 KiB). */
  console(lines: readonly ConsoleLine[], droppedByRuntime = 0, max: number = RESULT_LIMITS.consoleChars): ConsoleLine[] {
    const out: ConsoleLine[] = [];
    let used = 0;
    for (const line of lines) {
      const room = max - used;
      if (line.text.length > room) {
        if (room >= 1024) {
          out.push({ ...line, text: line.text.slice(0, room) });
          used = max;
          this.notes.push(`console: line ${out.length} is ${fmt(line.text.length)} characters, only the first ${fmt(room)} are shown`);
        }
        const left = lines.length - out.length;
        if (left > 0) this.notes.push(`console: ${fmt(left)} more line${left === 1 ? '' : 's'} not shown (the lines shown hold ${fmt(used)} of at most ${fmt(max)} characters)`);
        break;
      }
      used += line.text.length;
      out.push(line);
    }
    if (droppedByRuntime > 0) this.notes.push(`console: ${fmt(droppedByRuntime)} line${droppedByRuntime === 1 ? '' : 's'} over the per-call cap were not kept`);
    return out;
  }

  /** Adds the notes (if any) to `result` as `truncated`. */
  into<T extends object>(result: T): T & { truncated?: string[] } {
    return this.notes.length ? { ...result, truncated: this.notes } : result;
  }
}

export interface ConsoleLine {
  level: string;
  text: string;
  /** "runtime" for what the runtime says about the call (a limit hit, dropped lines); absent for the code's own console. */
  source?: string;
}

/**
 * A result as compact JSON text (no indentation: it costs a model tokens, and deeply nested values
 * would grow quadratically); `isError` when the call failed. Past the backstop cap the text is cut,
 * and says so.
 */
export function toolResult(payload: object, isError = false): CallToolResult {
  let text = JSON.stringify(payload);
  if (text.length > RESULT_LIMITS.totalChars) {
    text = `${text.slice(0, RESULT_LIMITS.totalChars)}\n… [truncated: the result is ${fmt(text.length)} characters, only the first ${fmt(RESULT_LIMITS.totalChars)} are shown]`;
  }
  return isError ? { content: [{ type: 'text', text }], isError: true } : { content: [{ type: 'text', text }] };
}

/** What a failed call says: the gateway's error code (the same as the HTTP API's), its message, and what the caller adds. */
export function errorPayload(err: unknown, extra: object = {}): { error: string; message: string; status: number } & Record<string, unknown> {
  if (isFaasError(err)) {
    const retryAfterSeconds = err.detail?.retryAfterSeconds;
    const stack = err.detail?.stack;
    return {
      error: err.code,
      message: err.message,
      status: ERROR_STATUS[err.code as ErrorCode] ?? 500,
      ...(typeof stack === 'string' && stack ? { stack: stack.slice(0, 4096) } : {}),
      ...(typeof retryAfterSeconds === 'number' ? { retryAfterSeconds } : {}),
      ...extra,
    };
  }
  return { error: 'internal_error', message: 'internal error', status: 500, ...extra };
}

export function errorResult(err: unknown, extra: object = {}): CallToolResult {
  return toolResult(errorPayload(err, extra), true);
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** The deepest nesting of arrays and objects in JSON text (strings skipped): cheap, and no recursion. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // a string: to its closing quote
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}
