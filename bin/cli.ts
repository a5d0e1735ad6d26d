import { Command, Option } from 'commander';
import { compileCommand } from './commands/compile.ts';
import { inspectCommand } from './commands/inspect.ts';
import { runCommand } from './commands/run.ts';
import { serveCommand } from './commands/serve.ts';
import { deployCommand, listCommand, deleteCommand, versionsCommand, rollbackCommand } from './commands/admin.ts';
import { tailCommand } from './commands/tail.ts';
import { initCommand } from './commands/init.ts';
import { typesCommand } from './commands/types.ts';
import { mcpCommand } from './commands/mcp.ts';
import {
  tenantCreateCommand,
  tenantDeleteCommand,
  tenantListCommand,
  tenantQuotaCommand,
  tokenIssueCommand,
  tokenListCommand,
  tokenRevokeCommand,
  usageCommand,
} from './commands/tenants.ts';

/** `faas`: a thin dispatcher; every command's logic lives in compiler/, runtime/ or gateway/. */
const program = new Command('faas')
  .description('Compile Workers-style JS/TS functions to QuickJS bytecode and serve them from WASM sandboxes')
  .version('0.1.0')
  .showHelpAfterError();

const collect = (value: string, prev: string[]) => [...prev, value];
const engineOption = () =>
  new Option('--engine <engine>', 'engine: quickjs-wasi (runs bytecode) or quickjs-emscripten (runs source); bytecode and emscripten are accepted as aliases')
    .choices(['quickjs-wasi', 'quickjs-emscripten', 'bytecode', 'emscripten'])
    .default('quickjs-wasi');
const isolationOption = () => new Option('--isolation <mode>', 'isolation: shared (runtimes in a shared WASM instance) or instance (own WASM instance)').choices(['shared', 'instance']);
const dataOption = () => new Option('--data <dir>', 'data directory (signing key, registry, KV)').default('./.faas');

program
  .command('compile')
  .description('bundle and compile a function to a QuickJS bytecode artifact')
  .argument('<entry>', 'entry file (.ts or .js)')
  .option('-o, --out <file>', 'output artifact path (default: <entry>.qbc beside the entry)')
  .option('--config <file>', 'function config JSON (default: <entry>.faas.json beside the entry): the module must fit its memoryMb and cpuMs')
  .option('--no-check', 'skip the TypeScript typecheck (done when a tsconfig.json is above the entry)')
  .addOption(dataOption())
  .option('--json', 'print one JSON object')
  .action(compileCommand);

program
  .command('inspect')
  .description('print an artifact header')
  .argument('<artifact>', 'artifact file (.qbc)')
  .option('--json', 'print one JSON object')
  .action(inspectCommand);

program
  .command('run')
  .description('run one invocation locally in the sandbox')
  .argument('<entry>', 'entry file (.ts/.js) or compiled artifact (.qbc)')
  .addOption(engineOption())
  .addOption(isolationOption())
  .option('--method <method>', 'HTTP method', 'GET')
  .option('--path <path>', 'request path (and query)', '/')
  .option('--header <header>', "request header 'name: value' (repeatable)", collect, [])
  .option('--body <body>', 'request body')
  .option('--config <file>', 'function config JSON (default: <entry>.faas.json beside the entry)')
  .addOption(dataOption())
  .option('--json', 'print {status, headers, body} as JSON')
  .action(runCommand);

