// A/B one lever on one workload: runs of bench/workloads.ts in separate processes, A and B
// alternating (this machine is shared and noisy, so a lone pair proves little), then the B/A
// ratios of throughput, CPU time per step (steadier when other jobs share the cores) and peak RSS
// per pair, and their medians.
//   node --import tsx bench/ab.ts WORKLOAD --a "ARGS" --b "ARGS" [--rounds 3] [--seconds 3]
// ARGS are workloads.ts flags, e.g. --a "--set preallocateOutputs=false" --b "" or
// --a "--workers 1" --b "--workers 2". --a-tree DIR runs A from another checkout (e.g. made with
// `git worktree add /tmp/before COMMIT`), to compare a change that has no switch.
import { execFileSync } from 'node:child_process';

const [name, ...rest] = process.argv.slice(2);
const opt = (k: string, d: string) => (rest.includes(k) ? rest[rest.indexOf(k) + 1]! : d);
const rounds = Number(opt('--rounds', '3'));
const seconds = opt('--seconds', '3');
const here = new URL('.', import.meta.url).pathname;

interface Run { images_per_s: number; cpu_ms_per_step: number; peak_rss_mb: number; host_share?: number }
function run(side: 'a' | 'b'): Run {
  const args = opt(`--${side}`, '');
  const dir = rest.includes(`--${side}-tree`) ? `${opt(`--${side}-tree`, '')}/bench/` : here;
  const argv = ['--import', 'tsx', `${dir}workloads.ts`, name!, '--seconds', seconds, ...args.split(/\s+/).filter(Boolean)];
  return JSON.parse(execFileSync(process.execPath, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!) as Run;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const speed: number[] = [], cpu: number[] = [], rss: number[] = [];
const fmt = (r: Run) => `${Math.round(r.images_per_s)} img/s, ${r.cpu_ms_per_step.toFixed(1)} CPU ms/step, ${Math.round(r.peak_rss_mb)} MB${r.host_share === undefined ? '' : `, host ${r.host_share.toFixed(2)}`}`;
for (let i = 0; i < rounds; i++) {
  // Alternate which side goes first, so a drift in machine load does not favour one side.
  const r: Record<string, Run> = {};
  for (const side of i % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)) r[side] = run(side);
  const [a, b] = [r.a!, r.b!];
  speed.push(b.images_per_s / a.images_per_s);
  cpu.push(b.cpu_ms_per_step / a.cpu_ms_per_step);
  rss.push(b.peak_rss_mb / a.peak_rss_mb);
  console.log(`round ${i + 1}: A ${fmt(a)} | B ${fmt(b)} | B/A speed ${speed.at(-1)!.toFixed(2)}x, CPU/step ${cpu.at(-1)!.toFixed(2)}x, RSS ${rss.at(-1)!.toFixed(2)}x`);
}
console.log(JSON.stringify({ workload: name, a: opt('--a', '') + (rest.includes('--a-tree') ? ` (${opt('--a-tree', '')})` : ''), b: opt('--b', ''), rounds, speed_ratios: speed.map((r) => +r.toFixed(3)), median_speed_ratio: +median(speed).toFixed(3), median_cpu_ratio: +median(cpu).toFixed(3), median_rss_ratio: +median(rss).toFixed(3) }));
