import { writeFileSync } from 'node:fs';
import { dirname, basename, extname, join } from 'node:path';
import { compileEntry } from '../../compiler/index.ts';
import { loadSigningKey } from '../../contract/signing-key.ts';
import { exitWithError } from './shared.ts';

export async function compileCommand(entry: string, opts: { out?: string; data: string; json?: boolean }): Promise<void> {
  try {
    const started = performance.now();
    const { bytes, header, timings } = await compileEntry(entry, loadSigningKey(opts.data), { inThread: true });
    const out = opts.out ?? join(dirname(entry), `${basename(entry, extname(entry))}.qbc`);
    writeFileSync(out, bytes);
    const ms = performance.now() - started;
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ path: out, bytes: bytes.byteLength, ms: round(ms), timings, header })}\n`);
    } else {
      process.stdout.write(
        `${out}: ${bytes.byteLength} bytes (bytecode ${header.bytecodeBytes} B, source ${header.sourceBytes} B) in ${round(ms)} ms\n`,
      );
    }
  } catch (err) {
    exitWithError(err);
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