program
  .command('serve')
  .description('run the gateway; compiles and deploys every function in --functions at start')
  .option('--port <port>', 'port', '8080')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--functions <dir>', 'functions directory', './functions')
  .addOption(dataOption())
  .addOption(engineOption())
  .addOption(isolationOption())
  .option('--workers <n>', 'worker threads for guest execution (default: one per core; 0 = on the gateway thread)')
  .option('--body-timeout <ms>', 'a request body must arrive within this many ms, else 408 request_timeout', '30000')
  .option('--keep-versions <n>', 'versions kept per function for rollback (older ones are pruned)', '10')
  .option('--memory-budget-mb <n>', 'guest heap of resident instances plus loaded artifacts, per worker thread; least recently used go first (default 512)')
  .option('--artifact-cache-mb <n>', 'loaded artifacts kept in memory, per worker thread (default 64)')
  .option('--snapshot-cache-mb <n>', 'snapshots of loaded instances (isolation "instance") kept, per worker thread; 0 = none (default 64)')
  .option('--function-idle-ttl <ms>', 'a function without requests this long leaves memory entirely (stays deployed)', '600000')
  .option('--console-host <host>', 'serve the web console (/console) only on this host name, and no function on it (default: $FAAS_CONSOLE_HOST)')
  .option('--run-code-allowed-hosts <hosts>', 'MCP run_code: comma-separated egress allowlist for snippets (default: none, no fetch)')
  .addOption(new Option('--store <url>', 'where state lives: "sqlite" (files in --data) or a postgres:// URL shared by a cluster of gateways').env('FAAS_STORE'))
  .option('--access-log-sample <fraction>', 'fraction (0-1) of successful requests written to the access log; errors always are (default 1)')
  .addOption(new Option('--processes <n>', 'gateway processes accepting on the port, each with its worker threads: an integer or "auto" (one per core); default 1').env('FAAS_PROCESSES'))
  .action((opts) => serveCommand({ ...opts, watch: false }));

program
  .command('dev')
  .description('serve and watch: recompile and hot-swap changed functions without a restart')
  .argument('[dir]', 'functions directory', './functions')
  .option('--port <port>', 'port', '8080')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .addOption(dataOption())
  .addOption(engineOption())
  .addOption(isolationOption())
  .option('--workers <n>', 'worker threads for guest execution (default: one per core; 0 = on the gateway thread)')
  .option('--body-timeout <ms>', 'a request body must arrive within this many ms, else 408 request_timeout', '30000')
  .option('--keep-versions <n>', 'versions kept per function for rollback (older ones are pruned)', '10')
  .option('--memory-budget-mb <n>', 'guest heap of resident instances plus loaded artifacts, per worker thread (default 512)')
  .option('--artifact-cache-mb <n>', 'loaded artifacts kept in memory, per worker thread (default 64)')
  .option('--snapshot-cache-mb <n>', 'snapshots of loaded instances (isolation "instance") kept, per worker thread; 0 = none (default 64)')
  .option('--function-idle-ttl <ms>', 'a function without requests this long leaves memory entirely (stays deployed)', '600000')
  .option('--console-host <host>', 'serve the web console (/console) only on this host name, and no function on it (default: $FAAS_CONSOLE_HOST)')
  .option('--no-check', 'skip the TypeScript typecheck of changed functions (done when a tsconfig.json is above them)')
  .option('--run-code-allowed-hosts <hosts>', 'MCP run_code: comma-separated egress allowlist for snippets (default: none, no fetch)')
  .option('--access-log-sample <fraction>', 'fraction (0-1) of successful requests written to the access log; errors always are (default 1)')
  .action((dir: string, opts) => serveCommand({ ...opts, functions: dir, watch: true }));

const adminOptions = (cmd: Command) =>
  cmd
    .option('--url <url>', 'gateway URL', process.env.FAAS_URL ?? 'http://127.0.0.1:8080')
    .option('--token <token>', 'admin token (default: $FAAS_ADMIN_TOKEN)');

adminOptions(
  program
    .command('deploy')
    .description('bundle a function locally and deploy it to a running gateway')
    .argument('<entry>', 'entry file (.ts or .js)')
    .requiredOption('--name <name>', 'function name')
    .option('--config <file>', 'function config JSON (default: <entry>.faas.json beside the entry)')
    .option('--percent <n>', 'gradual rollout: the new version takes n% of the traffic (1-99), the live version the rest')
    .option('--tenant <tenant>', "operator only: the tenant a new function belongs to (default: \"default\")")
    .option('--no-check', 'skip the TypeScript typecheck (done when a tsconfig.json is above the entry)'),
).action(deployCommand);

adminOptions(program.command('list').description('list deployed functions').option('--json', 'print JSON').option('--prefix <prefix>', 'only functions whose name starts with it')).action(listCommand);

adminOptions(program.command('delete').description('delete a deployed function').argument('<name>', 'function name')).action(deleteCommand);

