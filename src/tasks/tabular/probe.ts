// Linear and MLP probes: how useful are an autoencoder's features for predicting a column?
// With k-fold cross-validation, for each fold: fit the preprocessing, an MLP autoencoder and a
// denoising autoencoder on the training rows only, then train a classifier/regressor (logistic
// or linear regression, and a small MLP, both on latentkit's own engine) on
//   raw          the preprocessed columns
//   bottleneck   the MLP autoencoder's code
//   dae          the DAE's hidden layers, concatenated (Porto Seguro's "deep stack")
//   pca-K        PCA of the raw columns with the same width as the learned features (capped at
//                the raw width): the linear baseline
// and score it on the held-out rows: accuracy, ROC AUC (macro one-vs-rest for several classes)
// and log loss, or RMSE and R² for a numeric target. The heads come from one small search
// (head-search.ts), identical for every feature set. Each (fold, part) is a task; tasks run on
// worker threads (one per core) so the probe uses both cores.
import type { Tensor } from '../../graph/tensor.js';
import { applyNoise, type NoiseSpec } from '../../data/noise.js';
import { encodeTarget, kFold, complement, TabularPreprocessor, tabularReconstructionLoss, type PreprocessOptions, type Task, type TabularLayout } from '../../data/tabular/index.js';
import { DenoisingAutoencoder } from '../../models/denoising.js';
import { PORTO_SEGURO } from '../../models/tabular-presets.js';
import { MLPAutoencoder, type Activation } from '../../models/mlp-autoencoder.js';
import { manualSeed } from '../../nn/init.js';
import type { Module } from '../../nn/module.js';
import { Adam } from '../../optim/optimizer.js';
import { ForwardGraph, ParamStore, TrainingStep, type InputSpec, type StepFn } from '../../runtime/compile.js';
import { Rng } from '../../util/random.js';
import { pca, pcaTransform } from '../../numerics/pca.js';
import { encodeRows, loadTabular, type TabularSource } from './tabular.js';
import { classificationMetrics, regressionMetrics } from '../../metrics/classification.js';
import { gatherRows, standardise } from '../../numerics/rows.js';
import { threadCpuSeconds } from '../../util/thread-cpu.js';
import { remainingSeconds } from '../../train/progress.js';
import { startModuleWorker } from '../../util/worker.js';
import { defaultHeadBatch, HEAD_DEFAULTS, headGrid, searchHeads, type HeadConfig, type HeadKind, type HeadSearchOptions, type TrialResult } from './head-search.js';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';

export type FeatureSet = 'raw' | 'bottleneck' | 'dae';
export type { HeadKind };

export interface AutoencoderProbeConfig {
  hidden?: number[];
  bottleneck?: number;
  activation?: Activation;
  /** Most epochs; training stops when the held-out reconstruction loss has not improved for `patience` epochs. */
  epochs?: number;
  lr?: number;
  batchSize?: number;
  patience?: number;
}

export interface ProbeOptions extends TabularSource {
  target: string;
  task?: Task | 'auto';
  folds?: number;
  seed?: number;
  /** Feature sets to compare (default raw, bottleneck, dae); PCA baselines are added for the learned ones. */
  features?: FeatureSet[];
  /** Add a PCA baseline of the same width beside each learned feature set (default true). */
  pca?: boolean;
  heads?: HeadKind[];
  preprocess?: PreprocessOptions;
  /** MLP autoencoder: hidden [64], bottleneck 8 (at most half the input width), at most 60 epochs (patience 5), lr 2e-3, batch 256. */
  ae?: AutoencoderProbeConfig;
  /** DAE: hidden [128], bottleneck 128 (3 ReLU layers), swap noise 0.15, at most 60 epochs (patience 5), lr 2e-3, batch 256. */
  dae?: AutoencoderProbeConfig & { noise?: NoiseSpec[]; features?: number[] };
  /** Heads: the search of head-search.ts (grid, epochs, patience, batch, validation share, class weights). */
  head?: HeadSearchOptions;
  /**
   * 'porto-seguro': RankGauss inputs, a DAE of 3 ReLU layers of 1500 with swap noise 0.15, all
   * 4500 activations as features, MLP heads; raw vs DAE stack (explicit options still win).
   */
  recipe?: 'porto-seguro';
  /** Worker threads running (fold, part) tasks: 'auto' (default) = one per core; 0 or 1 = this thread. */
  workers?: number | 'auto';
  log?: (line: string) => void;
}

