// `npm run bench`: latentkit against PyTorch on the same machine, in the same run.
// Each latentkit workload runs in its own process (own peak RSS) at 1 and 2 onnxruntime threads
// and, for training, 2 data-parallel workers. PyTorch runs as installed and tuned: tuned means
// glibc malloc kept off mmap (MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_) or jemalloc
// (LD_PRELOAD), with the machine's OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE kept or unset for its
// process alone, at 1 and 2 threads; each side is reported at its best setting, and ratios are
// computed against tuned PyTorch (the installed one is printed beside it).
// `chapter_e2e` is the chapter's experiment end to end: `latentkit train --preset seed-cnn` for
// --e2e-epochs epochs (validation and checkpoints included) against bench/pytorch_chapter.py,
// wall time and peak RSS of each whole process (bench/run_measured.py).
// latentkit's workloads run with the allocator settings its CLI gives itself
// (bin/malloc-tuning.js, TUNED_MALLOC_ENV: the same values as PyTorch's 'malloc tuned'); with
// --latentkit-system-malloc they run on glibc's defaults instead (an API user who sets nothing).
//   npm run bench [-- --seconds 3] [--workloads a,b] [--e2e-epochs 20] [--torch-threads 1,2]
//                 [--scaling] [--no-torch] [--latentkit-system-malloc]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TUNED_MALLOC_ENV } from '../bin/malloc-tuning.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { WORKLOADS } from './workloads.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1]! : d);
const seconds = Number(opt('--seconds', '3'));
const E2E = 'chapter_e2e';
const names = opt('--workloads', [...Object.keys(WORKLOADS), E2E].join(',')).split(',');
const e2eEpochs = Number(opt('--e2e-epochs', '1'));
const torchThreads = opt('--torch-threads', '1,2').split(',').map(Number);
const here = new URL('.', import.meta.url).pathname;
const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

interface Result { workload: string; threads: number; workers?: number; batch: number; images_per_s: number; peak_rss_mb?: number; peak_rss_mb_after?: number; host_share?: number; config?: string }

const systemMalloc = args.includes('--latentkit-system-malloc');
/** latentkit's processes: the CLI's own allocator settings, or glibc's defaults when asked. */
function latentkitEnv(): NodeJS.ProcessEnv {
  const env = cliEnv();
  return systemMalloc ? env : { ...env, ...TUNED_MALLOC_ENV };
}
/** For the CLI itself: no allocator variables, so it relaunches itself exactly as for a user. */
function cliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of [...Object.keys(TUNED_MALLOC_ENV), 'LATENTKIT_MALLOC']) delete env[k];
  return systemMalloc ? { ...env, LATENTKIT_MALLOC: 'system' } : env;
}

function latentkit(name: string, threads: number, workers = 1): Result {
  const out = execFileSync(process.execPath, ['--import', 'tsx', `${here}workloads.ts`, name, '--threads', String(threads), '--seconds', String(seconds), '--workers', String(workers)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: latentkitEnv() });
  return JSON.parse(out.trim().split('\n').pop()!) as Result;
}

