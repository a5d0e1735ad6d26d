import { writeFileSync } from 'node:fs';
import { generateEnvTypes } from '../../kit/env-types.ts';
import { exitWithError } from './shared.ts';

/** `faas types [dir]`: writes the Env interfaces of a directory's functions from their configs. */
export function typesCommand(dir: string, opts: { out?: string; stdout?: boolean }): void {
  try {
    const { file, text, functions } = generateEnvTypes(dir, opts.out);
    if (opts.stdout) {
      process.stdout.write(text);
      return;
    }
    writeFileSync(file, text);
    process.stdout.write(`${file}: ${functions.map((f) => f.interfaceName).join(', ') || 'no functions'}\n`);
  } catch (err) {
    exitWithError(err);
  }
}
