import { bundleEntry } from '../../compiler/index.ts';
import { bundleSource } from '../../gateway/bundle-source.ts';
import { FaasError, type ErrorCode } from '../../contract/errors.ts';
import { exitWithError } from './shared.ts';
import { readConfigFile } from '../../contract/config.ts';

export interface AdminOptions {
  url: string;
  token?: string;
}

/** Bundles locally (npm packages resolve from the entry's folder upwards) and lets the gateway compile. */
export async function deployCommand(entry: string, opts: AdminOptions & { name: string; config?: string; percent?: string; tenant?: string }): Promise<void> {
  try {
    const percent = opts.percent === undefined ? undefined : integer('--percent', opts.percent, 1, 99);
    const config = readConfigFile(entry, opts.config);
    const bundle = await bundleEntry(entry);
    const res = await call(opts, 'PUT', `/admin/functions/${encodeURIComponent(opts.name)}`, {
      source: bundleSource(bundle),
      filename: bundle.fileName,
      config,
      ...(percent !== undefined ? { percent } : {}),
      ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
    });
    const out = (await res.json()) as { name: string; version: number; sha256: string; bytecodeBytes: number; split?: { version: number; percent: number }[] };
    const rollout = out.split ? `; traffic ${out.split.map((s) => `v${s.version} ${s.percent}%`).join(', ')}` : '';
    process.stdout.write(`deployed ${out.name} v${out.version} (sha256 ${out.sha256.slice(0, 12)}, ${out.bytecodeBytes} B bytecode${rollout})\n`);
  } catch (err) {
    exitWithError(err);
  }
}

type ListedFunction = { name: string; version: number; sha256: string; bytecodeBytes: number; deployedAt: string };

export async function listCommand(opts: AdminOptions & { json?: boolean; prefix?: string }): Promise<void> {
  try {
    const list: ListedFunction[] = [];
    // the gateway answers in pages; follow them to the end
    for (let cursor: string | null = ''; cursor !== null; ) {
      const q = new URLSearchParams();
      if (cursor) q.set('cursor', cursor);
      if (opts.prefix) q.set('prefix', opts.prefix);
      const res = await call(opts, 'GET', `/admin/functions${q.size > 0 ? `?${q}` : ''}`);
      list.push(...((await res.json()) as ListedFunction[]));
      cursor = res.headers.get('x-faas-next-cursor');
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(list)}\n`);
      return;
    }
    printTable([['NAME', 'VERSION', 'SHA256', 'BYTECODE', 'DEPLOYED'], ...list.map((f) => [f.name, `v${f.version}`, f.sha256.slice(0, 12), `${f.bytecodeBytes} B`, f.deployedAt])]);
  } catch (err) {
    exitWithError(err);
  }
}

export async function deleteCommand(name: string, opts: AdminOptions): Promise<void> {
  try {
    await call(opts, 'DELETE', `/admin/functions/${encodeURIComponent(name)}`);
    process.stdout.write(`deleted ${name}\n`);
  } catch (err) {
    exitWithError(err);
  }
}

export async function versionsCommand(name: string, opts: AdminOptions & { json?: boolean }): Promise<void> {
  try {
    const res = await call(opts, 'GET', `/admin/functions/${encodeURIComponent(name)}/versions`);
    const list = (await res.json()) as { version: number; sha256: string; bytecodeBytes: number; deployedAt: string; deployedBy: string | null; percent: number }[];
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(list)}\n`);
      return;
    }
    printTable([
      ['VERSION', 'TRAFFIC', 'SHA256', 'BYTECODE', 'DEPLOYED', 'BY'],
      ...list.map((v) => [`v${v.version}`, v.percent ? `${v.percent}%` : '-', v.sha256.slice(0, 12), `${v.bytecodeBytes} B`, v.deployedAt, v.deployedBy ?? '-']),
    ]);
  } catch (err) {
    exitWithError(err);
  }
}

export async function rollbackCommand(name: string, version: string | undefined, opts: AdminOptions): Promise<void> {
  try {
    const body = version === undefined ? {} : { version: integer('version', version.replace(/^v/, ''), 1, Number.MAX_SAFE_INTEGER) };
    const res = await call(opts, 'POST', `/admin/functions/${encodeURIComponent(name)}/rollback`, body);
    const out = (await res.json()) as { name: string; version: number };
    process.stdout.write(`${out.name} now serves v${out.version}\n`);
  } catch (err) {
    exitWithError(err);
  }
}

export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(`${r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
}

export function integer(what: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new FaasError('bad_request', `${what} must be an integer from ${min} to ${max} (got "${value}")`);
  return n;
}

/** An admin request; a non-2xx answer becomes the gateway's FaasError. */
export async function call(opts: AdminOptions, method: string, path: string, body?: unknown): Promise<Response> {
  const token = opts.token ?? process.env.FAAS_ADMIN_TOKEN;
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const url = new URL(path.replace(/^\//, ''), opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new FaasError('unavailable', `cannot reach the gateway at ${opts.url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  if (res.ok) return res;
  const text = await res.text();
  let parsed: { error?: string; message?: string } = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not one of ours (a proxy in between?): report the status and what came back.
  }
  throw new FaasError((parsed.error ?? 'internal_error') as ErrorCode, parsed.message ?? `HTTP ${res.status}: ${text.slice(0, 200)}`);
}
