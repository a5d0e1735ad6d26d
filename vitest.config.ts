import { defineConfig } from 'vitest/config';

/**
 * Tests live beside the code they test (`<module>.test.ts`); test/ holds the shared helpers, the
 * security suite (test/security/) and the checks of the whole repository (import rules, the build).
 *
 * Projects:
 * - `default`: everything once, guests on the gateway thread, on the default engine.
 * - `gateway (workers N)`: the gateway suites again with guest execution on N worker threads
 *   (FAAS_TEST_WORKERS, read by test/helpers/gateway.ts). The scheduler's unit tests and the CLI
 *   client are left out (no guest runs there); the process tests (child gateways: restart, SIGKILL
 *   during deploys, SIGTERM drain) and the tenancy tests (usage and KV quotas counted on worker
 *   threads) run with 2 workers only.
 * - `engine …`: the suites that drive guest code again on the engine/isolation pairs other than the
 *   default (FAAS_TEST_ENGINE, read by test/helpers/sandbox.ts and test/helpers/gateway.ts).
 * - `cluster`: test/cluster/, gateways sharing a real PostgreSQL server (test/helpers/postgres.ts).
 * - `security …`: test/security/, on every engine and isolation mode, with guests on the gateway
 *   thread (where a stall stops everything) and on worker threads.
 * - `console (browser)`: the web console end to end in a real headless Chromium
 *   (console/*.browser.test.ts; the system's Chromium, FAAS_CHROMIUM to point elsewhere).
 * - `authoring kit (e2e)`: kit/*.e2e.test.ts: `faas init` into a temp dir, installed with npm,
 *   typechecked, its own test run and served with `faas dev`; the CLI's typecheck on compile.
 */
const GATEWAY_ON_WORKERS = [
  'gateway/routes/fn.test.ts',
  'gateway/routes/admin.test.ts',
  'gateway/bindings.test.ts',
  'gateway/scheduler/queue.test.ts',
  'gateway/functions-dir.test.ts',
  'gateway/formdata.test.ts',
  'gateway/density.test.ts',
  'gateway/streaming.test.ts',
  'gateway/mcp/mcp.test.ts',
];

const ON_EVERY_ENGINE = [
  'runtime/limits.test.ts',
  'runtime/isolation.test.ts',
  'runtime/host/fetch.test.ts',
  'runtime/prelude/*.test.ts',
  'bindings/kv/*.test.ts',
  'gateway/routes/fn.test.ts',
  'gateway/bindings.test.ts',
];

const SECURITY = ['test/security/**/*.test.ts'];
const BROWSER = ['console/**/*.browser.test.ts'];
/** The authoring kit's end-to-end tests (CLI processes, a scaffolded project installed with npm): slow, so a project of their own. */
const KIT_E2E = ['kit/**/*.e2e.test.ts'];
const CLUSTER = ['test/cluster/**/*.test.ts'];
const SECURITY_MATRIX: { engine: string; workers: string }[] = [
  { engine: 'quickjs-wasi/shared', workers: '0' },
  { engine: 'quickjs-wasi/shared', workers: '2' },
  { engine: 'quickjs-wasi/instance', workers: '0' },
  { engine: 'quickjs-emscripten/shared', workers: '0' },
  { engine: 'quickjs-emscripten/instance', workers: '0' },
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    exclude: ['**/node_modules/**', 'dist/**', '.build-test/**'],
    projects: [
      {
        extends: true,
        test: {
          name: 'default',
          include: ['**/*.test.ts'],
          exclude: [...SECURITY, ...BROWSER, ...KIT_E2E, ...CLUSTER, '**/node_modules/**', 'dist/**', '.build-test/**'],
        },
      },
      {
        // Gateways sharing one PostgreSQL (started by the globalSetup, on loopback): one file at a time.
        extends: true,
        test: { name: 'cluster', include: CLUSTER, globalSetup: ['test/cluster/global-setup.ts'], fileParallelism: false },
      },
      {
        extends: true,
        test: { name: 'authoring kit (e2e)', include: KIT_E2E, testTimeout: 240_000 },
      },
      {
        extends: true,
        test: { name: 'gateway (workers 1)', include: GATEWAY_ON_WORKERS, env: { FAAS_TEST_WORKERS: '1' } },
      },
      {
        extends: true,
        test: {
          name: 'gateway (workers 2)',
          include: [...GATEWAY_ON_WORKERS, 'gateway/process.test.ts', 'gateway/tenancy.test.ts'],
          env: { FAAS_TEST_WORKERS: '2' },
        },
      },
      ...['quickjs-wasi/instance', 'quickjs-emscripten/shared'].map((engine) => ({
        extends: true as const,
        test: { name: `engine ${engine}`, include: ON_EVERY_ENGINE, env: { FAAS_TEST_ENGINE: engine } },
      })),
      {
        extends: true,
        test: { name: 'console (browser)', include: BROWSER, testTimeout: 60_000, hookTimeout: 120_000, expect: { poll: { timeout: 20_000, interval: 50 } } },
      },
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
