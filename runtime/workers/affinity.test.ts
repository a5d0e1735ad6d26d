import { describe, expect, it } from 'vitest';
import { pickWorker, type Candidate } from './affinity.ts';

const t = (inflight: number, warm: string[] = [], state: Candidate['state'] = 'ready') => ({ state, inflight, warm: new Set(warm) });
const pick = (threads: ReturnType<typeof t>[], key = 'f@1', spill = 2, turn = 0) => {
  const chosen = pickWorker(threads, key, spill, turn);
  return chosen === undefined ? -1 : threads.indexOf(chosen);
};

describe('pickWorker (function affinity)', () => {
  it('prefers the thread with a warm instance of the function version', () => {
    expect(pick([t(0), t(0, ['f@1']), t(0)])).toBe(1);
    expect(pick([t(0, ['f@2']), t(1, ['f@1'])])).toBe(1);
  });

  it('spills to the least loaded thread once the warm one is clearly busier', () => {
    expect(pick([t(1, ['f@1']), t(0)])).toBe(0);
    expect(pick([t(2, ['f@1']), t(0)])).toBe(1);
    expect(pick([t(5, ['f@1']), t(4)], 'f@1', 2)).toBe(0);
    expect(pick([t(6, ['f@1']), t(4)], 'f@1', 2)).toBe(1);
  });

  it('among warm threads picks the least loaded', () => {
    expect(pick([t(3, ['f@1']), t(1, ['f@1']), t(0)])).toBe(1);
  });

  it('spreads cold work and breaks ties round-robin', () => {
    const threads = [t(0), t(0), t(0)];
    expect([0, 1, 2, 3].map((turn) => pick(threads, 'f@1', 2, turn))).toEqual([0, 1, 2, 0]);
    expect(pick([t(2), t(1), t(3)])).toBe(1);
  });

  it('skips dead and starting threads while a ready one exists, and falls back to a starting one', () => {
    expect(pick([t(0, ['f@1'], 'dead'), t(5), t(0, ['f@1'], 'starting')])).toBe(1);
    expect(pick([t(0, [], 'dead'), t(3, [], 'starting'), t(1, [], 'starting')])).toBe(2);
    expect(pick([t(0, [], 'dead')])).toBe(-1);
  });
});
