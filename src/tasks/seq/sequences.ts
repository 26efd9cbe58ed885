// LSTM sequence autoencoders end to end: train on Moving Fashion-MNIST or a CSV time series,
// reload a run, predict, score windows for anomalies and draw sequence strips.
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic.js';
import { dataSource, loadFashionMnist } from '../../data/fashion-mnist.js';
import { arrayDataset } from '../../data/dataset.js';
import { DataLoader, type Batch } from '../../data/loader.js';
import { idDataset, MovingFashionMnist, normalize, readCsvSeries, slidingWindows, splitSeries, type Normalizer, type Windows } from '../../data/sequences.js';
import { buildModel, getPreset, type ModelConfig } from '../../models/index.js';
import { LSTMAutoencoder, sequenceStep } from '../../models/sequence.js';
import { manualSeed } from '../../nn/init.js';
import { makeOptimizer } from '../../optim/optimizer.js';
import { ForwardGraph, ParamStore } from '../../runtime/compile.js';
import { Trainer, withRunLock, type FeedInfo, type TrainResult } from '../../train/trainer.js';
import { parseSchedule } from '../../optim/schedule.js';
import { checkResume, givenSettings, readRunConfig, type Overrides } from '../../train/resume.js';
import { imageGridPng, savePng } from '../../viz/png.js';
import { lossCurves } from '../../viz/plot.js';
import { readRunModel, trialDir, type RunBase } from '../../train/run-folder.js';

/** What a sequence run was trained on (saved as config.json `data`). */
export type SeqDataConfig =
  | { kind: 'moving'; frameSize: number; itemSize?: number; items: number; steps: number; future: number; trainSize: number; validSize: number; seed: number; dataDir?: string; limitImages?: number }
  | { kind: 'csv'; csv: string; columns: string[]; window: number; stride: number; trainFraction: number; norm: Normalizer; splitRow: number }
  | { kind: 'rows'; dataDir?: string };

export interface SeqTrainOptions {
  preset?: string;
  /** lstm-timeseries: the CSV file, its columns (default: all numeric), window, stride, train fraction. */
  csv?: string;
  columns?: string[];
  window?: number;
  stride?: number;
  trainFraction?: number;
  /** lstm-composite-moving: frame side, sequences per epoch, validation sequences, Fashion-MNIST images used. */
  frameSize?: number;
  trainSize?: number;
  validSize?: number;
  limitImages?: number;
  dataDir?: string;
  hidden?: number;
  layers?: number;
  conditional?: boolean;
  futureWeight?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  schedule?: string;
  seed?: number;
  out?: string;
  resume?: boolean;
  steps?: number;
  threads?: number;
  progress?: boolean;
  log?: (line: string) => void;
}

export interface SeqTrainResult extends TrainResult {
  model: LSTMAutoencoder;
  summary: Record<string, number>;
  files: string[];
}

/** Generators for a moving-items config: training items from the train split, validation from test. */
export async function movingGenerators(d: Extract<SeqDataConfig, { kind: 'moving' }>) {
  const src = dataSource(d.dataDir);
  const [tr, te] = await Promise.all([loadFashionMnist('train', { ...src, limit: d.limitImages }), loadFashionMnist('test', { ...src, limit: d.limitImages })]);
  const o = { frameSize: d.frameSize, itemSize: d.itemSize, items: d.items, steps: d.steps, future: d.future };
  return { train: new MovingFashionMnist(tr, { ...o, seed: d.seed }), valid: new MovingFashionMnist(te, { ...o, seed: d.seed + 7919 }) };
}

/** Loader feeds for moving sequences: epoch e, index i → sequence e·trainSize + i (fresh every epoch). */
function movingFeeds(gens: { train: MovingFashionMnist; valid: MovingFashionMnist }, trainSize: number) {
  let bufs: { x: Float32Array; future: Float32Array } | undefined;
  return (batch: Batch, _rng: unknown, info: FeedInfo) => {
    const g = info.training ? gens.train : gens.valid;
    const F = g.frameValues;
    if (!bufs || bufs.x.length < batch.n * g.steps * F) bufs = { x: new Float32Array(batch.n * g.steps * F), future: new Float32Array(batch.n * g.future * F) };
    const ids = Array.from(batch.indices, (i) => (info.training ? info.epoch * trainSize + i : i));
    const x = bufs.x.subarray(0, batch.n * g.steps * F), future = bufs.future.subarray(0, batch.n * g.future * F);
    g.batch(ids, x, future);
    return [x, future];
  };
}