export interface MetricSummary {
  mean: number;
  std: number;
  folds: number[];
}

export interface ProbeRow {
  features: string;
  width: number;
  head: HeadKind;
  metrics: Record<string, MetricSummary>;
  /** Per fold: the candidate the search chose (on the inner validation split) and its best epoch. */
  chosen: TrialResult[];
}

export interface ProbeResult {
  source: string;
  target: string;
  task: Task;
  classes?: string[];
  rows: number;
  droppedRows: number;
  inputWidth: number;
  folds: number;
  results: ProbeRow[];
  /** Mean reconstruction loss of the autoencoders on the held-out rows, per fold. */
  reconstruction: Record<string, number[]>;
  /** The head search every feature set got. */
  search: { grid: HeadConfig[]; maxEpochs: number; patience: number; batchSize: number; validFraction: number; halving: boolean; classWeights?: number[] };
  /** Seconds per part, summed over folds (thread time: with several workers they overlap). */
  timings: Record<string, number>;
  /** CPU seconds per part, summed over folds (NaN where the platform cannot tell). */
  cpu: Record<string, number>;
  workers: number;
  /** Wall-clock seconds of the whole probe. */
  seconds: number;
}

export interface AutoencoderFitOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Stop after this many epochs without a lower held-out loss (default 5); the best epoch's weights are kept. */
  patience?: number;
  /** Share of the rows held out for early stopping (default 0.1). */
  validFraction?: number;
}

/**
 * Fit an autoencoder on rows of x with the mixed-type loss (noisy inputs for a DAE): batches of
 * `batchSize`, early stopping on a held-out share of the rows (for a DAE, on one fixed
 * corruption of them, so the score is the training objective without its noise), best weights
 * restored. Returns the epochs run and the best epoch.
 */
export async function fitAutoencoderQuick(model: MLPAutoencoder | DenoisingAutoencoder, layout: TabularLayout, x: Float32Array, o: AutoencoderFitOptions): Promise<{ epochs: number; bestEpoch: number }> {
  const W = layout.width, n = x.length / W;
  const dae = model instanceof DenoisingAutoencoder;
  const inputs: InputSpec[] = [{ name: 'noisy', shape: [W] }, { name: 'clean', shape: [W] }];
  const step: StepFn = (m, [noisy, clean]) => tabularReconstructionLoss(m.call(noisy!) as Tensor, clean!, layout);
  const rng = new Rng(o.seed + 1);
  const nValid = n >= 20 ? Math.max(1, Math.round(n * (o.validFraction ?? 0.1))) : 0;
  const perm = rng.permutation(n);
  const validIdx = perm.subarray(0, nValid), trainIdx = perm.subarray(nValid);
  const corrupt = (rows: Float32Array, idx: ArrayLike<number>) => (dae ? applyNoise(rows, idx.length, W, model.noise, rng, { groups: layout.categorical, dataset: x, rowIndex: idx }) : rows);
  const validClean = gatherRows(x, W, validIdx);
  const validNoisy = corrupt(validClean, validIdx);
  const ts = await TrainingStep.create(model, inputs, step, { optimizer: new Adam({ lr: o.lr }), seed: o.seed });
  const evalGraph = nValid ? await ForwardGraph.create(model, inputs, step, ts.store) : undefined;
  let best = Infinity, bestEpoch = 0, epochs = 0, bestValues: ReturnType<ParamStore["snapshot"]> | undefined;
  try {
    while (epochs < o.epochs && epochs - bestEpoch < (o.patience ?? 5)) {
      epochs++;
      const order = rng.permutation(trainIdx.length);
      for (let s = 0; s < order.length; s += o.batchSize) {
        const idx = Int32Array.from(order.subarray(s, Math.min(order.length, s + o.batchSize)), (k) => trainIdx[k]!);
        if (idx.length < 2 && order.length > 1) continue;
        const clean = gatherRows(x, W, idx);
        await ts.run([corrupt(clean, idx), clean], idx.length);
      }
      if (!evalGraph) {
        bestEpoch = epochs;
        continue;
      }
      const loss = (await evalGraph.run([validNoisy, validClean], nValid)).loss!;
      if (loss < best) {
        (best = loss), (bestEpoch = epochs);
        bestValues = ts.store.snapshot();
      }
    }
    if (bestValues) for (const [k, v] of bestValues) ts.store.values.set(k, v);
    ts.store.sync();
    return { epochs, bestEpoch };
  } finally {
    await evalGraph?.release();
    await ts.release();
  }
}

