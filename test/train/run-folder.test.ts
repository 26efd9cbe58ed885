// A run folder under faults: one trainer at a time (a stale lock from a killed process is taken
// over), orphan temp files of killed writes removed, I/O errors that name their file, and
// atomic writes that never replace a device, pipe or symlink.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic, writeFileAtomicAsync } from '../../src/util/atomic.js';
import { acquireRunLock, removeOrphanTempFiles } from '../../src/train/run-lock.js';
import { BIN, runCli } from '../helpers/cli.js';
import { fashionDataDir } from '../helpers/fashion-data.js';
import { tempDir } from '../helpers/tmp.js';

const DATA = fashionDataDir();
const tmp = () => tempDir('latentkit-runfolder-');

test('a second train into a folder being trained in is refused; after a SIGKILL the stale lock and orphan temp files go', async () => {
  const out = join(tmp(), 'run');
  const args = ['train', '--data-dir', DATA, '--limit-train', '3000', '--limit-valid', '64', '--epochs', '50', '--out', out, '--no-progress'];
  const first = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
  try {
    // The lock is taken before anything is written; config.json shows the run has started.
    const started = Date.now();
    while (!existsSync(join(out, 'config.json'))) {
      assert.ok(Date.now() - started < 120_000, 'first run did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    const second = runCli(['train', '--data-dir', DATA, '--limit-train', '64', '--limit-valid', '32', '--epochs', '1', '--out', out, '--no-progress']);
    assert.notEqual(second.code, 0);
    assert.match(second.err, new RegExp(`run\\.lock.*in use by process ${first.pid}`));
    const resume = runCli(['train', '--data-dir', DATA, '--out', out, '--resume', '--no-progress']);
    assert.notEqual(resume.code, 0);
    assert.match(resume.err, /in use by process/);
  } finally {
    first.kill('SIGKILL');
    if (first.exitCode === null && first.signalCode === null) await once(first, 'exit');
  }
  assert.ok(existsSync(join(out, 'run.lock')), 'a killed process leaves its lock behind');
  // What a kill during an atomic write leaves: a temp file of a process that no longer runs.
  mkdirSync(join(out, 'checkpoints'), { recursive: true });
  const orphan = join(out, 'checkpoints', `last.safetensors.${first.pid}.abcd1234.tmp`);
  writeFileSync(orphan, 'half a checkpoint');
  const keep = join(out, 'notes.tmp');
  writeFileSync(keep, 'not ours');
  const third = runCli(['train', '--data-dir', DATA, '--limit-train', '64', '--limit-valid', '32', '--epochs', '1', '--out', out, '--no-progress']);
  assert.equal(third.code, 0, third.err);
  assert.match(third.err, new RegExp(`stale lock of process ${first.pid}`));
  assert.ok(!existsSync(orphan), 'orphan temp file removed');
  assert.ok(existsSync(keep), 'files not written by latentkit stay');
  assert.ok(!existsSync(join(out, 'run.lock')), 'the lock is released at the end');
});

test('the lock: re-entrant in one process, refused for a live pid, taken over from a dead one', () => {
  const dir = tmp();
  const release = acquireRunLock(dir);
  const again = acquireRunLock(dir);
  again();
  assert.ok(existsSync(join(dir, 'run.lock')), 'inner release keeps the outer lock');
  release();
  assert.ok(!existsSync(join(dir, 'run.lock')));
  // PID 1 is always alive.
  writeFileSync(join(dir, 'run.lock'), JSON.stringify({ pid: 1, host: (process.env.HOSTNAME ?? ''), started: 'x' }));
  assert.throws(() => acquireRunLock(dir), /in use by process 1/);
  writeFileSync(join(dir, 'run.lock'), 'garbage');
  assert.throws(() => acquireRunLock(dir), /run\.lock.*not a latentkit lock/);
  const removed = removeOrphanTempFiles(dir);
  assert.deepEqual(removed, []);
});

test('an I/O error names the file (ENOSPC from /dev/full); devices and symlinks are written through, never replaced', async () => {
  assert.throws(() => writeFileAtomic('/dev/full', 'x'), /\/dev\/full.*ENOSPC/);
  await assert.rejects(writeFileAtomicAsync('/dev/full', 'x'), /\/dev\/full.*ENOSPC/);
  assert.ok(lstatSync('/dev/full').isCharacterDevice(), '/dev/full is still a device');
  const dir = tmp();
  const target = join(dir, 'target.txt');
  writeFileSync(target, 'old');
  const link = join(dir, 'link.txt');
  symlinkSync(target, link);
  writeFileAtomic(link, 'new');
  assert.ok(lstatSync(link).isSymbolicLink(), 'the symlink is still a symlink');
  assert.equal(readlinkSync(link), target);
  assert.equal(readFileSync(target, 'utf8'), 'new');
  await writeFileAtomicAsync(link, 'newer');
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readFileSync(target, 'utf8'), 'newer');
  // A parent "folder" that is a file names the path.
  assert.throws(() => writeFileAtomic(join(target, 'x.json'), 'x'), /target\.txt\/x\.json: cannot create the folder of \(E(NOTDIR|EXIST)/);
});
