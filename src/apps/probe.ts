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
// and log loss, or RMSE and R² for a numeric target.
import type { Tensor } from '../graph/tensor.js';
import { applyNoise, type NoiseSpec } from '../data/noise.js';
import { encodeTarget, kFold, complement, TabularPreprocessor, tabularReconstructionLoss, type PreprocessOptions, type Task, type TabularLayout } from '../data/tabular/index.js';
import { crossEntropyLoss, mseLoss } from '../losses/index.js';
import { DenoisingAutoencoder } from '../models/denoising.js';
import { MLPAutoencoder, type Activation } from '../models/mlp-autoencoder.js';
import { manualSeed } from '../nn/init.js';
import { Dropout, Linear, ReLU, Sequential } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { Adam } from '../optim/optimizer.js';
import { ForwardGraph, ParamStore, TrainingStep, type InputSpec, type StepFn } from '../runtime/compile.js';
import { Rng } from '../util/random.js';
import { pca, pcaTransform } from './pca.js';
import { encodeRows, loadTabular, type TabularSource } from './tabular.js';
import { auroc } from '../util/metrics.js';

export type FeatureSet = 'raw' | 'bottleneck' | 'dae';
export type HeadKind = 'logreg' | 'mlp';

export interface AutoencoderProbeConfig {
  hidden?: number[];
  bottleneck?: number;
  activation?: Activation;
  epochs?: number;
  lr?: number;
  batchSize?: number;
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
  /** MLP autoencoder: hidden [64], bottleneck 8 (at most half the input width), 100 epochs, lr 1e-3, batch 64. */
  ae?: AutoencoderProbeConfig;
  /** DAE: hidden [128], bottleneck 128 (3 ReLU layers), swap noise 0.15, 100 epochs, lr 1e-3, batch 64. */
  dae?: AutoencoderProbeConfig & { noise?: NoiseSpec[]; features?: number[] };
  /** Heads: 200 epochs (shorter training under-fits the raw-column MLP and flatters wide features), batch 64, Adam lr 3e-3 (logreg) / 1e-3 (mlp), L2 1e-3, MLP hidden 64, dropout 0.2. */
  head?: { epochs?: number; lr?: number; mlpLr?: number; batchSize?: number; weightDecay?: number; hidden?: number; dropout?: number };
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
  seconds: number;
}

// ---------------- metrics ----------------

/** Accuracy, ROC AUC (binary, or macro one-vs-rest) and log loss from class probabilities. */
export function classificationMetrics(probs: Float32Array, y: ArrayLike<number>, classes: number): Record<string, number> {
  const n = y.length;
  let right = 0, ll = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probs[i * classes + c]! > probs[i * classes + best]!) best = c;
    if (best === y[i]) right++;
    ll -= Math.log(Math.max(probs[i * classes + y[i]!]!, 1e-15));
  }
  let auc: number;
  if (classes === 2) auc = auroc(Array.from({ length: n }, (_, i) => probs[i * 2 + 1]!), Array.from(y, (v) => v === 1));
  else {
    const aucs: number[] = [];
    for (let c = 0; c < classes; c++) {
      const a = auroc(Array.from({ length: n }, (_, i) => probs[i * classes + c]!), Array.from(y, (v) => v === c));
      if (!Number.isNaN(a)) aucs.push(a);
    }
    auc = aucs.reduce((a, b) => a + b, 0) / Math.max(aucs.length, 1);
  }
  return { accuracy: right / n, auc, logloss: ll / n };
}

export function regressionMetrics(pred: ArrayLike<number>, y: ArrayLike<number>): Record<string, number> {
  const n = y.length;
  let se = 0, mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]! / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    se += (pred[i]! - y[i]!) ** 2;
    ss += (y[i]! - mean) ** 2;
  }
  return { rmse: Math.sqrt(se / n), r2: ss > 0 ? 1 - se / ss : NaN };
}

// ---------------- small training loop (no checkpoints: probes are throwaway models) ----------------

interface LoopOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay?: number;
  seed: number;
}

/** Minibatch Adam over n rows; `batch(idx, rng)` builds the graph inputs for the chosen rows. */
async function trainLoop(model: Module, inputs: InputSpec[], step: StepFn, n: number, batch: (idx: Int32Array, rng: Rng) => (Float32Array | BigInt64Array)[], o: LoopOptions): Promise<ParamStore> {
  const ts = await TrainingStep.create(model, inputs, step, { optimizer: new Adam({ lr: o.lr, weight_decay: o.weightDecay ?? 0 }), seed: o.seed });
  try {
    const rng = new Rng(o.seed + 1);
    for (let e = 0; e < o.epochs; e++) {
      const order = rng.permutation(n);
      for (let s = 0; s < n; s += o.batchSize) {
        const idx = order.subarray(s, Math.min(n, s + o.batchSize));
        if (idx.length < 2 && n > 1) continue;
        await ts.run(batch(idx, rng), idx.length);
      }
    }
    ts.store.sync();
    return ts.store;
  } finally {
    await ts.release();
  }
}

