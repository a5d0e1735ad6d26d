/**
 * Housekeeping on an interval (sweeps, flushes, samplers, heartbeats). An exception thrown out of a
 * timer callback, or a promise it returns that rejects unobserved, ends the Node process: one bad
 * sweep would take the gateway (or a worker thread) and every tenant on it down. So the work's
 * failure, sync or async, goes to `onError` (by default: dropped; the next run tries again). The
 * timer is unref'd: housekeeping never keeps a process alive.
 */
export function every(ms: number, work: () => unknown, onError: (err: unknown) => void = () => {}): NodeJS.Timeout {
  const report = (err: unknown) => {
    try {
      onError(err);
    } catch {
      // a failing reporter must not end the process either
    }
  };
  const timer = setInterval(() => {
    try {
      const result = work();
      if (result instanceof Promise) result.catch(report);
    } catch (err) {
      report(err);
    }
  }, ms);
  timer.unref();
  return timer;
}
