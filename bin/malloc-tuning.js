// glibc's malloc hands large freed blocks back to the kernel (mmap'd chunks, heap trimming) and
// page-faults them in again on the next step: onnxruntime-node returns every output in a fresh
// ArrayBuffer, so a training step of a 1M-parameter model re-faults ~13 MB each time. These two
// settings keep freed memory for reuse, the same tuning the benchmark gives PyTorch (DESIGN.md,
// "The allocator"). They are read once at process start, so the CLI relaunches itself with them.
import { spawn } from 'node:child_process';
import { Socket } from 'node:net';

export const TUNED_MALLOC_ENV = Object.freeze({
  MALLOC_MMAP_THRESHOLD_: '4000000000',
  MALLOC_TRIM_THRESHOLD_: '4000000000',
});

/** Set in the relaunched child: the fd of a pipe whose other end the parent holds. */
const PARENT_PIPE_ENV = 'LATENTKIT_PARENT_PIPE';
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Whether this process should relaunch itself with `TUNED_MALLOC_ENV`: glibc Linux only, not
 * when the user set either variable (their choice wins) or `LATENTKIT_MALLOC=system`, not under
 * a debugger (the inspector would attach to the launcher), and not for help or version output,
 * which allocate nothing worth it.
 */
export function shouldRelaunch(args = process.argv.slice(2), env = process.env, execArgv = process.execArgv) {
  if (process.platform !== 'linux' || env.LATENTKIT_MALLOC === 'system') return false;
  if ([...execArgv, env.NODE_OPTIONS ?? ''].some((a) => a.includes('--inspect'))) return false;
  if (env.MALLOC_MMAP_THRESHOLD_ !== undefined || env.MALLOC_TRIM_THRESHOLD_ !== undefined) return false;
  // `help` is a command only in first place: `latentkit eval help` names a run folder.
  if (args.length === 0 || args[0] === 'help' || args.some((a) => a === '-h' || a === '--help' || a === '-V' || a === '--version')) return false;
  const header = process.report?.getReport?.().header;
  return Boolean(header && header.glibcVersionRuntime);
}

/**
 * Run this same command in a child with the tuned allocator and mirror it: same stdio, signals
 * passed on, its exit code or signal becomes ours. Resolves never (the parent exits).
 */
export function relaunch() {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, ...TUNED_MALLOC_ENV, [PARENT_PIPE_ENV]: '3', LATENTKIT_LAUNCHER_PID: String(process.pid) },
  });
  // Ctrl-C reaches the child from the terminal as well; its handlers ignore the repeat.
  for (const s of FORWARDED_SIGNALS) process.on(s, () => child.kill(s));
  return new Promise(() => {
    child.on('error', (e) => {
      process.stderr.write(`latentkit: error: could not start ${process.execPath}: ${e.message}\n`);
      process.exit(1);
    });
    child.on('exit', (code, signal) => {
      if (signal) {
        for (const s of FORWARDED_SIGNALS) process.removeAllListeners(s);
        process.kill(process.pid, signal);
      }
      process.exit(code ?? 1);
    });
  });
}

/**
 * In a relaunched child: exit at once if the parent dies without passing a signal on (SIGKILL),
 * as the parent's own process would have, rather than keep training as an orphan that holds the
 * run folder's lock. The pipe closes when the parent's process ends.
 */
export function exitWithParent(env = process.env) {
  const fd = Number(env[PARENT_PIPE_ENV]);
  if (!Number.isInteger(fd)) return;
  delete env[PARENT_PIPE_ENV];
  const pipe = new Socket({ fd, readable: true, writable: false });
  const die = () => process.kill(process.pid, 'SIGKILL');
  pipe.on('end', die);
  pipe.on('close', die);
  pipe.on('error', die);
  pipe.resume();
  pipe.unref();
}