/** Mean mixed-type reconstruction loss of a model on rows of x (clean input). */
async function reconstructionLoss(model: Module, layout: TabularLayout, x: Float32Array): Promise<number> {
  const W = layout.width;
  const g = await ForwardGraph.create(model, [{ name: 'x', shape: [W] }], (m, [t]) => tabularReconstructionLoss(m.call(t!) as Tensor, t!, layout), new ParamStore(model));
  try {
    return (await g.run([x], x.length / W)).loss!;
  } finally {
    await g.release();
  }
}

function summary(values: number[]): MetricSummary {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(values.length - 1, 1));
  return { mean, std, folds: values };
}

export type ProbePart = 'raw' | 'bottleneck' | 'dae';

/** One fold's share of the work: everything one part needs, as plain data (it may go to a worker thread). */
export interface ProbeTask {
  fold: number;
  part: ProbePart;
  seed: number;
  task: Task;
  classes: number;
  layout: TabularLayout;
  xtr: Float32Array;
  xte: Float32Array;
  /** Class indices, or standardised regression targets. */
  ytr: Int32Array | Float32Array;
  /** raw: PCA baselines of these widths beside the raw columns. */
  pcaWidths: number[];
  ae: Required<AutoencoderProbeConfig>;
  dae: Required<AutoencoderProbeConfig> & { noise: NoiseSpec[]; features?: number[] };
  head: HeadSearchOptions & { grid: HeadConfig[] };
}

export interface ProbeTaskResult {
  fold: number;
  part: ProbePart;
  sets: {
    name: string;
    width: number;
    predictions: Partial<Record<HeadKind, Float32Array>>;
    chosen: Partial<Record<HeadKind, TrialResult>>;
    classWeights?: number[];
    /** What the search was: identical for every feature set of a fold. */
    search: { grid: HeadConfig[]; validIndices: Int32Array; batchSize: number; maxEpochs: number; patience: number };
  }[];
  reconstruction?: number;
  /** Seconds per step of this task: fit-ae, encode, pca, heads:<set>... */
  timings: Record<string, number>;
  /** The same steps' CPU seconds on the task's thread (what a shared machine's load does not inflate much). */
  cpu: Record<string, number>;
}

