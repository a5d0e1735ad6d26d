/**
 * A real PostgreSQL server for the `cluster` test project: initdb in a temp directory, listening on
 * loopback only (and a socket in that directory), started in the vitest globalSetup and stopped in
 * its teardown. As root (CI containers), it runs as `nobody` (PostgreSQL refuses root). Each test
 * file makes its own database (freshDatabase) so files do not see each other's state.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PgServer {
  /** postgres://…/postgres: the maintenance database. */
  url: string;
  dataDir: string;
  port: number;
}

/** Where initdb, pg_ctl and postgres are: on PATH, or Debian's versioned directory. */
export function pgBinDir(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return join(which.stdout.trim(), '..');
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  return undefined;
}

/** Runs a PostgreSQL tool as the server's owner (nobody when we are root). */
function asOwner(bin: string, args: string[]): string {
  const isRoot = process.getuid?.() === 0;
  const [cmd, argv] = isRoot ? ['runuser', ['-u', 'nobody', '--', bin, ...args]] : [bin, args];
  return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], cwd: '/tmp' });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<PgServer> {
  const bin = pgBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (initdb not found): apt-get install postgresql');
  const root = mkdtempSync(join(tmpdir(), 'faas-pg-'));
  chmodSync(root, 0o755);
  const dataDir = join(root, 'data');
  if (process.getuid?.() === 0) chownSync(root, 65534, 65534);
  asOwner(join(bin, 'initdb'), ['-D', dataDir, '-U', 'faas', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const server: PgServer = { url: `postgres://faas@127.0.0.1:${port}/postgres`, dataDir, port };
  pgCtl(server, 'start');
  return server;
}

/** Starts or stops the server (the DB-away tests stop it under running gateways). */
export function pgCtl(server: PgServer, action: 'start' | 'stop'): void {
  const bin = pgBinDir()!;
  if (action === 'start') {
    asOwner(join(bin, 'pg_ctl'), [
      '-D', server.dataDir, '-w', '-t', '30', '-l', join(server.dataDir, '..', 'log'),
      '-o', `-h 127.0.0.1 -p ${server.port} -k ${server.dataDir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`,
      'start',
    ]);
  } else {
    asOwner(join(bin, 'pg_ctl'), ['-D', server.dataDir, '-w', '-t', '30', '-m', 'fast', 'stop']);
  }
}

export function stopPostgres(server: PgServer): void {
  try {
    pgCtl(server, 'stop');
  } finally {
    rmSync(join(server.dataDir, '..'), { recursive: true, force: true });
  }
}

/** A new empty database on the server; returns its URL. */
export async function freshDatabase(server: { url: string }, prefix = 'faas_test'): Promise<string> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return server.url.replace(/\/postgres$/, `/${name}`);
}
