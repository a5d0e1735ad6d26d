import { describe, expect, it } from 'vitest';
import { FaasError } from '../../contract/errors.ts';
import { errorPayload, jsonDepth, RESULT_LIMITS, toolResult, Truncation } from './results.ts';

describe('Truncation', () => {
  it('cuts text and lists and says by how much', () => {
    const t = new Truncation();
    expect(t.text('body', 'abcdef', 4)).toBe('abcd');
    expect(t.text('short', 'ab', 4)).toBe('ab');
    expect(t.items('functions', [1, 2, 3], 2)).toEqual([1, 2]);
    expect(t.into({ x: 1 })).toEqual({ x: 1, truncated: ['body: 6 characters, only the first 4 are shown', 'functions: 3 in all, only the first 2 are shown'] });
    expect(new Truncation().into({ x: 1 })).toEqual({ x: 1 });
  });

  it('keeps console lines up to the budget, cutting a long one, and counts the rest', () => {
    const t = new Truncation();
    const lines = [{ level: 'log', text: 'a'.repeat(600) }, { level: 'log', text: 'b'.repeat(3000) }, { level: 'log', text: 'c' }];
    const kept = t.console(lines, 5, 2000);
    expect(kept.map((l) => l.text.length)).toEqual([600, 1400]);
    expect(t.notes).toEqual([
      'console: line 2 is 3,000 characters, only the first 1,400 are shown',
      'console: 1 more line not shown (the lines shown hold 2,000 of at most 2,000 characters)',
      'console: 5 lines over the per-call cap were not kept',
    ]);
  });
});

describe('results', () => {
  it('answers compact JSON, cut past the backstop with a note', () => {
    expect(toolResult({ a: 1 })).toEqual({ content: [{ type: 'text', text: '{"a":1}' }] });
    expect(toolResult({ a: 1 }, true).isError).toBe(true);
    const big = toolResult({ s: 'x'.repeat(RESULT_LIMITS.totalChars + 10) });
    const text = (big.content[0] as { text: string }).text;
    expect(text.length).toBeLessThan(RESULT_LIMITS.totalChars + 200);
    expect(text).toMatch(/\[truncated: the result is [\d,]+ characters, only the first [\d,]+ are shown\]$/);
  });

  it('says the gateway’s error code, status, stack and retry hint; anything else is internal_error', () => {
    expect(errorPayload(new FaasError('overloaded', 'busy', { retryAfterSeconds: 2 }), { extra: true })).toEqual({ error: 'overloaded', message: 'busy', status: 503, retryAfterSeconds: 2, extra: true });
    expect(errorPayload(new FaasError('function_error', 'boom', { stack: 'at x' }))).toMatchObject({ status: 500, stack: 'at x' });
    expect(errorPayload(new Error('secret detail'))).toEqual({ error: 'internal_error', message: 'internal error', status: 500 });
  });

  it('measures JSON depth without recursion, skipping strings', () => {
    expect(jsonDepth('[1,{"a":[2]}]')).toBe(3);
    expect(jsonDepth('"[[[[\\"[["')).toBe(0);
    expect(jsonDepth('['.repeat(100_000) + ']'.repeat(100_000))).toBe(100_000);
  });
});