function gatherRows(x: Float32Array, width: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * width);
  for (let k = 0; k < idx.length; k++) out.set(x.subarray(idx[k]! * width, (idx[k]! + 1) * width), k * width);
  return out;
}

/** Run a forward graph over all rows and return one output. */
async function predict(model: Module, x: Float32Array, width: number, out: (m: Module, x: Tensor) => Tensor): Promise<{ data: Float32Array; size: number }> {
  const n = x.length / width;
  const g = await ForwardGraph.create(model, [{ name: 'x', shape: [width] }], (m, [t]) => { const o = out(m, t!); return { loss: o, outputs: { o } }; }, new ParamStore(model), { withLoss: false });
  try {
    const r = await g.run([x], n);
    return { data: r.outputs.o!, size: r.dims.o![1] ?? 1 };
  } finally {
    await g.release();
  }
}

/** Fit an autoencoder on rows of x with the mixed-type loss (noisy inputs for a DAE). */
export async function fitAutoencoderQuick(model: MLPAutoencoder | DenoisingAutoencoder, layout: TabularLayout, x: Float32Array, o: LoopOptions): Promise<void> {
  const W = layout.width, n = x.length / W;
  const dae = model instanceof DenoisingAutoencoder;
  const inputs: InputSpec[] = dae ? [{ name: 'noisy', shape: [W] }, { name: 'clean', shape: [W] }] : [{ name: 'x', shape: [W] }];
  const step: StepFn = dae
    ? (m, [noisy, clean]) => tabularReconstructionLoss(m.call(noisy!) as Tensor, clean!, layout)
    : (m, [t]) => tabularReconstructionLoss(m.call(t!) as Tensor, t!, layout);
  await trainLoop(model, inputs, step, n, (idx, rng) => {
    const clean = gatherRows(x, W, idx);
    return dae ? [applyNoise(clean, idx.length, W, model.noise, rng, { groups: layout.categorical, dataset: x, rowIndex: idx }), clean] : [clean];
  }, o);
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

/** Column-wise standardisation fitted on the training rows (constant columns are left centred). */
export function standardise(train: Float32Array, test: Float32Array, width: number): [Float32Array, Float32Array] {
  const n = train.length / width;
  const mean = new Float64Array(width), sd = new Float64Array(width);
  for (let i = 0; i < n; i++) for (let j = 0; j < width; j++) mean[j]! += train[i * width + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < width; j++) sd[j]! += (train[i * width + j]! - mean[j]!) ** 2 / n;
  const f = (x: Float32Array) => x.map((v, k) => { const j = k % width; const s = Math.sqrt(sd[j]!); return s > 1e-8 ? (v - mean[j]!) / s : v - mean[j]!; });
  return [f(train), f(test)];
}

interface HeadOptions {
  epochs: number;
  lr: number;
  mlpLr: number;
  batchSize: number;
  weightDecay: number;
  hidden: number;
  dropout: number;
}

/** Train a head on (xtr, ytr) and return its outputs on xte: class probabilities or values. */
export async function fitPredictHead(kind: HeadKind, task: Task, classes: number, xtr: Float32Array, ytr: Int32Array | Float32Array, xte: Float32Array, width: number, o: HeadOptions, seed: number): Promise<Float32Array> {
  manualSeed(seed);
  const out = task === 'classification' ? classes : 1;
  const model = kind === 'logreg' ? new Sequential(new Linear(width, out)) : new Sequential(new Linear(width, o.hidden), new ReLU(), new Dropout(o.dropout), new Linear(o.hidden, out));
  const n = xtr.length / width;
  const cls = task === 'classification';
  const inputs: InputSpec[] = [{ name: 'x', shape: [width] }, cls ? { name: 'y', shape: [], dtype: 'int64' } : { name: 'y', shape: [1] }];
  const step: StepFn = (m, [x, y]) => {
    const z = m.call(x!) as Tensor;
    return { loss: cls ? crossEntropyLoss(z, y!) : mseLoss(z, y!) };
  };
  await trainLoop(model, inputs, step, n, (idx) => {
    const xb = gatherRows(xtr, width, idx);
    const yb = cls ? BigInt64Array.from(idx, (i) => BigInt(ytr[i]!)) : Float32Array.from(idx, (i) => ytr[i]!);
    return [xb, yb];
  }, { epochs: o.epochs, batchSize: o.batchSize, lr: kind === 'logreg' ? o.lr : o.mlpLr, weightDecay: o.weightDecay, seed });
  const { data } = await predict(model, xte, width, (m, x) => (cls ? (m.call(x) as Tensor).softmax(1) : (m.call(x) as Tensor)));
  return data;
}

function summary(values: number[]): MetricSummary {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(values.length - 1, 1));
  return { mean, std, folds: values };
}

