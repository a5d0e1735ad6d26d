import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ProcessGroup } from './member.ts';
import type { FromMember, FromSupervisor } from './messages.ts';
import type { TailEvent } from '../logs/hub.ts';

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

describe('live logs relayed between processes', () => {
  it('a followed function logging as fast as it can relays a bounded number of bytes a second (the rest reaches local followers only)', () => {
    const { g, receive } = group(0);
    let bytes = 0;
    let events = 0;
    g.send = (msg: FromMember) => {
      if (msg.t === 'log' && msg.event.type === 'log') {
        bytes += msg.event.text.length;
        events++;
      }
      return true;
    };
    const hub: Parameters<ProcessGroup['relayLogs']>[0] = { onFollow: undefined, onEvent: undefined, relayed: () => {} };
    g.relayLogs(hub);
    receive({ t: 'followed', names: ['noisy'] });
    const text = 'x'.repeat(64 * 1024);
    const started = performance.now();
    // 2 GiB of console lines at once, as a tight loop of a hostile guest's requests could make them
    for (let i = 0; i < 32 * 1024; i++) {
      const event: TailEvent = { type: 'log', function: 'noisy', version: 1, requestId: null, at: '', level: 'info', source: 'guest', text };
      hub.onEvent!('default', event);
    }
    const seconds = (performance.now() - started) / 1000;
    expect(events).toBeGreaterThan(0);
    // about 1 MiB a second after a burst of 2 MiB: generous bounds for a loaded machine
    expect(bytes).toBeLessThanOrEqual(2 * 1024 * 1024 + Math.ceil(seconds + 1) * 1024 * 1024);
    // an unfollowed function relays nothing
    receive({ t: 'followed', names: [] });
    const sent = events;
    hub.onEvent!('default', { type: 'log', function: 'noisy', version: 1, requestId: null, at: '', level: 'info', source: 'guest', text: 'x' });
    expect(events).toBe(sent);
  });
});
