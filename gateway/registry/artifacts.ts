import { mkdirSync, readdirSync, readFile, rmSync } from 'node:fs';
import { opendir, readdir, rm, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname, join } from 'node:path';
import { FaasError } from '../../contract/errors.ts';
import { writeFileAtomic } from '../../contract/fs-atomic.ts';

const readFileCallback = promisify(readFile);

/** What pathFor() produces; nothing else is read or written, so a database row cannot name a file elsewhere. */
const ARTIFACT_PATH = /^artifacts\/[a-z0-9][a-z0-9-]{0,62}\/[1-9][0-9]{0,15}-[0-9a-f]{16}\.qbc$/;

/**
 * Artifact files under `<dataDir>/artifacts/<name>/<version>-<sha256 prefix>.qbc`. Files are
 * immutable once written; the database decides which one is live.
 */
export class ArtifactFiles {
  readonly root: string;

  constructor(private readonly dataDir: string) {
    this.root = join(dataDir, 'artifacts');
    mkdirSync(this.root, { recursive: true });
  }

  /** Path relative to the data directory, as stored in the database. */
  pathFor(name: string, version: number, sha256: string): string {
    return `artifacts/${name}/${version}-${sha256.slice(0, 16)}.qbc`;
  }

  /** Durable when it resolves (file and directory fsynced). */
  async write(path: string, bytes: Uint8Array): Promise<void> {
    const abs = this.locate(path);
    mkdirSync(dirname(abs), { recursive: true });
    await writeFileAtomic(abs, bytes);
  }

  /** On a function's first request: fs.readFile's callback form costs a half to a third of fs/promises' (fewer round trips through the thread pool). */
  async read(path: string): Promise<Uint8Array> {
    return readFileCallback(this.locate(path));
  }

  /** Deletes a pruned version's file (already gone is fine). */
  remove(path: string): void {
    rmSync(this.locate(path), { force: true });
  }

  private locate(path: string): string {
    if (!ARTIFACT_PATH.test(path)) throw new FaasError('artifact_invalid', `"${path.slice(0, 200)}" is not an artifact path of this data directory`);
    return join(this.dataDir, path);
  }

  /**
   * The same, without blocking: only files older than `before` (ms since the epoch; files written
   * since, by deploys under way, are never touched) that `isReferenced` says no version names, checked
   * just before each removal.
   */
  async collectGarbageAsync(isReferenced: (path: string) => boolean, before: number): Promise<string[]> {
    const removed: string[] = [];
    // Streamed: one directory per function, and a data directory may hold 100,000 of them.
    for await (const dir of await opendir(this.root)) {
      if (!dir.isDirectory()) continue;
      for (const file of await readdir(join(this.root, dir.name))) {
        const rel = `artifacts/${dir.name}/${file}`;
        const abs = join(this.root, dir.name, file);
        const info = await stat(abs).catch(() => undefined);
        if (!info || info.mtimeMs >= before || isReferenced(rel)) continue;
        await rm(abs, { force: true });
        removed.push(rel);
      }
    }
    return removed;
  }

  /**
   * Removes what a crash can leave behind: temp files of interrupted writes, and artifacts written
   * before their database commit happened. Returns the removed paths.
   */
  collectGarbage(referenced: Set<string>): string[] {
    const removed: string[] = [];
    for (const dir of readdirSync(this.root, { withFileTypes: true })) {
      if (!dir.isDirectory()) continue;
      for (const file of readdirSync(join(this.root, dir.name))) {
        const rel = `artifacts/${dir.name}/${file}`;
        if (referenced.has(rel)) continue;
        rmSync(join(this.root, dir.name, file), { force: true });
        removed.push(rel);
      }
    }
    return removed;
  }
}
