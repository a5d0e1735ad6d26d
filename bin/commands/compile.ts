import { writeFileSync } from 'node:fs';
import { dirname, basename, extname, join } from 'node:path';
import { compileEntry } from '../../compiler/index.ts';
import { parseFunctionConfig, readConfigFile } from '../../contract/config.ts';
import { loadSigningKey } from '../../contract/signing-key.ts';
import { assertTypes } from '../../kit/typecheck.ts';
import { exitWithError } from './shared.ts';

export async function compileCommand(entry: string, opts: { out?: string; data: string; json?: boolean; config?: string; check?: boolean }): Promise<void> {
  try {
    const started = performance.now();
    // The function's config (beside the entry by default): the probe runs under its memoryMb and cpuMs.
    const config = parseFunctionConfig(readConfigFile(entry, opts.config));
    const checked = opts.check === false ? undefined : await assertTypes(entry);
    const { bytes, header, timings, memory } = await compileEntry(entry, loadSigningKey(opts.data), { inThread: true, limits: { memoryMb: config.memoryMb, cpuMs: config.cpuMs } });
    const out = opts.out ?? join(dirname(entry), `${basename(entry, extname(entry))}.qbc`);
    writeFileSync(out, bytes);
    const ms = performance.now() - started;
    if (opts.json) {
      const typecheckMs = checked ? round(checked.ms) : undefined;
      process.stdout.write(`${JSON.stringify({ path: out, bytes: bytes.byteLength, ms: round(ms), timings: { ...timings, typecheckMs }, memory, header })}\n`);
    } else {
      process.stdout.write(
        `${out}: ${bytes.byteLength} bytes (bytecode ${header.bytecodeBytes} B, source ${header.sourceBytes} B) in ${round(ms)} ms${checked ? ' (typechecked)' : ''}\n`,
      );
      if (memory) {
        const mib = (n: number) => (n / 1024 / 1024).toFixed(2);
        process.stdout.write(
          `heap once initialized: ${mib(memory.neededBytes)} MiB${memory.complete ? '' : ' or more (top-level code stopped early in the probe)'} of memoryMb ${config.memoryMb}; suggested memoryMb: ${memory.suggestedMemoryMb}\n`,
        );
      }
    }
  } catch (err) {
    exitWithError(err);
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
