// Best-of timing for isolated-op benchmarks: each candidate's fastest mean over `rounds` rounds
// of `runs` runs, the candidates interleaved round by round so a change in machine load hits
// them all alike (this machine is shared and noisy).
export interface Timed { best: number; bestCpu: number }

export async function timeBestOf<T extends Timed>(cands: T[], rounds: number, runs: number, run: (c: T) => Promise<unknown>): Promise<void> {
  for (let r = 0; r < rounds; r++)
    for (const c of cands) {
      const t0 = performance.now(), cpu0 = process.cpuUsage();
      for (let i = 0; i < runs; i++) await run(c);
      const cpu = process.cpuUsage(cpu0);
      c.best = Math.min(c.best, (performance.now() - t0) / runs);
      c.bestCpu = Math.min(c.bestCpu, (cpu.user + cpu.system) / 1000 / runs);
    }
}
