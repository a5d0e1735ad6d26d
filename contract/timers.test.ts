import { expect, it } from 'vitest';
import { every } from './timers.ts';

it('keeps running and reports what the work throws or rejects with; never ends the process', async () => {
  const seen: string[] = [];
  let runs = 0;
  const timer = every(
    5,
    () => {
      runs++;
      if (runs % 2) throw new Error(`sync ${runs}`);
      return Promise.reject(new Error(`async ${runs}`));
    },
    (err) => {
      seen.push((err as Error).message);
      throw new Error('the reporter failing too');
    },
  );
  try {
    await expect.poll(() => runs, { timeout: 5000 }).toBeGreaterThanOrEqual(4);
    await expect.poll(() => seen.length).toBeGreaterThanOrEqual(4);
  } finally {
    clearInterval(timer);
  }
  expect(seen.slice(0, 4)).toEqual(['sync 1', 'async 2', 'sync 3', 'async 4']);
  expect(timer.hasRef()).toBe(false);
});
