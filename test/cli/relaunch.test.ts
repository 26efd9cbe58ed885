// The CLI relaunches itself with glibc malloc tuned (bin/malloc-tuning.js). The launcher must be
// invisible: the child has the settings, signals and exit status pass through, and a launcher
// killed outright takes its child with it (no orphan keeps training and holding the run's lock).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { shouldRelaunch, TUNED_MALLOC_ENV } from '../../bin/malloc-tuning.js';
import { processAlive } from '../../src/train/run-lock.js';
import { BIN } from '../helpers/cli.js';
import { fashionDataDir } from '../helpers/fashion-data.js';
import { tempDir } from '../helpers/tmp.js';

const glibc = Boolean((process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);

test('shouldRelaunch: glibc Linux, a command that works, and no allocator settings of the user', { skip: !glibc && 'not glibc Linux' }, () => {
  assert.equal(shouldRelaunch(['train'], {}, []), true);
  assert.equal(shouldRelaunch(['train'], { LATENTKIT_MALLOC: 'system' }), false);
  assert.equal(shouldRelaunch(['train'], { MALLOC_TRIM_THRESHOLD_: '0' }), false, 'the user set the allocator');
  assert.equal(shouldRelaunch(['train'], { ...TUNED_MALLOC_ENV }), false, 'already the relaunched child');
  for (const args of [[], ['--help'], ['train', '-h'], ['--version'], ['help', 'train']]) assert.equal(shouldRelaunch(args, {}), false, args.join(' '));
  assert.equal(shouldRelaunch(['train'], {}, ['--inspect-brk']), false, 'under a debugger');
  assert.equal(shouldRelaunch(['train'], { NODE_OPTIONS: '--inspect=9230' }, []), false, 'debugger through NODE_OPTIONS');
  assert.equal(shouldRelaunch(['train'], {}, ['--import', 'tsx']), true);
  assert.equal(shouldRelaunch(['eval', 'help'], {}, []), true, 'a run folder named "help" is not the help command');
});

/** The child processes of `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const path = `/proc/${pid}/task/${pid}/children`;
  return existsSync(path) ? readFileSync(path, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
}

async function startLongTrain() {
  const out = join(tempDir('latentkit-relaunch-'), 'run');
  const args = ['train', '--data-dir', fashionDataDir(), '--limit-train', '3000', '--limit-valid', '64', '--epochs', '50', '--out', out, '--no-progress'];
  const env = { ...process.env };
  delete env.MALLOC_MMAP_THRESHOLD_;
  delete env.MALLOC_TRIM_THRESHOLD_;
  delete env.LATENTKIT_MALLOC;
  const launcher = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  launcher.stderr!.on('data', (d) => (err += d));
  const started = Date.now();
  while (!existsSync(join(out, 'config.json'))) {
    assert.ok(Date.now() - started < 120_000, `training did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const [child] = childrenOf(launcher.pid!);
  assert.ok(child, 'the launcher has a child process');
  return { launcher, child, out, stderr: () => err };
}

async function waitGone(pid: number, ms: number) {
  const t = Date.now();
  while (processAlive(pid) && Date.now() - t < ms) await new Promise((r) => setTimeout(r, 20));
  // A zombie still answers kill(pid, 0); its /proc status says Z.
  return !processAlive(pid) || /State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

test('the relaunched child trains with the tuned allocator, holds the lock in the launcher\'s name, and follows SIGTERM', { skip: !glibc && 'not glibc Linux', timeout: 180_000 }, async () => {
  const { launcher, child, out } = await startLongTrain();
  try {
    const environ = readFileSync(`/proc/${child}/environ`, 'utf8').split('\0');
    for (const [k, v] of Object.entries(TUNED_MALLOC_ENV)) assert.ok(environ.includes(`${k}=${v}`), `${k} in the child's environment`);
    const lock = JSON.parse(readFileSync(join(out, 'run.lock'), 'utf8'));
    assert.equal(lock.pid, launcher.pid, 'the lock names the pid the user started');
    launcher.kill('SIGTERM');
    const [code, signal] = await once(launcher, 'exit');
    assert.equal(signal, 'SIGTERM', `launcher exit: code ${code}, signal ${signal}`);
    assert.ok(await waitGone(child, 5_000), 'the child ended with its launcher');
  } finally {
    if (launcher.exitCode === null && launcher.signalCode === null) launcher.kill('SIGKILL');
  }
});

test('SIGKILL of the launcher ends the child too (no orphan left training)', { skip: !glibc && 'not glibc Linux', timeout: 180_000 }, async () => {
  const { launcher, child } = await startLongTrain();
  launcher.kill('SIGKILL');
  await once(launcher, 'exit');
  assert.ok(await waitGone(child, 5_000), `child ${child} still running 5 s after its launcher was killed`);
});
