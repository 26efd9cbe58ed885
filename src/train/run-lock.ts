// One trainer per run folder. `run.lock` holds the owner's pid and host; a second trainer is
// refused while that process lives, and a lock left by a killed process is taken over. Temp
// files that a killed atomic write left behind (NAME.PID.RANDOM.tmp of a dead PID) are removed.
import { existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = 'run.lock';

interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

/**
 * The pid that owns this run: the launcher's when the CLI relaunched itself with a tuned
 * allocator (bin/malloc-tuning.js), as that is the pid the user started and can signal; the
 * check against our parent keeps a process that merely inherited the variable from claiming it.
 */
export function ownerPid(): number {
  const launcher = Number(process.env.LATENTKIT_LAUNCHER_PID);
  return launcher > 0 && launcher === process.ppid ? launcher : process.pid;
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): LockInfo {
  let info: Partial<LockInfo> | undefined;
  try {
    info = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
  } catch {
    info = undefined;
  }
  if (!info || !Number.isInteger(info.pid)) throw new Error(`${path}: not a latentkit lock file; if no latentkit process trains in this folder, delete it`);
  return info as LockInfo;
}

/** Create the lock file only if there is none (O_EXCL: atomic against a concurrent trainer). */
function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`${path}: cannot create the run lock (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    writeSync(fd, JSON.stringify({ pid: ownerPid(), host: hostname(), started: new Date().toISOString() }) + '\n');
  } finally {
    closeSync(fd);
  }
  return true;
}

const held = new Map<string, number>();

/**
 * Lock a run folder for this process (re-entrant); returns the release function. Throws, naming
 * the lock file and the owner, while another live process holds it.
 */
export function acquireRunLock(dir: string, log: (line: string) => void = () => {}): () => void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const count = held.get(path) ?? 0;
  if (count === 0) {
    for (let attempt = 0; !tryCreate(path); attempt++) {
      const owner = readLock(path);
      const sameHost = owner.host === hostname();
      if (owner.pid === ownerPid() && sameHost) break;
      if (!sameHost || processAlive(owner.pid) || attempt > 2)
        throw new Error(`${path}: the run folder is in use by process ${owner.pid}${sameHost ? '' : ` on ${owner.host}`} (since ${owner.started}); wait for it to finish, stop it, or train into another --out folder`);
      // Move the stale lock aside (atomic), so of two processes taking over only one wins the create.
      try {
        renameSync(path, `${path}.stale.${process.pid}`);
        rmSync(`${path}.stale.${process.pid}`, { force: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${path}: cannot remove the stale lock (${(e as NodeJS.ErrnoException).code})`);
      }
      log(`${path}: took over the stale lock of process ${owner.pid} (no longer running)`);
    }
    process.once('exit', releaseAtExit);
  }
  held.set(path, count + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (held.get(path) ?? 1) - 1;
    if (n > 0) return void held.set(path, n);
    held.delete(path);
    removeIfOurs(path);
  };
}

function removeIfOurs(path: string): void {
  try {
    if (existsSync(path) && readLock(path).pid === ownerPid()) rmSync(path, { force: true });
  } catch {
    // Not ours or unreadable: leave it.
  }
}

function releaseAtExit(): void {
  for (const path of held.keys()) removeIfOurs(path);
  held.clear();
}

/** NAME.PID.RANDOM.tmp, as data/atomic.ts names its temp files. */
const TEMP_FILE = /\.(\d+)\.[a-z0-9]+\.tmp$/;

/** Remove temp files of dead processes from a run folder and its checkpoints/; returns their paths. */
export function removeOrphanTempFiles(dir: string): string[] {
  const removed: string[] = [];
  for (const d of [dir, join(dir, 'checkpoints')]) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) {
      const pid = TEMP_FILE.exec(f)?.[1];
      if (pid === undefined || processAlive(Number(pid))) continue;
      rmSync(join(d, f), { force: true });
      removed.push(join(d, f));
    }
  }
  return removed;
}
