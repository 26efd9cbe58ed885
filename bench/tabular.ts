// Tabular benchmark: `latentkit probe` beside scikit-learn's MLPClassifier (64 and 256 units)
// and HistGradientBoostingClassifier on the same CSV and the same 5 stratified folds, with wall
// times; and tabular DAE training speed (rows/s) against PyTorch on the same architecture.
//
//   Rscript bench/mlbench_csv.R data/tabular        # letter, satellite, shuttle (Debian r-cran-mlbench)
//   node --import tsx bench/tabular.ts data/tabular/letter.csv:lettr data/tabular/satellite.csv:classes
//   node --import tsx bench/tabular.ts --dae-speed-only
//
// Options: --no-sklearn, --no-probe, --no-dae-speed, --probe-args "--features raw" (passed to
// latentkit probe), --seconds S (DAE speed window). The fold file (one fold number per row) is
// written from latentkit's own stratified k-fold (seed 0), the rule `latentkit probe` uses, so
// both sides score the same held-out rows. Numbers on a shared machine are noisy: compare runs
// made side by side.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProbeResult } from '../src/tasks/tabular/probe.js';
import { applyNoise } from '../src/data/noise.js';
import { encodeTarget, kFold, readTable, tabularReconstructionLoss, type TabularLayout } from '../src/data/tabular/index.js';
import type { Tensor } from '../src/graph/tensor.js';
import { DenoisingAutoencoder } from '../src/models/denoising.js';
import { manualSeed } from '../src/nn/init.js';
import { Adam } from '../src/optim/optimizer.js';
import { createTrainingStep } from '../src/runtime/parallel.js';
import { Rng } from '../src/util/random.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const value = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : dflt);
const datasets = args.filter((a, i) => a.includes(':') && !args[i - 1]?.startsWith('--probe-args'));
const python = '/usr/bin/python3';

interface SklearnModel {
  seconds: number;
  metrics: Record<string, { mean: number; std: number }>;
}

/** The fold of every data row, by the probe's own rule (src/data/tabular/target.ts, seed 0). */
async function writeFolds(path: string, target: string, k: number, out: string): Promise<void> {
  const t = await readTable(path);
  const tg = encodeTarget(t, target, 'auto');
  const folds = kFold(tg.rows.length, k, 0, tg.task === 'classification' ? tg.y : undefined);
  const of = new Int32Array(t.nRows).fill(-1);
  folds.forEach((idx, f) => idx.forEach((i) => (of[tg.rows[i]!] = f)));
  writeFileSync(out, Array.from(of).join('\n') + '\n');
}

function fmt(m: { mean: number; std: number } | undefined): string {
  return m ? `${m.mean.toFixed(4)} ± ${m.std.toFixed(4)}` : '';
}

