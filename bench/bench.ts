// `npm run bench`: latentkit against PyTorch on the same machine, in the same run.
// Each workload runs in its own process (own peak RSS) at 1 and 2 onnxruntime threads; the
// PyTorch script runs at 1 and 2 torch threads when a Python with torch is found. The table
// reports latentkit / PyTorch throughput ratios against PyTorch's better thread setting.
//   npm run bench [-- --seconds 3] [--workloads a,b] [--scaling] [--no-torch]
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { writeFileAtomic } from '../src/data/atomic.js';
import { WORKLOADS } from './workloads.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1]! : d);
const seconds = Number(opt('--seconds', '3'));
const names = opt('--workloads', Object.keys(WORKLOADS).join(',')).split(',');
const here = new URL('.', import.meta.url).pathname;

interface Result { workload: string; threads: number; workers?: number; batch: number; images_per_s: number; peak_rss_mb?: number; host_share?: number }

function latentkit(name: string, threads: number, workers = 1): Result {
  const out = execFileSync(process.execPath, ['--import', 'tsx', `${here}workloads.ts`, name, '--threads', String(threads), '--seconds', String(seconds), '--workers', String(workers)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!) as Result;
}

function findTorch(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

function torch(py: string, threads: number, workloads: string[]): { results: Result[]; torch_version: string; build?: unknown } {
  const out = execFileSync(py, [`${here}pytorch_bench.py`, '--threads', String(threads), '--seconds', String(seconds), '--workloads', workloads.join(',')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  return JSON.parse(out);
}

const rows: { workload: string; latentkit: Result[]; torch: Result[] }[] = [];
const py = args.includes('--no-torch') ? undefined : findTorch();
let torchInfo: { version?: string; build?: unknown } = {};
const torchByThreads: Record<number, Result[]> = {};
if (py) {
  for (const t of [1, 2]) {
    // conv_epoch in its own PyTorch process so its peak RSS is its own.
    const main = torch(py, t, names.filter((n) => n !== 'conv_epoch'));
    const epoch = names.includes('conv_epoch') ? torch(py, t, ['conv_epoch']).results : [];
    torchByThreads[t] = [...main.results, ...epoch];
    torchInfo = { version: main.torch_version, build: main.build };
  }
} else process.stderr.write('PyTorch not found (apt-get install python3-torch): reporting latentkit alone\n');

for (const name of names) {
  process.stderr.write(`latentkit ${name}...\n`);
  // One thread; two intra-op threads; and (training) two data-parallel worker threads.
  const lk = [latentkit(name, 1), latentkit(name, 2), ...(WORKLOADS[name]!.kind === 'infer' ? [] : [latentkit(name, 1, 2)])];
  const th = Object.values(torchByThreads).flatMap((rs) => rs.filter((r) => r.workload === name));
  rows.push({ workload: name, latentkit: lk, torch: th });
}

const best = (rs: Result[]) => rs.reduce<Result | undefined>((b, r) => (!b || r.images_per_s > b.images_per_s ? r : b), undefined);
const table = rows.map((r) => {
  const lk = best(r.latentkit)!, th = best(r.torch);
  const lk1 = r.latentkit.find((x) => x.threads === 1)!;
  return {
    workload: r.workload,
    latentkit_img_s: Math.round(lk.images_per_s),
    latentkit_setting: lk.workers && lk.workers > 1 ? `${lk.workers} workers` : `${lk.threads} threads`,
    latentkit_1thread_img_s: Math.round(lk1.images_per_s),
    torch_img_s: th ? Math.round(th.images_per_s) : null,
    torch_threads: th?.threads ?? null,
    ratio: th ? +(lk.images_per_s / th.images_per_s).toFixed(2) : null,
    latentkit_peak_rss_mb: Math.round(lk.peak_rss_mb ?? 0),
    torch_peak_rss_mb: th ? Math.round((th as Result & { peak_rss_mb_after?: number }).peak_rss_mb_after ?? 0) : null,
    host_share: lk1.host_share !== undefined ? +lk1.host_share.toFixed(3) : null,
  };
});

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

const report = { date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, torch: torchInfo, seconds, table, scaling, raw: rows };
const path = `${here}results/bench.json`;
writeFileAtomic(path, JSON.stringify(report, null, 2) + '\n');
console.table(table);
if (scaling) console.table(scaling);
console.log(`written ${path}`);