adminOptions(
  program.command('versions').description("a function's kept versions and their share of the traffic").argument('<name>', 'function name').option('--json', 'print JSON'),
).action(versionsCommand);

adminOptions(
  program
    .command('rollback')
    .description('serve a kept version again, alone (default: the one before the live one); nothing is recompiled')
    .argument('<name>', 'function name')
    .argument('[version]', 'version number'),
).action(rollbackCommand);

adminOptions(
  program
    .command('tail')
    .description("follow a function's live logs: invocations and their console output")
    .argument('<name>', 'function name')
    .option('--status <status>', 'only invocations that ended so: ok, error, an HTTP status (404) or a class (5xx)')
    .option('--search <text>', 'only events whose console output, path, outcome or request id contains this')
    .option('--json', 'print each event as JSON')
    .option('--count <n>', 'stop after n events'),
).action(tailCommand);

const quotaOptions = (cmd: Command) =>
  cmd
    .option('--functions <n>', 'functions the tenant may deploy')
    .option('--memory-mb <n>', "memoryMb summed over the tenant's functions")
    .option('--cpu-ms <n>', 'largest cpuMs one function may ask for')
    .option('--timeout-ms <n>', 'largest timeoutMs one function may ask for')
    .option('--kv-bytes <n>', "bytes the tenant's KV namespaces may hold")
    .option('--rps <n>', "requests per second over all the tenant's functions")
    .option('--burst <n>', 'requests allowed at once over the rate (default: one second worth)');

const tenant = program.command('tenant').description('tenants, their tokens and quotas (operator token)');
adminOptions(quotaOptions(tenant.command('create').description('create a tenant').argument('<name>', 'tenant name'))).action(tenantCreateCommand);
adminOptions(tenant.command('list').description('list tenants').option('--json', 'print JSON')).action(tenantListCommand);
adminOptions(tenant.command('delete').description('delete a tenant that has no functions left').argument('<name>', 'tenant name')).action(tenantDeleteCommand);
adminOptions(quotaOptions(tenant.command('quota').description("set a tenant's quotas (flags not given are lifted)").argument('<name>', 'tenant name'))).action(
  tenantQuotaCommand,
);
adminOptions(tenant.command('token').description('issue a token for a tenant (printed once)').argument('<name>', 'tenant name').option('--label <label>', 'what the token is for')).action(
  tokenIssueCommand,
);
adminOptions(tenant.command('tokens').description("list a tenant's tokens").argument('<name>', 'tenant name').option('--json', 'print JSON')).action(tokenListCommand);
adminOptions(tenant.command('revoke').description('revoke a tenant token (it stops working at once)').argument('<name>', 'tenant name').argument('<id>', 'token id')).action(
  tokenRevokeCommand,
);

adminOptions(
  program
    .command('usage')
    .description('usage per tenant and function: invocations, CPU and wall ms, egress bytes, KV operations')
    .option('--from <time>', 'start (ISO date or time)')
    .option('--to <time>', 'end (exclusive)')
    .option('--tenant <tenant>', 'one tenant')
    .option('--json', 'print JSON'),
).action(usageCommand);

program
  .command('init')
  .description('scaffold a function project: entry, config, tsconfig on faas/types, package.json scripts, a first test')
  .argument('[dir]', 'project directory (new or empty)', '.')
  .addOption(new Option('--template <name>', 'what the function does').choices(['hello', 'json-api', 'cron', 'kv']).default('hello'))
  .option('--name <name>', 'function name (default: from the directory name)')
  .option('--faas <spec>', 'the package.json dependency on faas (default: file: this installation)')
  .action(initCommand);

program
  .command('types')
  .description("write the Env interface of each function from its config (vars, secrets, KV …) to <dir>/faas-env.d.ts")
  .argument('[dir]', 'functions directory, or one entry file', './functions')
  .option('-o, --out <file>', 'output file (default: <dir>/faas-env.d.ts)')
  .option('--stdout', 'print instead of writing')
  .action(typesCommand);

adminOptions(
  program
    .command('mcp')
    .description("serve the gateway's MCP tools on stdio for a local MCP client (relays to the gateway's /mcp with the token given)"),
).action(mcpCommand);

await program.parseAsync(process.argv);