/** A sequence resume: the options the run was trained with (from config.json), plus the allowed overrides. */
function resumeSeqOptions(outDir: string, o: SeqTrainOptions): { o: SeqTrainOptions; run: Record<string, unknown>; overrides: Overrides } {
  const run = readRunConfig(outDir);
  const model = run.model as ModelConfig;
  const data = run.data as Partial<Record<string, unknown>>;
  const runOptions: SeqTrainOptions = {
    preset: model.preset, csv: data.csv as string, columns: data.columns as string[], window: data.window as number, stride: data.stride as number,
    trainFraction: data.trainFraction as number, frameSize: data.frameSize as number, trainSize: data.trainSize as number, validSize: data.validSize as number,
    limitImages: data.limitImages as number, hidden: model.hidden as number, layers: model.layers as number, conditional: model.conditional as boolean,
    futureWeight: model.futureWeight as number, batchSize: run.batchSize as number, schedule: run.schedule as string, seed: run.seed as number,
    epochs: run.epochs as number, lr: run.lr as number,
  };
  const overrides = checkResume(outDir, givenSettings({ ...o }, { ...runOptions }));
  return { o: { ...o, ...runOptions, epochs: o.epochs ?? runOptions.epochs, lr: o.lr ?? runOptions.lr, dataDir: o.dataDir ?? (data.dataDir as string | undefined) }, run, overrides };
}

