// Atomic file writes: write a temp file beside the target, then rename over it, so a crash
// or a concurrent reader never sees a half-written file (rename is atomic on one filesystem).
// Only regular files are replaced: a device, pipe or symlink (e.g. -o /dev/stdout) is written
// through, since renaming over it would replace the link or device node itself.
import { lstatSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

function tmpName(path: string): string {
  return `${path}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
}

/** True when `path` exists and is not a regular file (a symlink, device, pipe or socket). */
function isSpecial(path: string): boolean {
  try {
    return !lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** An I/O error that names the file: "PATH: cannot write (ENOSPC: no space left on device)". */
export function ioError(path: string, e: unknown, verb = 'write'): Error {
  const err = e as NodeJS.ErrnoException;
  const reason = err.code ? `${err.code}: ${err.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')}` : err.message;
  return Object.assign(new Error(`${path}: cannot ${verb} (${reason})`), { code: err.code });
}

/** Write `data` to `path` atomically, creating parent folders as needed. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw ioError(path, e, 'create the folder of');
  }
  if (isSpecial(path)) {
    try {
      writeFileSync(path, data);
    } catch (e) {
      throw ioError(path, e);
    }
    return;
  }
  const tmp = tmpName(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw ioError(path, e);
  }
}

/** Async twin of writeFileAtomic. */
export async function writeFileAtomicAsync(path: string, data: Uint8Array | string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (e) {
    throw ioError(path, e, 'create the folder of');
  }
  if (isSpecial(path)) {
    try {
      await writeFile(path, data);
    } catch (e) {
      throw ioError(path, e);
    }
    return;
  }
  const tmp = tmpName(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw ioError(path, e);
  }
}

/**
 * For a file written in pieces (chunk by chunk): the path to write, and commit() that renames it
 * over `path` (abort() removes it). Special files are written directly, as writeFileAtomic does.
 */
export function atomicTemp(path: string): { tmp: string; commit(): void; abort(): void } {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (e) {
    throw ioError(path, e, 'create the folder of');
  }
  if (isSpecial(path)) return { tmp: path, commit() {}, abort() {} };
  const tmp = tmpName(path);
  return {
    tmp,
    commit() {
      try {
        renameSync(tmp, path);
      } catch (e) {
        rmSync(tmp, { force: true });
        throw ioError(path, e);
      }
    },
    abort: () => rmSync(tmp, { force: true }),
  };
}
