import { Command, Option } from 'commander';
import { compileCommand } from './commands/compile.ts';
import { inspectCommand } from './commands/inspect.ts';
import { runCommand } from './commands/run.ts';
import { serveCommand } from './commands/serve.ts';
import { deployCommand, listCommand, deleteCommand } from './commands/admin.ts';

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
    .option('--config <file>', 'function config JSON (default: <entry>.faas.json beside the entry)'),
).action(deployCommand);

adminOptions(program.command('list').description('list deployed functions').option('--json', 'print JSON')).action(listCommand);

adminOptions(program.command('delete').description('delete a deployed function').argument('<name>', 'function name')).action(deleteCommand);

await program.parseAsync(process.argv);
