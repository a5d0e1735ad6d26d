import { describe, expect, it } from 'vitest';
import { FaasError } from '../../contract/errors.ts';
import { PriorityQueue } from './priority-queue.ts';
import { Scheduler, type Slot, type Ticket } from './scheduler.ts';
import { sleep } from '../../test/helpers/gateway.ts';

const ticket = (name: string, priority = 0, maxConcurrency = 64): Ticket => ({ name, priority, maxConcurrency });

/** Acquires and records the order in which slots are granted; `release` gives each slot back as soon as it is granted. */
function recorder(s: Scheduler, release = false) {
  const order: string[] = [];
  const run = (label: string, t: Ticket, deadline?: number) =>
    s.acquire(t, deadline).then((slot) => {
      order.push(label);
      if (release) slot.release();
      return slot;
    });
  return { order, run };
}

describe('PriorityQueue', () => {
  it('pops in order and removes from the middle', () => {
    const q = new PriorityQueue<{ heapIndex: number; v: number }>((a, b) => a.v < b.v);
    const items = [5, 3, 9, 1, 7, 2, 8, 6, 4, 0].map((v) => ({ heapIndex: -1, v }));
    for (const i of items) q.push(i);
    expect(q.remove(items[2]!)).toBe(true); // 9
    expect(q.remove(items[2]!)).toBe(false);
    expect(q.remove(items[3]!)).toBe(true); // 1
    const out: number[] = [];
    while (q.size) out.push(q.pop()!.v);
    expect(out).toEqual([0, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('stays ordered under random pushes and removals', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const q = new PriorityQueue<{ heapIndex: number; v: number }>((a, b) => a.v < b.v);
    const live = new Set<{ heapIndex: number; v: number }>();
    for (let i = 0; i < 2000; i++) {
      if (rand() < 0.6 || live.size === 0) {
        const item = { heapIndex: -1, v: Math.floor(rand() * 1000) };
        q.push(item);
        live.add(item);
      } else {
        const victim = [...live][Math.floor(rand() * live.size)]!;
        q.remove(victim);
        live.delete(victim);
      }
    }
    const expected = [...live].map((i) => i.v).sort((a, b) => a - b);
    const out: number[] = [];
    while (q.size) out.push(q.pop()!.v);
    expect(out).toEqual(expected);
  });
});

describe('Scheduler', () => {
  it('grants at once while there is room, then queues by priority, FIFO within a priority', async () => {
    const s = new Scheduler({ maxConcurrent: 1, agingMs: 60_000 });
    const holder = await s.acquire(ticket('a'));
    const { order, run } = recorder(s, true);
    const waits = [run('low-1', ticket('low', -1)), run('mid-1', ticket('mid', 0)), run('high-1', ticket('high', 5)), run('mid-2', ticket('mid', 0)), run('high-2', ticket('high', 5))];
    expect(s.depth).toBe(5);
    holder.release();
    await Promise.all(waits);
    expect(order).toEqual(['high-1', 'high-2', 'mid-1', 'mid-2', 'low-1']);
    expect(s.depth).toBe(0);
    expect(s.inflight).toBe(0);
  });

  it('ages waiters: one level per agingMs waited, so low priority is not starved', async () => {
    const s = new Scheduler({ maxConcurrent: 1, agingMs: 10 });
    const holder = await s.acquire(ticket('hold'));
    const { order, run } = recorder(s, true);
    const old = run('old-low', ticket('low', 0));
    await sleep(60); // ≈ +6 levels
    const fresh = run('fresh-high', ticket('high', 3));
    holder.release();
    await Promise.all([old, fresh]);
    expect(order).toEqual(['old-low', 'fresh-high']);

    // Without enough waiting, priority wins.
    const s2 = new Scheduler({ maxConcurrent: 1, agingMs: 1000 });
    const h2 = await s2.acquire(ticket('hold'));
    const r2 = recorder(s2, true);
    const a = r2.run('old-low', ticket('low', 0));
    await sleep(20);
    const b = r2.run('fresh-high', ticket('high', 3));
    h2.release();
    await Promise.all([a, b]);
    expect(r2.order).toEqual(['fresh-high', 'old-low']);
  });

  it('respects per-function concurrency without blocking other functions', async () => {
    const s = new Scheduler({ maxConcurrent: 10 });
    const a1 = await s.acquire(ticket('a', 0, 1));
    const { order, run } = recorder(s);
    const a2 = run('a2', ticket('a', 5, 1));
    const b1 = run('b1', ticket('b', 0, 1));
    (await b1).release();
    expect(order).toEqual(['b1']);
    a1.release();
    (await a2).release();
    expect(order).toEqual(['b1', 'a2']);
  });

  it('lets a parked waiter of a busy function run once that function frees a slot', async () => {
    const s = new Scheduler({ maxConcurrent: 2, agingMs: 60_000 });
    const a1 = await s.acquire(ticket('a', 0, 1));
    const b1 = await s.acquire(ticket('b', 0, 2));
    const { order, run } = recorder(s);
    // a2 outranks b2 but `a` is at its limit: b2 must not wait behind it.
    const a2 = run('a2', ticket('a', 9, 1));
    const b2 = run('b2', ticket('b', 0, 2));
    b1.release();
    const slotB2 = await b2;
    expect(order).toEqual(['b2']);
    a1.release();
    const slotA2 = await a2;
    expect(order).toEqual(['b2', 'a2']);
    slotA2.release();
    slotB2.release();
    expect(s.inflight).toBe(0);
  });

  it('turns waiters away after the queue timeout, and sheds at once when the queue is full', async () => {
    const s = new Scheduler({ maxConcurrent: 1, maxQueue: 2, queueTimeoutMs: 50 });
    const holder = await s.acquire(ticket('a'));
    const started = performance.now();
    const w1 = s.acquire(ticket('a'));
    const w2 = s.acquire(ticket('a'));
    const full = await s.acquire(ticket('a')).catch((e: FaasError) => e);
    expect(full).toBeInstanceOf(FaasError);
    expect((full as FaasError).code).toBe('overloaded');
    expect(performance.now() - started).toBeLessThan(20);
    for (const w of [w1, w2]) {
      const err = await w.catch((e: FaasError) => e);
      expect((err as FaasError).code).toBe('overloaded');
      expect((err as FaasError).detail?.retryAfterSeconds).toBe(1);
    }
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(s.depth).toBe(0);
    holder.release();
    holder.release(); // idempotent
    expect(s.inflight).toBe(0);
  });

  it('reports timeout instead when the invocation deadline comes before the queue timeout', async () => {
    const s = new Scheduler({ maxConcurrent: 1, queueTimeoutMs: 5000 });
    const holder = await s.acquire(ticket('a'));
    const err = await s.acquire(ticket('a'), performance.now() + 30).catch((e: FaasError) => e);
    expect((err as FaasError).code).toBe('timeout');
    holder.release();
  });

  it('keeps the global bound under a burst', async () => {
    const s = new Scheduler({ maxConcurrent: 3, maxQueue: 100 });
    let running = 0;
    let peak = 0;
    const work = Array.from({ length: 30 }, async (_, i) => {
      const slot: Slot = await s.acquire(ticket(`f${i % 4}`, i % 3, 2));
      running++;
      peak = Math.max(peak, running);
      await sleep(1);
      running--;
      slot.release();
    });
    await Promise.all(work);
    expect(peak).toBe(3);
    expect(s.inflight).toBe(0);
    expect(s.depth).toBe(0);
  });
});