export async function trainSequenceModel(opts: SeqTrainOptions): Promise<SeqTrainResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const resumed = opts.resume ? resumeSeqOptions(opts.out ?? trialDir('logs', true), opts) : undefined;
  const o = resumed ? { ...resumed.o, out: opts.out ?? trialDir('logs', true) } : opts;
  const presetName = o.preset ?? (o.csv ? 'lstm-timeseries' : 'lstm-composite-moving');
  const preset = getPreset(presetName);
  const seed = o.seed ?? 0;
  const cfg: ModelConfig = { preset: presetName };
  if (o.hidden !== undefined) cfg.hidden = o.hidden;
  if (o.layers !== undefined) cfg.layers = o.layers;
  if (o.conditional !== undefined) cfg.conditional = o.conditional;
  const hp = {
    ...preset.defaults, lr: o.lr ?? preset.defaults.lr, batchSize: o.batchSize ?? preset.defaults.batchSize, epochs: o.epochs ?? preset.defaults.epochs,
    schedule: o.schedule ?? preset.defaults.schedule ?? 'constant',
  };
  let data: SeqDataConfig;
  let trainLoader: DataLoader, validLoader: DataLoader;
  let feeds: ((b: Batch, r: any, i: FeedInfo) => Float32Array[]) | undefined;
  let gens: Awaited<ReturnType<typeof movingGenerators>> | undefined;
  let windows: { train: Windows; valid: Windows } | undefined;
  if (presetName === 'lstm-composite-moving') {
    if (o.csv) throw new Error('--csv goes with --preset lstm-timeseries');
    data = { kind: 'moving', frameSize: o.frameSize ?? 32, items: 2, steps: 10, future: 10, trainSize: o.trainSize ?? 10000, validSize: o.validSize ?? 1000, seed, dataDir: o.dataDir, limitImages: o.limitImages };
    cfg.frameSize = data.frameSize;
    if (o.futureWeight !== undefined) cfg.futureWeight = o.futureWeight;
    gens = await movingGenerators(data);
    trainLoader = new DataLoader({ dataset: idDataset(data.trainSize), batchSize: hp.batchSize, seed });
    validLoader = new DataLoader({ dataset: idDataset(data.validSize), batchSize: hp.batchSize, shuffle: false });
    feeds = movingFeeds(gens, data.trainSize);
  } else if (presetName === 'lstm-timeseries') {
    if (!o.csv) throw new Error('--preset lstm-timeseries needs --csv FILE');
    const series = readCsvSeries(o.csv, o.columns);
    const window = o.window ?? 32, stride = o.stride ?? 1, trainFraction = o.trainFraction ?? 0.7;
    const split = splitSeries(series, { window, stride, trainFraction });
    windows = split;
    data = { kind: 'csv', csv: o.csv, columns: series.columns, window, stride, trainFraction, norm: split.norm, splitRow: split.splitRow };
    cfg.window = window;
    cfg.features = series.columns.length;
    trainLoader = new DataLoader({ dataset: arrayDataset(split.train.data, [window, series.columns.length]), batchSize: hp.batchSize, seed });
    validLoader = new DataLoader({ dataset: arrayDataset(split.valid.data, [window, series.columns.length]), batchSize: hp.batchSize, shuffle: false });
    log(`${o.csv}: ${series.rows} rows, columns ${series.columns.join(', ')}; ${split.train.count} training windows (rows < ${split.splitRow}), ${split.valid.count} validation windows`);
  } else {
    throw new Error(`train-seq trains lstm-composite-moving or lstm-timeseries; for ${presetName} use \`latentkit train --preset ${presetName}\``);
  }
  manualSeed(seed);
  const model = buildModel(cfg) as LSTMAutoencoder;
  const outDir = o.out ?? trialDir('logs', o.resume);
  log(`training ${presetName} (${model.numParameters()} parameters, ${model.conditional ? 'conditional' : 'unconditioned'} decoders${model.future ? `, ${model.future}-frame future predictor` : ''}); lr ${hp.lr}, batch ${hp.batchSize}, ${hp.epochs} epochs -> ${outDir}`);
  // Locked from the first write to the last.
  return withRunLock(outDir, log, async () => {
    const trainer = new Trainer({
      model,
      inputs: preset.inputs!(cfg),
      step: sequenceStep(),
      feeds,
      optimizer: makeOptimizer(hp.optimizer, hp.lr),
      train: trainLoader,
      valid: validLoader,
      epochs: hp.epochs,
      outDir,
      schedule: parseSchedule(hp.schedule, hp.epochs),
      maxSteps: o.steps,
      resume: o.resume,
      progress: o.progress ?? true,
      seed,
      clipGradNorm: 1,
      session: { intraOpThreads: o.threads ?? 1 },
      config: { ...resumed?.run, model: cfg, ...hp, data },
      resumeOverrides: resumed?.overrides,
      log,
    });
    const result = await trainer.fit();
    await trainer.release();
    writeFileAtomic(join(outDir, 'loss.svg'), lossCurves(result.history));
    const files = [join(outDir, '_metrics.json'), join(outDir, 'loss.svg')];
    let summary: Record<string, number> = {};
    if (gens && data.kind === 'moving') {
      summary = await evaluateMoving(model, gens, data.validSize, data.trainSize);
      const strip = join(outDir, 'strip.png');
      savePng(strip, await movingStrip(model, gens.valid, [0, 1, 2, 3]));
      files.push(strip);
    } else if (windows && data.kind === 'csv') {
      const scores = await scoreWindows(model, windows.valid);
      const path = join(outDir, 'scores.csv');
      writeFileAtomic(path, scoresCsv(windows.valid, scores, readCsvSeries(data.csv, data.columns).lines));
      files.push(path);
      summary = { valid_windows: windows.valid.count, mean_score: scores.reduce((a, b) => a + b, 0) / scores.length };
    }
    writeFileAtomic(join(outDir, 'seq_metrics.json'), JSON.stringify(summary, null, 2) + '\n');
    files.push(join(outDir, 'seq_metrics.json'));
    return { ...result, model, summary, files };
  });
}

// ---------------- a trained run ----------------

export interface SeqRun extends RunBase {
  model: LSTMAutoencoder;
  data: SeqDataConfig;
}

