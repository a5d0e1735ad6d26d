import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the new file; applied at creation so the content is never readable more widely. */
  mode?: number;
}

function tempPathFor(path: string): string {
  // Same directory as the target: rename() is only atomic within one filesystem.
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Readers see either the old file or the complete new one, never a torn write, and the new content
 * survives a crash once this resolves (file and directory entry are both fsynced).
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    const handle = await fsp.open(tmp, 'wx', options.mode ?? 0o644);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDirectory(dirname(path));
}

/** Synchronous twin of writeFileAtomic for start-up code that cannot await. */
export function writeFileAtomicSync(path: string, bytes: Uint8Array, options: AtomicWriteOptions = {}): void {
  const tmp = writeTempSync(path, bytes, options);
  try {
    fs.renameSync(tmp, path);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDirectorySync(dirname(path));
}

/**
 * Creates `path` with `bytes` only if it does not exist yet, atomically: concurrent creators race
 * on link(), exactly one wins, and the others see the winner's complete file. Returns false when
 * the file already existed (its content is left untouched).
 */
export function createFileExclusiveSync(path: string, bytes: Uint8Array, options: AtomicWriteOptions = {}): boolean {
  const tmp = writeTempSync(path, bytes, options);
  try {
    fs.linkSync(tmp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
    // No hard links on this filesystem: still exclusive, but a racing reader may see a short file.
    return createFileExclusiveDirectSync(path, bytes, options);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  fsyncDirectorySync(dirname(path));
  return true;
}

function createFileExclusiveDirectSync(path: string, bytes: Uint8Array, options: AtomicWriteOptions): boolean {
  let fd: number;
  try {
    fd = fs.openSync(path, 'wx', options.mode ?? 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    fs.writeFileSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fsyncDirectorySync(dirname(path));
  return true;
}

function writeTempSync(path: string, bytes: Uint8Array, options: AtomicWriteOptions): string {
  const tmp = tempPathFor(path);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', options.mode ?? 0o644);
    fs.writeFileSync(fd, bytes);
    fs.fsyncSync(fd);
    const open = fd;
    fd = undefined;
    fs.closeSync(open);
    return tmp;
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

// Some platforms/filesystems cannot open or fsync a directory; the rename is still atomic there,
// only its durability across power loss is weaker, so those errors are not worth failing for.
const DIR_FSYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EACCES', 'EINVAL', 'ENOTSUP']);

async function fsyncDirectory(dir: string): Promise<void> {
  try {
    const handle = await fsp.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (!DIR_FSYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
}

function fsyncDirectorySync(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if (!DIR_FSYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
}