function findTorch(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

/** One way to run PyTorch's process: its allocator and OpenBLAS kernel settings. */
interface TorchConfig { name: string; tuned: boolean; env: NodeJS.ProcessEnv }

function torchConfigs(): TorchConfig[] {
  const base = { ...process.env };
  const configs: TorchConfig[] = [{ name: 'installed', tuned: false, env: base }];
  const allocators: [string, NodeJS.ProcessEnv][] = [['malloc tuned', { ...TUNED_MALLOC_ENV }]];
  if (existsSync(JEMALLOC)) allocators.push(['jemalloc', { LD_PRELOAD: JEMALLOC }]);
  const openblasSet = base.OPENBLAS_CORETYPE !== undefined || base.OPENBLAS_L2_SIZE !== undefined;
  for (const [alloc, env] of allocators) {
    configs.push({ name: alloc, tuned: true, env: { ...base, ...env } });
    if (openblasSet) {
      const unset = { ...base, ...env };
      delete unset.OPENBLAS_CORETYPE;
      delete unset.OPENBLAS_L2_SIZE;
      configs.push({ name: `${alloc}, OPENBLAS_* unset`, tuned: true, env: unset });
    }
  }
  return configs;
}

interface TorchRun { results: Result[]; torch_version: string; build?: { threadpools?: { internal_api: string; architecture?: string }[] } }

function torch(py: string, cfg: TorchConfig, threads: number, workloads: string[]): TorchRun {
  const out = execFileSync(py, [`${here}pytorch_bench.py`, '--threads', String(threads), '--seconds', String(seconds), '--workloads', workloads.join(',')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24, env: cfg.env });
  return JSON.parse(out);
}

/** The OpenBLAS kernel a run used (threadpoolctl), for the setting's label. */
const blasKernel = (r: TorchRun) => r.build?.threadpools?.find((p) => p.internal_api === 'openblas')?.architecture;

const best = <T extends { images_per_s: number }>(rs: T[]) => rs.reduce<T | undefined>((b, r) => (!b || r.images_per_s > b.images_per_s ? r : b), undefined);

const py = args.includes('--no-torch') ? undefined : findTorch();
const benchNames = names.filter((n) => n !== E2E);
const torchResults: (Result & { tuned: boolean; env: NodeJS.ProcessEnv; threads: number })[] = [];
let torchInfo: { version?: string; build?: unknown } = {};
if (py) {
  for (const cfg of torchConfigs())
    for (const t of torchThreads) {
      process.stderr.write(`PyTorch (${cfg.name}, ${t} thread${t > 1 ? 's' : ''})...\n`);
      // conv_epoch in its own PyTorch process so its peak RSS is its own.
      const groups = [benchNames.filter((n) => n !== 'conv_epoch'), benchNames.filter((n) => n === 'conv_epoch')];
      for (const group of groups.filter((g) => g.length)) {
        const run = torch(py, cfg, t, group);
        const label = `${cfg.name}, ${t} thread${t > 1 ? 's' : ''}${blasKernel(run) ? `, OpenBLAS ${blasKernel(run)}` : ''}`;
        for (const r of run.results) torchResults.push({ ...r, config: label, tuned: cfg.tuned, env: cfg.env, threads: t });
        if (!cfg.tuned) torchInfo = { version: run.torch_version, build: run.build };
      }
    }
} else process.stderr.write('PyTorch not found (apt-get install python3-torch): reporting latentkit alone\n');

const rows: { workload: string; latentkit: Result[] }[] = [];
for (const name of benchNames) {
  process.stderr.write(`latentkit ${name}...\n`);
  // One thread; two intra-op threads; and (training) two data-parallel worker threads.
  const lk = [latentkit(name, 1), latentkit(name, 2), ...(WORKLOADS[name]!.kind === 'infer' ? [] : [latentkit(name, 1, 2)])];
  rows.push({ workload: name, latentkit: lk });
}

const round = (x: number | undefined, digits = 0) => (x === undefined ? null : +x.toFixed(digits));
const table = rows.map((r) => {
  const lk = best(r.latentkit)!;
  const lk1 = r.latentkit.find((x) => x.threads === 1)!;
  const mine = torchResults.filter((x) => x.workload === r.workload);
  const installed = best(mine.filter((x) => !x.tuned)), tuned = best(mine.filter((x) => x.tuned));
  return {
    workload: r.workload,
    latentkit_img_s: Math.round(lk.images_per_s),
    latentkit_setting: lk.workers && lk.workers > 1 ? `${lk.workers} workers` : `${lk.threads} threads`,
    torch_tuned_img_s: round(tuned?.images_per_s),
    torch_tuned_setting: tuned?.config ?? null,
    ratio_vs_tuned: tuned ? round(lk.images_per_s / tuned.images_per_s, 2) : null,
    torch_installed_img_s: round(installed?.images_per_s),
    ratio_vs_installed: installed ? round(lk.images_per_s / installed.images_per_s, 2) : null,
    latentkit_peak_rss_mb: Math.round(lk.peak_rss_mb ?? 0),
    // PyTorch's runs share one process across workloads (conv_epoch excepted): the peak so far.
    torch_tuned_peak_rss_mb_so_far: round(tuned?.peak_rss_mb_after),
    latentkit_1thread_host_share: lk1.host_share !== undefined ? round(lk1.host_share, 3) : null,
  };
});

// The chapter's experiment end to end: whole processes, wall time and peak RSS.
interface Measured { wall_s: number; peak_rss_mb: number; rc: number }
function measured(cmd: string[], env: NodeJS.ProcessEnv = process.env): Measured {
  const out = execFileSync('python3', [`${here}run_measured.py`, ...cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env, maxBuffer: 1 << 24 });
  const m = JSON.parse(out.trim().split('\n').pop()!) as Measured;
  if (m.rc !== 0) throw new Error(`${cmd.join(' ')} exited with ${m.rc}`);
  return m;
}
let e2e: { engine: string; setting: string; wall_s: number; peak_rss_mb: number }[] | undefined;
if (names.includes(E2E)) {
  e2e = [];
  const dir = mkdtempSync(join(tmpdir(), 'latentkit-bench-e2e-'));
  try {
    for (const workers of [1, 2]) {
      process.stderr.write(`latentkit ${E2E} (${e2eEpochs} epochs, ${workers} worker${workers > 1 ? 's' : ''})...\n`);
      const m = measured([process.execPath, `${here}../bin/latentkit.js`, 'train', '--preset', 'seed-cnn', '--epochs', String(e2eEpochs), '--workers', String(workers), '--no-progress', '--out', join(dir, `lk${workers}`)], cliEnv());
      e2e.push({ engine: 'latentkit', setting: `${workers} worker${workers > 1 ? 's' : ''}`, wall_s: round(m.wall_s, 1)!, peak_rss_mb: Math.round(m.peak_rss_mb) });
    }
    if (py) {
      // PyTorch's end-to-end runs use the setting that won its epoch (or batch-32 training) above.
      const selectorWorkload = torchResults.some((x) => x.workload === 'conv_epoch') ? 'conv_epoch' : 'conv_train_b32';
      for (const tuned of [false, true]) {
        // Without those results: the first configuration of its kind (tuned: malloc tuned), 1 thread.
        const fallback = torchConfigs().find((c) => c.tuned === tuned)!;
        const pick = best(torchResults.filter((x) => x.tuned === tuned && x.workload === selectorWorkload));
        const threads = pick?.threads ?? 1;
        const setting = pick?.config ?? `${fallback.name}, 1 thread`;
        process.stderr.write(`PyTorch ${E2E} (${setting})...\n`);
        const m = measured([py, `${here}pytorch_chapter.py`, '--epochs', String(e2eEpochs), '--threads', String(threads), '--out', join(dir, `torch${tuned}`)], pick?.env ?? fallback.env);
        e2e.push({ engine: `PyTorch ${tuned ? 'tuned' : 'installed'}`, setting, wall_s: round(m.wall_s, 1)!, peak_rss_mb: Math.round(m.peak_rss_mb) });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Training throughput against batch size, one thread vs two data-parallel workers.
let scaling: { batch: number; threads: number; images_per_s: number }[] | undefined;
if (args.includes('--scaling')) {
  scaling = [];
  for (const b of [8, 16, 32, 64, 128, 256, 512, 1024])
    for (const t of [1, 2]) {
      const r = t === 1 ? latentkit(`conv_train_b${b}`, 1) : latentkit(`conv_train_b${b}`, 1, 2);
      scaling.push({ batch: b, threads: t, images_per_s: Math.round(r.images_per_s) });
    }
}

const e2eSummary = e2e && (() => {
  const lk = e2e.filter((r) => r.engine === 'latentkit').sort((a, b) => a.wall_s - b.wall_s)[0]!;
  const tuned = e2e.find((r) => r.engine === 'PyTorch tuned');
  const installed = e2e.find((r) => r.engine === 'PyTorch installed');
  return {
    epochs: e2eEpochs,
    latentkit_wall_s: lk.wall_s,
    wall_ratio_vs_tuned: tuned ? round(tuned.wall_s / lk.wall_s, 2) : null,
    wall_ratio_vs_installed: installed ? round(installed.wall_s / lk.wall_s, 2) : null,
  };
})();
const rawTorch = torchResults.map(({ env: _env, ...r }) => r);
const report = { date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, latentkit_allocator: systemMalloc ? 'glibc defaults' : TUNED_MALLOC_ENV, torch: torchInfo, seconds, table, e2e, e2eSummary, scaling, raw: { latentkit: rows, torch: rawTorch } };
const path = `${here}results/bench.json`;
writeFileAtomic(path, JSON.stringify(report, null, 2) + '\n');
console.table(table);
if (e2e) {
  console.table(e2e);
  console.log(`chapter's experiment, ${e2eEpochs} epoch(s): PyTorch tuned / latentkit wall time = ${e2eSummary!.wall_ratio_vs_tuned}x (installed: ${e2eSummary!.wall_ratio_vs_installed}x)`);
}
if (scaling) console.table(scaling);
console.log(`written ${path}`);