async function compare(spec: string, tmp: string): Promise<void> {
  const [path, target] = [spec.slice(0, spec.lastIndexOf(':')), spec.slice(spec.lastIndexOf(':') + 1)];
  const name = basename(path).replace(/\.[^.]+$/, '');
  const foldsFile = join(tmp, `${name}.folds`);
  await writeFolds(path, target, 5, foldsFile);
  const lines = [`### ${name} (${path}, target ${target})`, '', '| features | width | head | accuracy | ROC AUC | log loss | wall s |', '|---|---|---|---|---|---|---|'];
  if (!flag('--no-probe')) {
    const json = join(tmp, `${name}.probe.json`);
    const t0 = performance.now();
    const extra = value('--probe-args', '').split(' ').filter(Boolean);
    execFileSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'probe', path, '--target', target, '-o', json, ...extra], { stdio: ['ignore', 'inherit', 'inherit'] });
    const wall = (performance.now() - t0) / 1000;
    const r = JSON.parse(readFileSync(json, 'utf8')) as ProbeResult;
    for (const x of r.results) lines.push(`| ${x.features} | ${x.width} | latentkit ${x.head} | ${fmt(x.metrics.accuracy)} | ${fmt(x.metrics.auc)} | ${fmt(x.metrics.logloss)} | |`);
    lines.push(`| (whole probe) | | | | | | ${wall.toFixed(0)} |`);
    lines.push('', `probe parts (thread seconds, all folds): ${Object.entries(r.timings).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`, '');
  }
  if (!flag('--no-sklearn')) {
    const out = execFileSync(python, [join(here, 'tabular_sklearn.py'), path, '--target', target, '--folds', foldsFile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
    const sk = JSON.parse(out) as { models: Record<string, SklearnModel> };
    for (const [model, m] of Object.entries(sk.models)) lines.push(`| raw | | scikit-learn ${model} | ${fmt(m.metrics.accuracy)} | ${fmt(m.metrics.auc)} | ${fmt(m.metrics.logloss)} | ${m.seconds.toFixed(0)} |`);
  }
  process.stdout.write(lines.join('\n') + '\n\n');
}

/** Rows/s of one DAE training step (swap noise on the host, mixed loss on all-numeric columns). */
async function daeRowsPerSecond(input: number, hidden: number[], batch: number, workers: number, seconds: number): Promise<{ wall: number; cpu: number }> {
  manualSeed(0);
  const model = DenoisingAutoencoder.fromConfig({ input, hidden: hidden.slice(0, -1), bottleneck: hidden[hidden.length - 1]!, codeActivation: true, output: 'linear', noise: [{ kind: 'swap', p: 0.15 }] });
  const layout: TabularLayout = { width: input, numeric: [0, input], binary: [input, 0], missing: [input, 0], categorical: [], blocks: [] };
  const step = await createTrainingStep(model, [{ name: 'noisy', shape: [input] }, { name: 'clean', shape: [input] }], (m, [noisy, clean]) => tabularReconstructionLoss(m.call(noisy!) as Tensor, clean!, layout), { optimizer: new Adam({ lr: 1e-3 }), workers });
  const rng = new Rng(0);
  const data = new Float32Array(batch * 64 * input).map(() => rng.normal());
  const run = async (i: number) => {
    const clean = data.subarray((i % 64) * batch * input, ((i % 64) + 1) * batch * input);
    await step.run([applyNoise(clean, batch, input, model.noise, rng), clean], batch);
  };
  try {
    for (let i = 0; i < 10; i++) await run(i);
    let steps = 0;
    const t0 = performance.now(), c0 = process.cpuUsage();
    while (performance.now() - t0 < seconds * 1000) await run(steps++);
    const c = process.cpuUsage(c0);
    // Rows per CPU-second (all threads of the process) is what a shared machine's load inflates least.
    return { wall: (steps * batch) / ((performance.now() - t0) / 1000), cpu: (steps * batch) / ((c.user + c.system) / 1e6) };
  } finally {
    await step.release();
  }
}

async function daeSpeed(): Promise<void> {
  const seconds = Number(value('--seconds', '5'));
  const [input, hidden, batch] = [16, [256, 256, 256], 256];
  const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: '4000000000', MALLOC_TRIM_THRESHOLD_: '4000000000' };
  const lines = [`### Tabular DAE training speed: ${input}-${hidden.join('-')}-${input}, ReLU, swap noise 0.15, Adam, batch ${batch} (rows/s, ${seconds} s windows)`, '', '| engine | threads | rows/s | rows per CPU-second |', '|---|---|---|---|'];
  for (const threads of [1, 2]) {
    const lk = await daeRowsPerSecond(input, hidden, batch, threads, seconds);
    lines.push(`| latentkit${threads > 1 ? ' (data-parallel workers)' : ''} | ${threads} | ${lk.wall.toFixed(0)} | ${lk.cpu.toFixed(0)} |`);
    if (spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) {
      const out = execFileSync(python, [join(here, 'tabular_dae_torch.py'), '--input', String(input), '--hidden', hidden.join(','), '--batch', String(batch), '--threads', String(threads), '--seconds', String(seconds)], { encoding: 'utf8', env });
      const py = JSON.parse(out);
      lines.push(`| PyTorch ${py.torch} (allocator tuned) | ${threads} | ${py.rows_per_s.toFixed(0)} | ${py.rows_per_cpu_s.toFixed(0)} |`);
    }
  }
  process.stdout.write(lines.join('\n') + '\n\n');
}

const tmp = mkdtempSync(join(tmpdir(), 'lk-tabular-bench-'));
if (!flag('--dae-speed-only')) for (const d of datasets) await compare(d, tmp);
if (!flag('--no-dae-speed')) await daeSpeed();
