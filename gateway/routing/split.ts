/**
 * A gradual rollout's traffic split: each request goes to one of the live versions with the
 * probability of its percent, or, when the client names a key (header or cookie `faas-rollout-key`),
 * always to the same version for the same key while the split stays the same.
 */
import type { SplitEntry } from '../registry/store.ts';

export const ROLLOUT_KEY = 'faas-rollout-key';

export class TrafficSplit {
  /** Versions with the cumulative percent each one reaches up to. */
  private readonly bounds: { version: number; upTo: number }[];

  constructor(entries: readonly SplitEntry[]) {
    let sum = 0;
    this.bounds = entries.map((e) => ({ version: e.version, upTo: (sum += e.percent) }));
  }

  /** The version for a request: by `key` when there is one (sticky), else at random. */
  pick(key?: string): number {
    const point = key ? stickyPoint(key) : Math.random() * 100;
    for (const b of this.bounds) if (point < b.upTo) return b.version;
    return this.bounds[this.bounds.length - 1]!.version;
  }
}

/** 0 ≤ n < 100, the same for the same key (FNV-1a). */
function stickyPoint(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return ((h >>> 0) % 10_000) / 100;
}

/** The rollout key a request names: the header, else the cookie. */
export function rolloutKey(header: string | undefined, cookie: string | undefined): string | undefined {
  if (header) return header.slice(0, 256);
  if (!cookie) return undefined;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === ROLLOUT_KEY) return part.slice(eq + 1).trim().slice(0, 256) || undefined;
  }
  return undefined;
}