/** Rebuild a sequence run's model from config.json and load its checkpoint. */
export function loadSeqRun(dir: string, checkpoint: 'best' | 'last' = 'best'): SeqRun {
  const { config, modelConfig, model } = readRunModel(dir, checkpoint, 'train-seq');
  if (!(model instanceof LSTMAutoencoder)) throw new Error(`${dir}: preset ${modelConfig.preset} is not a sequence model (lstm-rows, lstm-composite-moving, lstm-timeseries)`);
  const data = (config.data as SeqDataConfig | undefined) ?? { kind: 'rows', dataDir: undefined };
  return { dir, model, modelConfig, data, config };
}

export interface SeqPrediction {
  /** Reconstructions in the original order, [n, steps, features]. */
  recon: Float32Array;
  /** Predicted future [n, future, features] (composite models). */
  future?: Float32Array;
  /** Per-sequence reconstruction MSE. */
  score: Float32Array;
}

/** Free-running reconstructions, future predictions and scores for n sequences [n, steps, features]. */
export async function predictSequences(model: LSTMAutoencoder, x: Float32Array, n: number, batchSize = 256): Promise<SeqPrediction> {
  const size = model.steps * model.features;
  if (x.length !== n * size) throw new Error(`expected ${n} sequences of ${model.steps} steps x ${model.features} features (${n * size} values), got ${x.length}`);
  const graph = await ForwardGraph.create(
    model,
    [{ name: 'x', shape: [model.steps, model.features] }],
    (m, [xx]) => {
      const ae = m as LSTMAutoencoder;
      const seq = ae.toSeq(xx!);
      const state = ae.encodeState(seq);
      const rev = ae.reconstructReversed(state, seq);
      const outputs: Record<string, any> = { recon: LSTMAutoencoder.reversed(rev), score: rev.sub(LSTMAutoencoder.reversed(seq)).square().mean([1, 2]) };
      if (ae.future) outputs.future = ae.predictFuture(state, seq);
      return { loss: rev, outputs };
    },
    new ParamStore(model),
    { withLoss: false },
  );
  try {
    const { outputs } = await graph.runRows(x, size, n, batchSize);
    return { recon: outputs.recon ?? new Float32Array(0), future: outputs.future, score: outputs.score ?? new Float32Array(0) };
  } finally {
    await graph.release();
  }
}

/** Per-window anomaly scores (reconstruction MSE); the windows must match the model's shape. */
export async function scoreWindows(model: LSTMAutoencoder, w: Windows): Promise<Float32Array> {
  if (w.window !== model.steps || w.features !== model.features)
    throw new Error(`the model was trained on windows of ${model.steps} steps x ${model.features} features; got ${w.window} steps x ${w.features} features`);
  return (await predictSequences(model, w.data, w.count)).score;
}

export function scoresCsv(w: Windows, scores: ArrayLike<number>, lines?: number[], labels?: ArrayLike<number>): string {
  const head = ['window', 'start_row', 'end_row', ...(lines ? ['start_line', 'end_line'] : []), 'score', ...(labels ? ['label'] : [])];
  const rows = w.starts.map((s, k) => [k, s, s + w.window - 1, ...(lines ? [lines[s], lines[s + w.window - 1]] : []), scores[k]!.toPrecision(6), ...(labels ? [labels[k]] : [])].join(','));
  return [head.join(','), ...rows].join('\n') + '\n';
}

/** Score a CSV file with a time-series run (its columns, normalisation and window). */
export function csvWindowsForRun(run: SeqRun, file: string, stride = 1) {
  if (run.data.kind !== 'csv') throw new Error(`${run.dir}: not a time-series run (trained on ${run.data.kind}); ts-anomaly needs a run of train-seq --csv`);
  const series = readCsvSeries(file, run.data.columns);
  const z = normalize(series.values, run.data.norm);
  return { series, windows: slidingWindows(z, series.columns.length, run.data.window, stride) };
}

// ---------------- moving items: evaluation and figures ----------------

/**
 * Validation MSEs of the composite model next to two baselines: the future as the last input
 * frame repeated, and the reconstruction as the mean training frame.
 */