/** Run one (fold, part): fit what the part needs, then the head search on each of its feature sets. */
export async function runProbeTask(t: ProbeTask): Promise<ProbeTaskResult> {
  const W = t.layout.width;
  const res: ProbeTaskResult = { fold: t.fold, part: t.part, sets: [], timings: {}, cpu: {} };
  const timed = async <T>(name: string, f: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now(), c0 = threadCpuSeconds();
    try {
      return await f();
    } finally {
      res.timings[name] = (res.timings[name] ?? 0) + (performance.now() - t0) / 1000;
      res.cpu[name] = (res.cpu[name] ?? 0) + threadCpuSeconds() - c0;
    }
  };
  const features: { name: string; tr: Float32Array; te: Float32Array; width: number }[] = [];
  if (t.part === 'raw') {
    features.push({ name: 'raw', tr: t.xtr, te: t.xte, width: W });
    for (const k of t.pcaWidths) {
      const n = t.xtr.length / W;
      // PCA scores keep their variances (no whitening, as scikit-learn's default).
      const p = await timed('pca', () => pca(t.xtr, n, W, k, { seed: t.seed }));
      features.push({ name: `pca-${k}`, tr: Float32Array.from(pcaTransform(p, t.xtr, n)), te: Float32Array.from(pcaTransform(p, t.xte, t.xte.length / W)), width: k });
    }
  } else {
    const dae = t.part === 'dae';
    const c = dae ? t.dae : t.ae;
    manualSeed(t.seed + 100 * t.fold + (dae ? 2 : 1));
    const model = dae
      ? DenoisingAutoencoder.fromConfig({ input: W, hidden: c.hidden, bottleneck: c.bottleneck, activation: c.activation, codeActivation: true, output: 'linear', noise: t.dae.noise, features: t.dae.features })
      : MLPAutoencoder.fromConfig({ input: W, hidden: c.hidden, bottleneck: c.bottleneck, activation: c.activation, output: 'linear' });
    await timed(`fit-${t.part}`, () => fitAutoencoderQuick(model, t.layout, t.xtr, { epochs: c.epochs, batchSize: c.batchSize, lr: c.lr, patience: c.patience, seed: t.seed + t.fold }));
    res.reconstruction = await reconstructionLoss(model, t.layout, t.xte);
    const what = dae ? 'features' : 'code';
    const [tr, te] = await timed(`encode-${t.part}`, async () => [await encodeRows(model, t.xtr, W, what), await encodeRows(model, t.xte, W, what)]);
    // Learned features have arbitrary scales: standardise them.
    const [str, ste] = standardise(tr!.data, te!.data, tr!.size);
    features.push({ name: `${t.part}-${tr!.size}`, tr: str, te: ste, width: tr!.size });
  }
  for (const f of features) {
    // The same seed for every feature set: the same inner split, batches and initialisation procedure.
    const r = await timed(`heads:${f.name}`, () => searchHeads(t.task, t.classes, f.tr, t.ytr, f.te, f.width, t.head, t.seed + 1000 * t.fold));
    const search = { grid: t.head.grid, validIndices: r.validIndices, batchSize: r.batchSize, maxEpochs: t.head.maxEpochs ?? HEAD_DEFAULTS.maxEpochs, patience: t.head.patience ?? HEAD_DEFAULTS.patience };
    res.sets.push({ name: f.name, width: f.width, predictions: r.predictions, chosen: r.chosen, classWeights: r.classWeights, search });
  }
  return res;
}

