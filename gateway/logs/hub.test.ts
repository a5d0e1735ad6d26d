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
    hub.subscribe('f', 't', {}, (e) => seen.push(e), () => {});
    hub.log('f', 't', 1, 'r1', 'log', 'guest', 'one');
    hub.log('f', 't', 1, 'r1', 'warn', 'guest', 'two');
    hub.log('f', 't', 1, undefined, 'info', 'guest', 'no request');
    expect(seen.map((e) => e.type)).toEqual(['log']);
    hub.invocation(record('f', 'r1'), 't');
    expect(seen[1]).toMatchObject({ type: 'invocation', requestId: 'r1', logs: [{ text: 'one' }, { text: 'two', level: 'warn' }] });
    expect(hub.recent('f', 't')).toHaveLength(2);
    expect(hub.recent('other', 't')).toEqual([]);
  });

  it('is bounded: events and bytes per function, lines per invocation, subscribers', () => {
    hub = new LogHub({ eventsPerFunction: 5, bytesPerFunction: 4096, linesPerInvocation: 3, subscribersPerFunction: 2, subscribersPerTenant: 3, subscribers: 3 });
    for (let i = 0; i < 10; i++) hub.invocation(record('f', `r${i}`), 't');
    expect(hub.recent('f', 't').map((e) => (e as { requestId: string }).requestId)).toEqual(['r5', 'r6', 'r7', 'r8', 'r9']);
    for (let i = 0; i < 10; i++) hub.log('g', 't', 1, undefined, 'log', 'guest', 'x'.repeat(1000));
    expect(hub.recent('g', 't').length).toBeLessThanOrEqual(4);
    for (let i = 0; i < 5; i++) hub.log('h', 't', 1, 'r', 'log', 'guest', `line ${i}`);
    hub.invocation(record('h', 'r'), 't');
    expect(hub.recent('h', 't')[0]).toMatchObject({ logs: [{ text: 'line 0' }, { text: 'line 1' }, { text: 'line 2' }], droppedLogs: 2 });
    hub.subscribe('f', 't', {}, () => {}, () => {});
    hub.subscribe('f', 't', {}, () => {}, () => {});
    expect(() => hub.subscribe('f', 't', {}, () => {}, () => {})).toThrow(/too many live log streams/);
    hub.subscribe('g', 't', {}, () => {}, () => {});
    expect(() => hub.subscribe('h', 't', {}, () => {}, () => {})).toThrow(/too many live log streams/);
  });

  it('bounds the console lines held for their invocation record in bytes too (waitUntil lines whose record never comes)', () => {
    hub = new LogHub({ eventsPerFunction: 50, bytesPerFunction: 8192, linesPerInvocation: 100, subscribersPerFunction: 2, subscribersPerTenant: 3, subscribers: 3 });
    for (let r = 0; r < 1000; r++) for (let i = 0; i < 10; i++) hub.log('f', 't', 1, `r${r}`, 'log', 'guest', 'x'.repeat(1000));
    const ring = (hub as unknown as { rings: Map<string, { pending: Map<string, { lines: { text: string }[] }> }> }).rings.get('f')!;
    const held = [...ring.pending.values()].reduce((n, p) => n + p.lines.reduce((m, l) => m + l.text.length, 0), 0);
    expect(held).toBeLessThanOrEqual(8192);
    // what did not fit is still accounted for: standalone events (bounded by the buffer) or dropped lines
    hub.invocation(record('f', 'r0'), 't');
    const r0 = hub.recent('f', 't').find((e) => e.type === 'invocation')!;
    expect(r0).toMatchObject({ requestId: 'r0' });
    expect((r0 as { logs: unknown[]; droppedLogs?: number }).logs.length + ((r0 as { droppedLogs?: number }).droppedLogs ?? 0)).toBe(10);
    // the record freed its lines: new ones are held again
    hub.log('f', 't', 1, 'fresh', 'log', 'guest', 'y');
    hub.invocation(record('f', 'fresh'), 't');
    expect(hub.recent('f', 't').at(-1)).toMatchObject({ requestId: 'fresh', logs: [{ text: 'y' }] });
  });

  it('no tenant can take every live stream: past its own share it is refused, and the others still get theirs', () => {
    hub = new LogHub({ eventsPerFunction: 5, bytesPerFunction: 4096, linesPerInvocation: 3, subscribersPerFunction: 4, subscribersPerTenant: 6, subscribers: 10 });
    const owners = new Map<string, string>([['v', 'victim']]);
    for (let i = 0; i < 5; i++) owners.set(`a${i}`, 'attacker');
    hub.retain(owners);
    const mine: (() => void)[] = [];
    let refused = 0;
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 4; j++) {
        try {
          mine.push(hub.subscribe(`a${i}`, 'attacker', {}, () => {}, () => {}));
        } catch (err) {
          expect(String(err)).toMatch(/6 per tenant/);
          refused++;
        }
      }
    }
    expect(mine).toHaveLength(6);
    expect(refused).toBe(14);
    for (let i = 0; i < 4; i++) hub.subscribe('v', 'victim', {}, () => {}, () => {});
    // unsubscribing gives the share back
    for (const stop of mine) stop();
    expect(() => hub.subscribe('a0', 'attacker', {}, () => {}, () => {})).not.toThrow();
  });

  it('filters by status and search', () => {
    hub = new LogHub();
    hub.log('f', 't', 1, 'a', 'log', 'guest', 'Needle here');
    hub.invocation(record('f', 'a'), 't');
    hub.invocation(record('f', 'b', 500, 'function_error', '/fn/x/broken'), 't');
    hub.invocation(record('f', 'c', 404), 't');
    hub.log('f', 't', 1, undefined, 'log', 'guest', 'stray needle');
    const ids = (filter: object) => hub.recent('f', 't', parseTailFilter(filter)).map((e) => (e.type === 'invocation' ? e.requestId : `log:${e.text}`));
    expect(ids({ status: 'error' })).toEqual(['b']);
    expect(ids({ status: 'ok' })).toEqual(['a', 'c']);
    expect(ids({ status: '404' })).toEqual(['c']);
    expect(ids({ status: '5xx' })).toEqual(['b']);
    expect(ids({ search: 'NEEDLE' })).toEqual(['a', 'log:stray needle']);
    expect(ids({ search: 'broken' })).toEqual(['b']);
    expect(() => parseTailFilter({ status: 'nope' })).toThrow(/status filter/);
    expect(() => parseTailFilter({ search: 'x'.repeat(300) })).toThrow(/at most 256/);
  });

  it('keeps each function’s buffer for its tenant: a name that changes hands starts empty and ends the old followers', () => {
    hub = new LogHub();
    hub.retain(new Map([['f', 'a']]));
    let ended = 0;
    const seen: TailEvent[] = [];
    hub.subscribe('f', 'a', {}, (e) => seen.push(e), () => ended++);
    hub.log('f', 'a', 1, 'r1', 'log', 'guest', 'secret of a');
    hub.invocation(record('f', 'r1'), 'a');
    expect(hub.recent('f', 'a')).toHaveLength(1);
    // f deleted by a and taken by b: a's buffer and followers go; a late event of a's is dropped
    hub.retain(new Map([['f', 'b']]));
    expect(ended).toBe(1);
    hub.log('f', 'a', 1, 'r2', 'log', 'guest', 'late line of a');
    hub.invocation(record('f', 'r2'), 'a');
    hub.log('f', undefined, 1, undefined, 'log', 'guest', 'nobody’s');
    expect(hub.recent('f', 'b')).toEqual([]);
    expect(hub.recent('f', 'a')).toEqual([]);
    hub.invocation(record('f', 'r3'), 'b');
    expect(hub.recent('f', 'b')).toHaveLength(1);
    expect(seen).toHaveLength(1);
    expect(() => hub.subscribe('f', 'a', {}, () => {}, () => {})).toThrow(/not deployed/);
    // a new function logs while its module loads, before the next retain() names it: kept for its tenant
    hub.log('g', 'b', 1, undefined, 'log', 'guest', 'loading');
    hub.retain(new Map([['f', 'b'], ['g', 'b']]));
    expect(hub.recent('g', 'b')).toMatchObject([{ text: 'loading' }]);
    // a late line of a deleted function's old owner does not survive the name going to another tenant
    hub.retain(new Map([['f', 'b']]));
    hub.log('g', 'b', 1, undefined, 'log', 'guest', 'late');
    hub.retain(new Map([['f', 'b'], ['g', 'c']]));
    expect(hub.recent('g', 'c')).toEqual([]);
    expect(hub.recent('g', 'b')).toEqual([]);
  });

  it('ends every live stream on close, and refuses new ones', () => {
    hub = new LogHub();
    let closed = 0;
    hub.subscribe('f', 't', {}, () => {}, () => closed++);
    hub.subscribe('g', 't', {}, () => {}, () => closed++);
    hub.close();
    expect(closed).toBe(2);
    expect(() => hub.subscribe('f', 't', {}, () => {}, () => {})).toThrow(/shutting down/);
  });
});
