import { afterEach, describe, expect, it } from 'vitest';
import { LogHub, parseTailFilter, type TailEvent } from './hub.ts';

const record = (fn: string, requestId: string, status = 200, outcome = 'ok', path = '/fn/x') => ({
  function: fn,
  version: 1,
  requestId,
  method: 'GET',
  path,
  status,
  outcome,
  ms: 1,
});

let hub: LogHub;
afterEach(() => hub?.close());

describe('live log hub', () => {
  it('holds a request’s console lines until its invocation record, then sends them together', () => {
    hub = new LogHub();
    const seen: TailEvent[] = [];
    hub.subscribe('f', {}, (e) => seen.push(e), () => {});
    hub.log('f', 1, 'r1', 'log', 'guest', 'one');
    hub.log('f', 1, 'r1', 'warn', 'guest', 'two');
    hub.log('f', 1, undefined, 'info', 'guest', 'no request');
    expect(seen.map((e) => e.type)).toEqual(['log']);
    hub.invocation(record('f', 'r1'));
    expect(seen[1]).toMatchObject({ type: 'invocation', requestId: 'r1', logs: [{ text: 'one' }, { text: 'two', level: 'warn' }] });
    expect(hub.recent('f')).toHaveLength(2);
    expect(hub.recent('other')).toEqual([]);
  });

  it('is bounded: events and bytes per function, lines per invocation, subscribers', () => {
    hub = new LogHub({ eventsPerFunction: 5, bytesPerFunction: 4096, linesPerInvocation: 3, subscribersPerFunction: 2, subscribers: 3 });
    for (let i = 0; i < 10; i++) hub.invocation(record('f', `r${i}`));
    expect(hub.recent('f').map((e) => (e as { requestId: string }).requestId)).toEqual(['r5', 'r6', 'r7', 'r8', 'r9']);
    for (let i = 0; i < 10; i++) hub.log('g', 1, undefined, 'log', 'guest', 'x'.repeat(1000));
    expect(hub.recent('g').length).toBeLessThanOrEqual(4);
    for (let i = 0; i < 5; i++) hub.log('h', 1, 'r', 'log', 'guest', `line ${i}`);
    hub.invocation(record('h', 'r'));
    expect(hub.recent('h')[0]).toMatchObject({ logs: [{ text: 'line 0' }, { text: 'line 1' }, { text: 'line 2' }], droppedLogs: 2 });
    hub.subscribe('f', {}, () => {}, () => {});
    hub.subscribe('f', {}, () => {}, () => {});
    expect(() => hub.subscribe('f', {}, () => {}, () => {})).toThrow(/too many live log streams/);
    hub.subscribe('g', {}, () => {}, () => {});
    expect(() => hub.subscribe('h', {}, () => {}, () => {})).toThrow(/too many live log streams/);
  });

  it('filters by status and search', () => {
    hub = new LogHub();
    hub.log('f', 1, 'a', 'log', 'guest', 'Needle here');
    hub.invocation(record('f', 'a'));
    hub.invocation(record('f', 'b', 500, 'function_error', '/fn/x/broken'));
    hub.invocation(record('f', 'c', 404));
    hub.log('f', 1, undefined, 'log', 'guest', 'stray needle');
    const ids = (filter: object) => hub.recent('f', parseTailFilter(filter)).map((e) => (e.type === 'invocation' ? e.requestId : `log:${e.text}`));
    expect(ids({ status: 'error' })).toEqual(['b']);
    expect(ids({ status: 'ok' })).toEqual(['a', 'c']);
    expect(ids({ status: '404' })).toEqual(['c']);
    expect(ids({ status: '5xx' })).toEqual(['b']);
    expect(ids({ search: 'NEEDLE' })).toEqual(['a', 'log:stray needle']);
    expect(ids({ search: 'broken' })).toEqual(['b']);
    expect(() => parseTailFilter({ status: 'nope' })).toThrow(/status filter/);
    expect(() => parseTailFilter({ search: 'x'.repeat(300) })).toThrow(/at most 256/);
  });

  it('ends every live stream on close, and refuses new ones', () => {
    hub = new LogHub();
    let closed = 0;
    hub.subscribe('f', {}, () => {}, () => closed++);
    hub.subscribe('g', {}, () => {}, () => closed++);
    hub.close();
    expect(closed).toBe(2);
    expect(() => hub.subscribe('f', {}, () => {}, () => {})).toThrow(/shutting down/);
  });
});
