// CPU seconds used by the calling thread (Linux: /proc/thread-self/stat, 10 ms ticks), so a
// benchmark on a shared machine can report work done apart from time spent waiting for a core.
// Elsewhere it returns NaN.
import { readFileSync } from 'node:fs';

export function threadCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // Fields after the command name (which may hold spaces, hence the last ')'): utime is the 12th, stime the 13th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}