export async function runProbe(o: ProbeOptions): Promise<ProbeResult> {
  const t0 = performance.now();
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const seed = o.seed ?? 0;
  const k = o.folds ?? 5;
  const featureSets = o.features ?? ['raw', 'bottleneck', 'dae'];
  const heads = o.heads ?? ['logreg', 'mlp'];
  const withPca = o.pca ?? true;
  const { table, schema } = await loadTabular({ ...o, exclude: [...(o.exclude ?? []), o.target] });
  const target = encodeTarget(table, o.target, o.task ?? 'auto');
  const n = target.rows.length;
  const nClasses = target.classes?.length ?? 1;
  const folds = kFold(n, k, seed, target.task === 'classification' ? target.y : undefined);
  const ae = { hidden: [64], bottleneck: 8, activation: 'relu' as Activation, epochs: 100, lr: 1e-3, batchSize: 64, ...o.ae };
  const dae = { hidden: [128], bottleneck: 128, activation: 'relu' as Activation, epochs: 100, lr: 1e-3, batchSize: 64, noise: [{ kind: 'swap', p: 0.15 }] as NoiseSpec[], ...o.dae };
  const ho: HeadOptions = { epochs: 200, lr: 3e-3, mlpLr: 1e-3, batchSize: 64, weightDecay: 1e-3, hidden: 64, dropout: 0.2, ...o.head };
  log(`probe: ${table.source}, target ${o.target} (${target.task}${target.classes ? `, ${nClasses} classes` : ''}), ${n} rows${target.dropped ? ` (${target.dropped} without a target dropped)` : ''}, ${k}-fold CV`);

  const scores = new Map<string, { width: number; head: HeadKind; features: string; values: Record<string, number[]> }>();
  const record = (features: string, width: number, head: HeadKind, m: Record<string, number>) => {
    const key = `${features}|${head}`;
    if (!scores.has(key)) scores.set(key, { width, head, features, values: {} });
    const s = scores.get(key)!;
    for (const [name, v] of Object.entries(m)) (s.values[name] ??= []).push(v);
  };
  const reconstruction: Record<string, number[]> = {};
  let inputWidth = 0;
  for (let f = 0; f < k; f++) {
    const testIdx = folds[f]!;
    const trainIdx = complement(n, testIdx);
    const trRows = Int32Array.from(trainIdx, (i) => target.rows[i]!);
    const teRows = Int32Array.from(testIdx, (i) => target.rows[i]!);
    const prep = TabularPreprocessor.fit(table, schema, trRows, o.preprocess);
    const W = (inputWidth = prep.width);
    const xtr = prep.transform(table, trRows), xte = prep.transform(table, teRows);
    const ytr = target.task === 'classification' ? Int32Array.from(trainIdx, (i) => target.y[i]!) : Float32Array.from(trainIdx, (i) => target.y[i]!);
    const yte = target.task === 'classification' ? Int32Array.from(testIdx, (i) => target.y[i]!) : Float32Array.from(testIdx, (i) => target.y[i]!);
    // Regression targets are standardised for training and scored in their own units.
    let yMean = 0, ySd = 1;
    if (target.task === 'regression') {
      const ys = Array.from(ytr);
      yMean = ys.reduce((a, b) => a + b, 0) / ys.length;
      ySd = Math.sqrt(ys.reduce((a, b) => a + (b - yMean) ** 2, 0) / ys.length) || 1;
    }
    const ytrFit = target.task === 'regression' ? Float32Array.from(ytr, (v) => (v - yMean) / ySd) : ytr;

    const sets: { name: string; tr: Float32Array; te: Float32Array; width: number }[] = [];
    if (featureSets.includes('raw')) sets.push({ name: 'raw', tr: xtr, te: xte, width: W });
    const pcaOf = (width: number) => {
      const kk = Math.min(width, W);
      if (sets.some((s) => s.name === `pca-${kk}`)) return;
      const p = pca(xtr, xtr.length / W, W, kk, { seed });
      sets.push({ name: `pca-${kk}`, tr: Float32Array.from(pcaTransform(p, xtr, xtr.length / W)), te: Float32Array.from(pcaTransform(p, xte, xte.length / W)), width: kk });
    };
    if (featureSets.includes('bottleneck')) {
      manualSeed(seed + 100 * f + 1);
      // Default code: 8 numbers, but always narrower than the input (an undercomplete code).
      const code = o.ae?.bottleneck ?? Math.min(ae.bottleneck, Math.max(2, Math.floor(W / 2)));
      const model = MLPAutoencoder.fromConfig({ input: W, hidden: ae.hidden, bottleneck: code, activation: ae.activation, output: 'linear' });
      await fitAutoencoderQuick(model, prep.layout, xtr, { epochs: ae.epochs, batchSize: ae.batchSize, lr: ae.lr, seed: seed + f });
      (reconstruction.bottleneck ??= []).push(await reconstructionLoss(model, prep.layout, xte));
      const tr = await encodeRows(model, xtr, W, 'code'), te = await encodeRows(model, xte, W, 'code');
      if (withPca) pcaOf(tr.size);
      sets.push({ name: `bottleneck-${tr.size}`, tr: tr.data, te: te.data, width: tr.size });
    }
    if (featureSets.includes('dae')) {
      manualSeed(seed + 100 * f + 2);
      const model = DenoisingAutoencoder.fromConfig({ input: W, hidden: dae.hidden, bottleneck: dae.bottleneck, activation: dae.activation, codeActivation: true, output: 'linear', noise: dae.noise, features: dae.features });
      await fitAutoencoderQuick(model, prep.layout, xtr, { epochs: dae.epochs, batchSize: dae.batchSize, lr: dae.lr, seed: seed + f });
      (reconstruction.dae ??= []).push(await reconstructionLoss(model, prep.layout, xte));
      const tr = await encodeRows(model, xtr, W, 'features'), te = await encodeRows(model, xte, W, 'features');
      if (withPca) pcaOf(tr.size);
      sets.push({ name: `dae-${tr.size}`, tr: tr.data, te: te.data, width: tr.size });
    }
    for (const s of sets) {
      // Learned features have arbitrary scales: standardise them. PCA scores keep their
      // variances (no whitening, as scikit-learn's default), so pca-W is raw rotated.
      const [str, ste] = s.name.startsWith('pca') ? [s.tr, s.te] : standardise(s.tr, s.te, s.width);
      for (const head of heads) {
        const out = await fitPredictHead(head, target.task, nClasses, str, ytrFit, ste, s.width, ho, seed + 1000 * f);
        const m = target.task === 'classification'
          ? classificationMetrics(out, yte as Int32Array, nClasses)
          : regressionMetrics(Float32Array.from(out, (v) => v * ySd + yMean), yte);
        record(s.name, s.width, head, m);
      }
    }
    const line = [...scores.values()].map((s) => `${s.features}/${s.head} ${Object.entries(s.values).map(([m, v]) => `${m} ${v[v.length - 1]!.toFixed(3)}`)[0]}`).join(', ');
    log(`fold ${f + 1}/${k}: ${line}`);
  }
  const order = (name: string) => (name === 'raw' ? 0 : name.startsWith('pca') ? 1 : 2);
  const results: ProbeRow[] = [...scores.values()]
    .map((s) => ({ features: s.features, width: s.width, head: s.head, metrics: Object.fromEntries(Object.entries(s.values).map(([m, v]) => [m, summary(v)])) }))
    .sort((a, b) => order(a.features) - order(b.features) || a.width - b.width || heads.indexOf(a.head) - heads.indexOf(b.head));
  return { source: table.source, target: o.target, task: target.task, classes: target.classes, rows: n, droppedRows: target.dropped, inputWidth, folds: k, results, reconstruction, seconds: (performance.now() - t0) / 1000 };
}