/** A pool of worker threads running probe tasks; each thread runs one task at a time. */
class ProbeWorkers {
  private constructor(private readonly workers: Worker[]) {}
  static start(count: number): ProbeWorkers {
    return new ProbeWorkers(Array.from({ length: count }, () => startModuleWorker(new URL('./probe-worker', import.meta.url), import.meta.url.endsWith('.ts'), null)));
  }
  /** Run the tasks, longest first, each on the next free worker. */
  async runAll(tasks: ProbeTask[], done: (r: ProbeTaskResult) => void): Promise<void> {
    const queue = [...tasks];
    await Promise.all(this.workers.map(async (w) => {
      for (let t = queue.shift(); t; t = queue.shift()) done(await ProbeWorkers.run(w, t));
    }));
  }
  private static run(w: Worker, t: ProbeTask): Promise<ProbeTaskResult> {
    return new Promise((resolve, reject) => {
      const cleanup = () => { w.off('message', onMsg); w.off('error', onErr); };
      const onMsg = (m: { result?: ProbeTaskResult; error?: string }) => { cleanup(); if (m.error) reject(new Error(`probe fold ${t.fold + 1}, ${t.part}: ${m.error}`)); else resolve(m.result!); };
      const onErr = (e: Error) => { cleanup(); reject(new Error(`probe worker crashed on fold ${t.fold + 1}, ${t.part}: ${e.message}`)); };
      w.on('message', onMsg);
      w.on('error', onErr);
      w.postMessage(t);
    });
  }
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export async function runProbe(o: ProbeOptions): Promise<ProbeResult> {
  const t0 = performance.now();
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const seed = o.seed ?? 0;
  const k = o.folds ?? 5;
  const recipe = o.recipe === 'porto-seguro' ? PORTO_SEGURO : undefined;
  const featureSets = o.features ?? (recipe ? ['raw', 'dae'] : ['raw', 'bottleneck', 'dae']);
  const heads = o.heads ?? (recipe ? ['mlp'] : ['logreg', 'mlp']);
  const preprocess = o.preprocess ?? (recipe ? { numeric: recipe.numeric } : undefined);
  const withPca = o.pca ?? true;
  const timings: Record<string, number> = {}, cpu: Record<string, number> = {};
  const addTime = (name: string, sec: number, into = timings) => (into[name] = (into[name] ?? 0) + sec);
  const tLoad = performance.now();
  const { table, schema } = await loadTabular({ ...o, exclude: [...(o.exclude ?? []), o.target] });
  const target = encodeTarget(table, o.target, o.task ?? 'auto');
  addTime('load', (performance.now() - tLoad) / 1000);
  const n = target.rows.length;
  const nClasses = target.classes?.length ?? 1;
  const cls = target.task === 'classification';
  const folds = kFold(n, k, seed, cls ? target.y : undefined);
  const aeDefaults = { hidden: [64], bottleneck: 8, activation: 'relu' as Activation, epochs: 60, lr: 2e-3, batchSize: 256, patience: 5 };
  const ae = { ...aeDefaults, ...o.ae };
  const dae = { ...aeDefaults, hidden: recipe?.hidden ?? [128], bottleneck: recipe?.bottleneck ?? 128, noise: recipe?.noise ?? ([{ kind: 'swap', p: 0.15 }] as NoiseSpec[]), ...o.dae };
  const head = { ...o.head, grid: o.head?.grid ?? headGrid(heads) };
  const workerCount = o.workers === undefined || o.workers === 'auto' ? Math.min(availableParallelism(), 3 * k) : Math.max(0, o.workers);
  log(`probe: ${table.source}, target ${o.target} (${target.task}${target.classes ? `, ${nClasses} classes` : ''}), ${n} rows${target.dropped ? ` (${target.dropped} without a target dropped)` : ''}, ${k}-fold CV, ${head.grid.length} head candidates per feature set, ${workerCount > 1 ? `${workerCount} worker threads` : 'one thread'}`);

  // Tasks: per fold, the preprocessing fitted on its training rows, then one task per part.
  const tasks: ProbeTask[] = [];
  const testY: (Int32Array | Float32Array)[] = [];
  const yScale: [number, number][] = [];
  let inputWidth = 0;
  const tPrep = performance.now();
  for (let f = 0; f < k; f++) {
    const testIdx = folds[f]!;
    const trainIdx = complement(n, testIdx);
    const trRows = Int32Array.from(trainIdx, (i) => target.rows[i]!);
    const teRows = Int32Array.from(testIdx, (i) => target.rows[i]!);
    const prep = TabularPreprocessor.fit(table, schema, trRows, preprocess);
    const W = (inputWidth = prep.width);
    const xtr = prep.transform(table, trRows), xte = prep.transform(table, teRows);
    testY.push(cls ? Int32Array.from(testIdx, (i) => target.y[i]!) : Float32Array.from(testIdx, (i) => target.y[i]!));
    // Regression targets are standardised for training and scored in their own units.
    let yMean = 0, ySd = 1;
    if (!cls) {
      const ys = Array.from(trainIdx, (i) => target.y[i]!);
      yMean = ys.reduce((a, b) => a + b, 0) / ys.length;
      ySd = Math.sqrt(ys.reduce((a, b) => a + (b - yMean) ** 2, 0) / ys.length) || 1;
    }
    yScale.push([yMean, ySd]);
    const ytr = cls ? Int32Array.from(trainIdx, (i) => target.y[i]!) : Float32Array.from(trainIdx, (i) => (target.y[i]! - yMean) / ySd);
    // Default code: 8 numbers, but always narrower than the input (an undercomplete code).
    const aeFold = { ...ae, bottleneck: o.ae?.bottleneck ?? Math.min(ae.bottleneck, Math.max(2, Math.floor(W / 2))) };
    const daeWidth = DenoisingAutoencoder.fromConfig({ input: W, hidden: dae.hidden, bottleneck: dae.bottleneck, codeActivation: true, output: 'linear', features: dae.features }).featureSize();
    // PCA as wide as each learned feature set, capped below the input width (pca-W would be the raw columns rotated).
    const pcaWidths = !withPca ? [] : [...new Set([featureSets.includes('bottleneck') ? aeFold.bottleneck : 0, featureSets.includes('dae') ? daeWidth : 0].map((w) => Math.min(w, W)).filter((w) => w > 0 && w < W))];
    const base = { fold: f, seed, task: target.task, classes: nClasses, layout: prep.layout, xtr, xte, ytr, pcaWidths, ae: aeFold, dae, head };
    // Longest first, so two workers finish together: DAE tasks, then autoencoders, then raw.
    for (const part of ['dae', 'bottleneck', 'raw'] as ProbePart[]) if (part === 'raw' ? featureSets.includes('raw') || pcaWidths.length : featureSets.includes(part)) tasks.push({ ...base, part, pcaWidths: part === 'raw' ? pcaWidths : [] });
  }
  addTime('preprocess', (performance.now() - tPrep) / 1000);
  tasks.sort((a, b) => ['dae', 'bottleneck', 'raw'].indexOf(a.part) - ['dae', 'bottleneck', 'raw'].indexOf(b.part) || a.fold - b.fold);

  const scores = new Map<string, { width: number; head: HeadKind; features: string; values: Record<string, number[]>; chosen: TrialResult[] }>();
  const reconstruction: Record<string, number[]> = {};
  const results: ProbeTaskResult[] = [];
  let classWeights: number[] | undefined;
  // Progress with an ETA: tasks of one part cost about the same, whichever fold.
  const done: { kind: string; seconds: number }[] = [];
  const remainingParts = () => {
    const left = new Map<string, number>();
    for (const t of tasks) left.set(t.part, (left.get(t.part) ?? 0) + 1);
    for (const d of done) left.set(d.kind, left.get(d.kind)! - 1);
    return [...left].flatMap(([part, count]) => Array<string>(count).fill(part));
  };
  const finished = (r: ProbeTaskResult) => {
    results.push(r);
    const partOf = (name: string) => (name.startsWith('heads:') ? `heads:${r.part === 'raw' && name !== 'heads:raw' ? 'pca' : r.part}` : name);
    for (const [name, sec] of Object.entries(r.timings)) addTime(partOf(name), sec);
    for (const [name, sec] of Object.entries(r.cpu)) addTime(partOf(name), sec, cpu);
    const line = r.sets.map((s) => Object.entries(s.chosen).map(([h, c]) => `${s.name}/${h} valid ${c!.score.toFixed(3)}`).join(', ')).join(', ');
    const seconds = Object.values(r.timings).reduce((a, b) => a + b, 0);
    done.push({ kind: r.part, seconds });
    const left = tasks.length - done.length;
    const eta = left ? remainingSeconds(done, remainingParts(), workerCount) : 0;
    log(`fold ${r.fold + 1}/${k} ${r.part} done (${seconds.toFixed(1)} s) [${done.length}/${tasks.length} tasks${left ? `, ETA ~${Math.round(eta!)} s` : ''}]: ${line}`);
  };
  if (workerCount > 1) {
    const pool = ProbeWorkers.start(Math.min(workerCount, tasks.length));
    try {
      await pool.runAll(tasks, finished);
    } finally {
      await pool.close();
    }
  } else for (const t of tasks) finished(await runProbeTask(t));

  // Score in a fixed order (fold, then part), whatever order the workers finished in.
  results.sort((a, b) => a.fold - b.fold || ['raw', 'bottleneck', 'dae'].indexOf(a.part) - ['raw', 'bottleneck', 'dae'].indexOf(b.part));
  for (const r of results) {
    if (r.reconstruction !== undefined) (reconstruction[r.part] ??= []).push(r.reconstruction);
    for (const s of r.sets) {
      classWeights ??= s.classWeights;
      for (const h of heads) {
        const out = s.predictions[h];
        if (!out) continue;
        const [yMean, ySd] = yScale[r.fold]!;
        const m = cls ? classificationMetrics(out, testY[r.fold] as Int32Array, nClasses) : regressionMetrics(Float32Array.from(out, (v) => v * ySd + yMean), testY[r.fold]!);
        const key = `${s.name}|${h}`;
        if (!scores.has(key)) scores.set(key, { width: s.width, head: h, features: s.name, values: {}, chosen: [] });
        const e = scores.get(key)!;
        for (const [name, v] of Object.entries(m)) (e.values[name] ??= []).push(v);
        e.chosen.push(s.chosen[h]!);
      }
    }
  }
  const order = (name: string) => (name === 'raw' ? 0 : name.startsWith('pca') ? 1 : 2);
  const rows: ProbeRow[] = [...scores.values()]
    .map((s) => ({ features: s.features, width: s.width, head: s.head, metrics: Object.fromEntries(Object.entries(s.values).map(([m, v]) => [m, summary(v)])), chosen: s.chosen }))
    .sort((a, b) => order(a.features) - order(b.features) || a.width - b.width || heads.indexOf(a.head) - heads.indexOf(b.head));
  const search = { grid: head.grid, maxEpochs: head.maxEpochs ?? HEAD_DEFAULTS.maxEpochs, patience: head.patience ?? HEAD_DEFAULTS.patience, batchSize: head.batchSize ?? defaultHeadBatch(Math.round((n * (k - 1)) / k)), validFraction: head.validFraction ?? HEAD_DEFAULTS.validFraction, halving: head.halving !== false, classWeights };
  return { source: table.source, target: o.target, task: target.task, classes: target.classes, rows: n, droppedRows: target.dropped, inputWidth, folds: k, results: rows, reconstruction, search, timings, cpu, workers: Math.max(1, workerCount), seconds: (performance.now() - t0) / 1000 };
}

/** The side-by-side table: one row per (features, head), mean ± std over folds. */
export function formatProbe(r: ProbeResult): string {
  const metrics = r.task === 'classification' ? ['accuracy', 'auc', 'logloss'] : ['rmse', 'r2'];
  const names: Record<string, string> = { accuracy: 'accuracy', auc: 'ROC AUC', logloss: 'log loss', rmse: 'RMSE', r2: 'R²' };
  const fw = Math.max(10, ...r.results.map((x) => x.features.length));
  const head = `${'features'.padEnd(fw)}  ${'width'.padStart(5)}  ${'head'.padEnd(6)}  ${metrics.map((m) => names[m]!.padEnd(15)).join('  ')}`;
  const rows = r.results.map((x) => `${x.features.padEnd(fw)}  ${String(x.width).padStart(5)}  ${x.head.padEnd(6)}  ${metrics.map((m) => { const s = x.metrics[m]; return (s ? `${s.mean.toFixed(4)} ± ${s.std.toFixed(4)}` : '').padEnd(15); }).join('  ')}`);
  const title = `${r.source}: ${r.target} (${r.task}${r.classes ? `, ${r.classes.length} classes` : ''}), ${r.rows} rows, ${r.inputWidth} preprocessed columns, ${r.folds}-fold CV (mean ± std over folds)`;
  const cfg = (c: TrialResult) => (c.config.hidden ? `${c.config.hidden}u ` : '') + `lr ${c.config.lr} wd ${c.config.weightDecay} @${c.bestEpoch}`;
  const chosen = r.results.map((x) => `  ${x.features}/${x.head}: ${x.chosen.map(cfg).join('; ')}`);
  const s = r.search;
  const searchLine = `head search (same for every feature set): ${s.grid.length} candidates (${[...new Set(s.grid.map((c) => c.kind === 'mlp' ? `mlp ${c.hidden}` : c.kind))].join(', ')} x lr x weight decay), ≤ ${s.maxEpochs} epochs, patience ${s.patience}, batch ${s.batchSize}, ${Math.round(s.validFraction * 100)}% inner validation${s.halving ? ', successive halving after a quarter of the epochs' : ''}${s.classWeights ? ', balanced class weights' : ''}; chosen per fold:`;
  const cpuTotal = Object.values(r.cpu).reduce((a, b) => a + b, 0);
  const times = `time: ${r.seconds.toFixed(1)} s wall on ${r.workers} thread${r.workers > 1 ? 's' : ''}${Number.isFinite(cpuTotal) ? `, ${cpuTotal.toFixed(1)} CPU s in the tasks` : ''}; per part (seconds on the task's thread / its CPU seconds, all folds): ${Object.entries(r.timings).map(([k, v]) => `${k} ${v.toFixed(1)}${r.cpu[k] !== undefined ? `/${r.cpu[k]!.toFixed(1)}` : ''}`).join(', ')}`;
  return [title, head, ...rows, '', searchLine, ...chosen, times].join('\n');
}
