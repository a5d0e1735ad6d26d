/** The `cluster` project's PostgreSQL: one server for the run (test/helpers/postgres.ts). */
import type { TestProject } from 'vitest/node';
import { startPostgres, stopPostgres, type PgServer } from '../helpers/postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pg: { url: string; dataDir: string; port: number };
  }
}

let server: PgServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startPostgres();
  project.provide('pg', server);
}

export function teardown(): void {
  if (server) stopPostgres(server);
}