/** The side-by-side table: one row per (features, head), mean ± std over folds. */
export function formatProbe(r: ProbeResult): string {
  const metrics = r.task === 'classification' ? ['accuracy', 'auc', 'logloss'] : ['rmse', 'r2'];
  const names: Record<string, string> = { accuracy: 'accuracy', auc: 'ROC AUC', logloss: 'log loss', rmse: 'RMSE', r2: 'R²' };
  const fw = Math.max(10, ...r.results.map((x) => x.features.length));
  const head = `${'features'.padEnd(fw)}  ${'width'.padStart(5)}  ${'head'.padEnd(6)}  ${metrics.map((m) => names[m]!.padEnd(15)).join('  ')}`;
  const rows = r.results.map((x) => `${x.features.padEnd(fw)}  ${String(x.width).padStart(5)}  ${x.head.padEnd(6)}  ${metrics.map((m) => { const s = x.metrics[m]; return (s ? `${s.mean.toFixed(4)} ± ${s.std.toFixed(4)}` : '').padEnd(15); }).join('  ')}`);
  const title = `${r.source}: ${r.target} (${r.task}${r.classes ? `, ${r.classes.length} classes` : ''}), ${r.rows} rows, ${r.inputWidth} preprocessed columns, ${r.folds}-fold CV (mean ± std over folds)`;
  return [title, head, ...rows].join('\n');
}
