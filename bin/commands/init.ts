import { relative } from 'node:path';
import { initProject, type TemplateName } from '../../kit/init.ts';
import { exitWithError } from './shared.ts';

/** `faas init [dir]`: scaffolds a function project. */
export function initCommand(dir: string, opts: { template: TemplateName; name?: string; faas?: string }): void {
  try {
    const { dir: root, name, files } = initProject(dir, opts);
    const where = relative(process.cwd(), root) || '.';
    process.stdout.write(`created ${name} (${opts.template}) in ${where}:\n${files.map((f) => `  ${f}`).join('\n')}\n\nnext:\n  cd ${JSON.stringify(where)} && npm install\n  npm test      # runs the function in the sandbox\n  npm run dev   # http://127.0.0.1:8080/fn/${name}\n`);
  } catch (err) {
    exitWithError(err);
  }
}
