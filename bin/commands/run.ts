import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { compileEntry } from '../../compiler/index.ts';
import { verifyArtifact, type Artifact } from '../../contract/artifact.ts';
import { loadSigningKey } from '../../contract/signing-key.ts';
import { FaasError } from '../../contract/errors.ts';
import { Runtime, fetchOp, readAllBytes, type Isolation, type OpsProvider, type RuntimeOptions } from '../../runtime/index.ts';
import { parseFunctionConfig } from '../../contract/config.ts';
import { join } from 'node:path';
import { exitWithError } from './shared.ts';
import { closeAll, mergeOps, openBindingHosts } from '../../gateway/bindings.ts';
import { readConfigFile } from '../../contract/config.ts';

interface RunOptions {
  engine: NonNullable<RuntimeOptions['engine']>;
  isolation?: Isolation;
  method: string;
  path: string;
  header: string[];
  body?: string;
  config?: string;
  data: string;
  json?: boolean;
}

/** One local invocation: compile (or verify) → sandbox → print the response. */
export async function runCommand(entry: string, opts: RunOptions): Promise<void> {
  let runtime: Runtime | undefined;
  let hosts: OpsProvider[] = [];
  try {
    const key = loadSigningKey(opts.data);
    const artifact: Artifact = entry.endsWith('.qbc')
      ? verifyArtifact(readFileSync(entry), key)
      : verifyArtifact((await compileEntry(entry, key, { inThread: true })).bytes, key);
    const config = parseFunctionConfig(readConfigFile(entry.replace(/\.qbc$/, '.ts'), opts.config));
    // Bindings keep their data in the data directory (KV …), so a local counter keeps counting across runs.
    hosts = await openBindingHosts({ dataDir: opts.data });
    runtime = await Runtime.create({
      engine: opts.engine,
      isolation: opts.isolation,
      poolSize: 0,
      // One invocation: warming V8 up for later ones would only add to it.
      warmup: false,
      log: (e) => process.stderr.write(`[${e.level}] ${e.text}\n`),
      ops: { fetch: fetchOp(), ...mergeOps(hosts) },
    });
    const name = basename(entry).replace(/\.(qbc|[cm]?[jt]s)$/, '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+/, '') || 'local';
    runtime.deploy(name, 1, artifact, config);
    const body = opts.body === undefined ? null : new TextEncoder().encode(opts.body);
    const path = opts.path.startsWith('/') ? opts.path : `/${opts.path}`;
    const result = await runtime.invoke(name, {
      method: opts.method.toUpperCase(),
      url: `http://localhost${path}`,
      headers: opts.header.map(parseHeader),
      body: body ? (body.buffer as ArrayBuffer) : null,
    });
    const { status, headers, stream } = result.response;
    if (opts.json) {
      const bytes = stream ? await readAllBytes(stream) : result.response.body;
      await result.background;
      const text = bytes ? new TextDecoder().decode(bytes) : '';
      process.stdout.write(`${JSON.stringify({ status, headers: Object.fromEntries(headers), body: text })}\n`);
    } else {
      process.stdout.write(`${status}\n`);
      for (const [k, v] of headers) process.stdout.write(`${k}: ${v}\n`);
      process.stdout.write('\n');
      // a streamed body is printed as it comes (server-sent events show up one by one)
      let last = '';
      const write = (bytes: Uint8Array) => {
        if (bytes.byteLength === 0) return;
        const text = new TextDecoder().decode(bytes);
        last = text;
        process.stdout.write(text);
      };
      if (stream) for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) write(chunk);
      else if (result.response.body) write(new Uint8Array(result.response.body));
      await result.background;
      if (last && !last.endsWith('\n')) process.stdout.write('\n');
    }
    runtime.close();
    await closeAll(hosts);
    process.exit(0);
  } catch (err) {
    runtime?.close();
    await closeAll(hosts);
    exitWithError(err);
  }
}

function parseHeader(raw: string): [string, string] {
  const i = raw.indexOf(':');
  if (i <= 0) throw new FaasError('bad_request', `invalid --header "${raw}": expected 'name: value'`);
  return [raw.slice(0, i).trim().toLowerCase(), raw.slice(i + 1).trim()];
}
