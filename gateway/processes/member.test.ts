import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ProcessGroup } from './member.ts';
import type { FromSupervisor } from './messages.ts';

/** A process's part as the supervisor's messages leave it (the IPC channel itself is the processes tests'). */
function group(slot: number): { g: ProcessGroup; receive: (msg: FromSupervisor) => void } {
  const g = Reflect.construct(ProcessGroup as unknown as new (slot: number, logger: pino.Logger) => ProcessGroup, [slot, pino({ level: 'silent' })]);
  return { g, receive: (msg) => (g as unknown as { receive(raw: unknown): void }).receive(msg) };
}

describe('a gateway process of --processes', () => {
  it('does not fire cron before the supervisor said which processes serve (a replacement starting beside the leader would fire twice)', () => {
    const { g, receive } = group(1);
    expect(g.leadsCron()).toBe(false);
    // slot 0 serves, this replacement is starting
    receive({ t: 'slots', slots: [0] });
    expect(g.leadsCron()).toBe(false);
    // slot 0 died: this one leads
    receive({ t: 'slots', slots: [1] });
    expect(g.leadsCron()).toBe(true);
    receive({ t: 'slots', slots: [0, 1] });
    expect(g.leadsCron()).toBe(false);
  });

  it('takes one share of the rate limits until told how many processes serve, then 1/n', () => {
    const { g, receive } = group(0);
    const sizes: number[] = [];
    g.onSize((n) => sizes.push(n));
    receive({ t: 'slots', slots: [0, 1, 2] });
    expect(sizes).toEqual([1, 3]);
    expect(g.size).toBe(3);
  });
});
