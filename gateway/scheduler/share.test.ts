/**
 * The scheduler's fair share of global slots per function, and slots held by background work
 * (unit tests; the attacks themselves are in test/security/scheduler.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { FaasError } from '../../contract/errors.ts';
import { Scheduler, type Slot, type Ticket } from './scheduler.ts';
import { sleep } from '../../test/helpers/gateway.ts';

const ticket = (name: string, priority = 0, maxConcurrency = 10_000): Ticket => ({ name, priority, maxConcurrency });

/** Acquires `n` slots of `t`, resolving with those granted at once (the rest stay queued). */
async function grab(s: Scheduler, t: Ticket, n: number): Promise<{ granted: Slot[]; waiting: Promise<Slot>[] }> {
  const granted: Slot[] = [];
  const all = Array.from({ length: n }, () => s.acquire(t));
  for (const p of all) void p.then((slot) => granted.push(slot), () => {});
  await sleep(0);
  return { granted, waiting: all };
}

describe('Scheduler: fair share per function', () => {
  it('defaults to a quarter of maxConcurrent, at least one slot, and validates the option', () => {
    expect(new Scheduler().sharePerFunction).toBe(64);
    expect(new Scheduler({ maxConcurrent: 10 }).sharePerFunction).toBe(3);
    expect(new Scheduler({ maxConcurrent: 2 }).sharePerFunction).toBe(1);
    expect(new Scheduler({ maxConcurrent: 1 }).sharePerFunction).toBe(1);
    expect(new Scheduler({ maxConcurrent: 10, maxSharePerFunction: 1 }).sharePerFunction).toBe(10);
    for (const bad of [0, -0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new Scheduler({ maxSharePerFunction: bad })).toThrow(FaasError);
    }
  });

  it('caps a function at its share whatever its maxConcurrency; the parked rest never block another function', async () => {
    const s = new Scheduler({ maxConcurrent: 8 });
    const greedy = await grab(s, ticket('greedy'), 20);
    expect(greedy.granted).toHaveLength(2);
    expect(s.inflight).toBe(2);
    expect(s.depth).toBe(18);
    // Another function is granted at once, up to its own share.
    const other = await grab(s, ticket('other'), 3);
    expect(other.granted).toHaveLength(2);
    expect(s.inflight).toBe(4);
    // Freeing one of greedy's slots lets exactly one of its parked waiters in.
    greedy.granted[0]!.release();
    await sleep(0);
    expect(greedy.granted).toHaveLength(3);
    expect(s.inflight).toBe(4);
    for (const slot of [...greedy.granted, ...other.granted]) slot.release();
    s.rejectWaiting(new FaasError('unavailable', 'test over'));
    await Promise.allSettled([...greedy.waiting, ...other.waiting]);
  });

  it('a function below its share keeps its own, smaller maxConcurrency', async () => {
    const s = new Scheduler({ maxConcurrent: 100 });
    const small = await grab(s, ticket('small', 0, 3), 5);
    expect(small.granted).toHaveLength(3);
    s.rejectWaiting(new FaasError('unavailable', 'test over'));
    await Promise.allSettled(small.waiting);
  });

  it('keeps priority order and aging among waiters of functions at their share', async () => {
    const s = new Scheduler({ maxConcurrent: 4, agingMs: 60_000 });
    // a and b each hold their one-slot share (ceil(4 / 4) = 1); c and d take the other two.
    const held = await Promise.all(['a', 'b', 'c', 'd'].map((n) => s.acquire(ticket(n))));
    const order: string[] = [];
    const run = (label: string, t: Ticket) => s.acquire(t).then((slot) => (order.push(label), slot));
    const waits = [run('c-low', ticket('c', -1)), run('d-high', ticket('d', 5)), run('a-mid', ticket('a', 0))];
    // c and d free a global slot each, but d's waiter outranks c's: it goes first.
    held[3]!.release();
    held[2]!.release();
    const [cLow, dHigh] = await Promise.all([waits[0]!, waits[1]!]);
    expect(order).toEqual(['d-high', 'c-low']);
    // a's waiter is parked on a's share until a frees its slot.
    expect(s.depth).toBe(1);
    held[0]!.release();
    (await waits[2]!).release();
    for (const slot of [held[1]!, cLow, dHigh]) slot.release();
    expect(order).toEqual(['d-high', 'c-low', 'a-mid']);
    expect(s.inflight).toBe(0);
    expect(s.depth).toBe(0);
  });
});

describe('Scheduler: slots held by background work', () => {
  it('releaseAfter keeps the slot, counted as background, until the work settles', async () => {
    const s = new Scheduler({ maxConcurrent: 1 });
    const slot = await s.acquire(ticket('a'));
    let finish!: () => void;
    slot.releaseAfter(new Promise<void>((r) => (finish = r)));
    await sleep(5);
    expect(s.inflight).toBe(1);
    expect(s.background).toBe(1);
    const next = s.acquire(ticket('b'));
    expect(s.depth).toBe(1);
    finish();
    (await next).release();
    expect(s.inflight).toBe(0);
    expect(s.background).toBe(0);
  });

  it('frees the slot once already-settled or rejected work is seen, and at notAfter at the latest', async () => {
    const s = new Scheduler({ maxConcurrent: 4 });
    const settled = await s.acquire(ticket('a'));
    settled.releaseAfter(Promise.resolve(), performance.now() + 60_000);
    const rejected = await s.acquire(ticket('b'));
    rejected.releaseAfter(Promise.reject(new Error('background failed')));
    await sleep(0);
    expect(s.inflight).toBe(0);
    expect(s.background).toBe(0);

    const stuck = await s.acquire(ticket('c'));
    stuck.releaseAfter(new Promise(() => {}), performance.now() + 30);
    expect(s.background).toBe(1);
    await sleep(60);
    expect(s.inflight).toBe(0);
    expect(s.background).toBe(0);
  });

  it('release() still frees a background slot at once, and only once', async () => {
    const s = new Scheduler({ maxConcurrent: 2 });
    const slot = await s.acquire(ticket('a'));
    let finish!: () => void;
    slot.releaseAfter(new Promise<void>((r) => (finish = r)));
    slot.releaseAfter(Promise.resolve()); // a second call changes nothing
    await sleep(0);
    expect(s.background).toBe(1);
    slot.release();
    slot.release();
    finish();
    await sleep(0);
    expect(s.inflight).toBe(0);
    expect(s.background).toBe(0);
  });
});
