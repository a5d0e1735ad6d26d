import { defineConfig } from 'vitest/config';

/**
 * The gateway suite runs again with guest execution on worker threads (FAAS_TEST_WORKERS, read by
 * test/helpers/gateway.ts). Left out of both: gateway-scheduler (unit tests, no gateway) and
 * gateway-cli (the CLI client; its server side is what gateway-admin covers). gateway-process
 * (child gateways: restart, SIGKILL during deploys, SIGTERM drain) runs with 2 workers only: it is
 * the slowest file, and a child with one worker adds little over two. `vitest run --project default`
 * runs everything once, in-process.
 */
const gatewayOnWorkers = (files: string[]) => files.map((f) => `test/gateway-${f}.test.ts`);
const ON_WORKERS = ['invoke', 'admin', 'bindings', 'queue', 'functions-dir'];

/**
 * The suites that drive guest code (through test/helpers/sandbox.ts, or a gateway for
 * gateway-invoke/-bindings) run again on the engine/isolation pairs other than the default
 * (bytecode/shared): FAAS_TEST_ENGINE is read by both helpers.
 */
/**
 * test/security/: every attack found against the sandbox boundary, as regression tests. Its own
 * projects, run on every engine and isolation mode, and with guests on the gateway thread (where a
 * stall stops everything) as well as on worker threads (where a host exception used to kill the
 * gateway through WorkerPool.onMessage).
 */
const SECURITY = ['test/security/**/*.test.ts'];
const SECURITY_MATRIX: { engine: string; workers: string }[] = [
  { engine: 'bytecode/shared', workers: '0' },
  { engine: 'bytecode/shared', workers: '2' },
  { engine: 'bytecode/instance', workers: '0' },
  { engine: 'emscripten/shared', workers: '0' },
  { engine: 'emscripten/instance', workers: '0' },
];

const ON_EVERY_ENGINE = [
  'test/runtime-limits.test.ts',
  'test/runtime-isolation.test.ts',
  'test/runtime-fetch.test.ts',
  'test/bindings-kv.test.ts',
  'test/guest-*.test.ts',
  'test/gateway-invoke.test.ts',
  'test/gateway-bindings.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'default',
          include: ['test/**/*.test.ts', 'compiler/**/*.test.ts', 'runtime/**/*.test.ts', 'gateway/**/*.test.ts'],
          exclude: [...SECURITY, '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: { name: 'gateway (workers 1)', include: gatewayOnWorkers(ON_WORKERS), env: { FAAS_TEST_WORKERS: '1' } },
      },
      {
        extends: true,
        test: { name: 'gateway (workers 2)', include: gatewayOnWorkers([...ON_WORKERS, 'process']), env: { FAAS_TEST_WORKERS: '2' } },
      },
      ...['bytecode/instance', 'emscripten/shared'].map((engine) => ({
        extends: true as const,
        test: { name: `engine ${engine}`, include: ON_EVERY_ENGINE, env: { FAAS_TEST_ENGINE: engine } },
      })),
      ...SECURITY_MATRIX.map(({ engine, workers }) => ({
        extends: true as const,
        test: {
          name: `security ${engine} workers ${workers}`,
          include: SECURITY,
          env: { FAAS_TEST_ENGINE: engine, FAAS_TEST_WORKERS: workers },
        },
      })),
    ],
  },
});
