import { readFileSync } from 'node:fs';
import { readArtifactHeader } from '../../contract/artifact.ts';
import { FaasError } from '../../contract/errors.ts';
import { exitWithError } from './shared.ts';

export function inspectCommand(path: string, opts: { json?: boolean }): void {
  try {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new FaasError('bad_request', `cannot read ${path}: ${(err as Error).message}`);
    }
    const h = readArtifactHeader(bytes);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(h)}\n`);
      return;
    }
    const rows: [string, unknown][] = [
      ['format version', h.formatVersion],
      ['engine', `${h.engine.name} ${h.engine.version}`],
      ['sha256', h.sha256],
      ['bytecode bytes', h.bytecodeBytes],
      ['source bytes', h.sourceBytes],
      ['js bytes', h.jsBytes],
      ['source map bytes', h.sourceMapBytes],
      ['built', h.builtAt],
      ['entry', h.entry],
    ];
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(17)}${String(v)}\n`);
  } catch (err) {
    exitWithError(err);
  }
}
