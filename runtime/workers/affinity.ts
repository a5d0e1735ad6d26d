/** What the thread picker needs to know about each worker. */
export interface Candidate {
  state: 'starting' | 'ready' | 'dead';
  inflight: number;
  /** Function versions (name@version) with a resident or starting instance on the thread. */
  warm: ReadonlySet<string>;
}

/**
 * Picks the thread for one invocation of function version `key`:
 * - among ready threads, the least loaded one that holds a warm instance of it, unless that thread
 *   has `spill` or more in-flight invocations than the least loaded thread overall: then the least
 *   loaded thread (which starts an instance and so becomes warm too);
 * - no ready thread (all are being replaced): the least loaded one that is starting; its messages
 *   wait until it is up;
 * - ties go round-robin from `turn`, so equal threads share the work and cold starts spread out.
 */
export function pickWorker<T extends Candidate>(threads: readonly T[], key: string, spill: number, turn: number): T | undefined {
  const n = threads.length;
  let warm: T | undefined;
  let least: T | undefined;
  let starting: T | undefined;
  for (let i = 0; i < n; i++) {
    const t = threads[(turn + i) % n]!;
    if (t.state === 'starting') {
      if (!starting || t.inflight < starting.inflight) starting = t;
      continue;
    }
    if (t.state !== 'ready') continue;
    if (!least || t.inflight < least.inflight) least = t;
    if (t.warm.has(key) && (!warm || t.inflight < warm.inflight)) warm = t;
  }
  if (!least) return starting;
  return warm && warm.inflight < least.inflight + spill ? warm : least;
}
