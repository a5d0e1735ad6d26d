/**
 * Requests to a `faas serve --processes <n>` gateway, each on a connection of its own (the kernel hands
 * each connection to one process, so a kept-alive connection would always reach the same one), with the
 * process that answered (the `faas-process` response header).
 */
import { request } from 'node:http';

export interface Answer {
  status: number;
  body: string;
  /** The slot of the process that answered. */
  process: string | undefined;
}

/** One request on a fresh connection; rejects on a connection error or after `timeoutMs`. */
export function once(url: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: init.method ?? 'GET', headers: init.headers, agent: false, timeout: init.timeoutMs ?? 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, process: res.headers['faas-process'] as string | undefined }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${init.timeoutMs ?? 15_000} ms`)));
    req.on('error', reject);
    req.end(init.body);
  });
}

/** `count` requests one after another on fresh connections. */
export async function many(url: string, path: string, count: number): Promise<Answer[]> {
  const out: Answer[] = [];
  for (let i = 0; i < count; i++) out.push(await once(url, path));
  return out;
}

/** Slot → pid of every process serving, from /metrics (`faas_process_info`). */
export async function processPids(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const pids = new Map<string, number>();
  for (const m of text.matchAll(/^faas_process_info\{([^}]*)\} 1$/gm)) {
    const pid = /pid="(\d+)"/.exec(m[1]!)?.[1];
    const slot = /process="(\d+)"/.exec(m[1]!)?.[1];
    if (pid && slot) pids.set(slot, Number(pid));
  }
  return pids;
}

/** The value of a series without labels (or with exactly these), or undefined. */
export function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