export async function evaluateMoving(model: LSTMAutoencoder, gens: { train: MovingFashionMnist; valid: MovingFashionMnist }, validSize: number, trainSize: number) {
  const g = gens.valid, F = g.frameValues;
  const ids = Array.from({ length: validSize }, (_, i) => i);
  const { x, future } = g.batch(ids);
  const p = await predictSequences(model, x, validSize);
  const mse = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / a.length;
  // Mean frame over training sequences (inputs and futures).
  const mean = new Float32Array(F);
  const nm = Math.min(trainSize, 1000);
  const tr = gens.train.batch(Array.from({ length: nm }, (_, i) => i));
  for (const arr of [tr.x, tr.future]) for (let i = 0; i < arr.length; i++) mean[i % F]! += arr[i]! / ((nm * (g.steps + g.future)));
  let meanErr = 0, lastErr = 0;
  for (let i = 0; i < x.length; i++) meanErr += (x[i]! - mean[i % F]!) ** 2;
  for (let k = 0; k < validSize; k++) {
    const last = x.subarray((k * g.steps + g.steps - 1) * F, (k * g.steps + g.steps) * F);
    for (let t = 0; t < g.future; t++) for (let j = 0; j < F; j++) lastErr += (future[(k * g.future + t) * F + j]! - last[j]!) ** 2;
  }
  return {
    sequences: validSize,
    recon_mse: mse(p.recon, x),
    recon_mse_mean_frame: meanErr / x.length,
    future_mse: p.future ? mse(p.future, future) : NaN,
    future_mse_repeat_last: lastErr / future.length,
  };
}

/**
 * One strip per sequence, stacked: input frames, the reconstruction shown back in the original
 * order, the true future and the predicted future (rows without data are left blank).
 */
export function sequenceStripPng(rows: { frames: Float32Array; count: number }[], h: number, w: number, cols: number, scale = 2): Buffer {
  const size = h * w;
  const all = new Float32Array(rows.length * cols * size).fill(1);
  rows.forEach((r, i) => all.set(r.frames.subarray(0, Math.min(r.count, cols) * size), i * cols * size));
  return imageGridPng(all, { n: rows.length * cols, channels: 1, height: h, width: w, cols, rows: rows.length, scale, pad: 1, background: 1 });
}

export async function movingStrip(model: LSTMAutoencoder, gen: MovingFashionMnist, ids: number[], scale = 2): Promise<Buffer> {
  const { x, future } = gen.batch(ids);
  const p = await predictSequences(model, x, ids.length);
  const F = gen.frameValues, S = gen.frameSize, T = gen.steps, K = gen.future;
  const rows: { frames: Float32Array; count: number }[] = [];
  ids.forEach((_, k) => {
    rows.push({ frames: x.subarray(k * T * F, (k + 1) * T * F), count: T });
    rows.push({ frames: p.recon.subarray(k * T * F, (k + 1) * T * F), count: T });
    rows.push({ frames: future.subarray(k * K * F, (k + 1) * K * F), count: K });
    if (p.future) rows.push({ frames: p.future.subarray(k * K * F, (k + 1) * K * F), count: K });
  });
  return sequenceStripPng(rows, S, S, Math.max(T, K), scale);
}

/** Time-series windows drawn as features x time images (z-scores mapped by 0.5 + z/6). */
export async function windowStrip(model: LSTMAutoencoder, w: Windows, picks: number[], scale = 4): Promise<Buffer> {
  const size = w.window * w.features;
  const x = new Float32Array(picks.length * size);
  picks.forEach((p, k) => x.set(w.data.subarray(p * size, (p + 1) * size), k * size));
  const pr = await predictSequences(model, x, picks.length);
  const img = (a: Float32Array, k: number) => {
    const out = new Float32Array(size);
    for (let t = 0; t < w.window; t++) for (let f = 0; f < w.features; f++) out[f * w.window + t] = 0.5 + a[k * size + t * w.features + f]! / 6;
    return out;
  };
  const rows = picks.flatMap((_, k) => [{ frames: img(x, k), count: 1 }, { frames: img(pr.recon, k), count: 1 }]);
  return sequenceStripPng(rows, w.features, w.window, 1, scale);
}
