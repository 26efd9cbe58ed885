// Anomaly detection by reconstruction error, with a PyOD-like API: fit() on (mostly) normal
// data sets a threshold from a contamination rate; score() / decisionFunction() give each
// sample's error; predict() flags samples above the threshold. Plus AUROC and average
// precision for labelled data, and per-pixel error maps.
import { writeFileAtomic } from '../../util/atomic.js';
import type { Split } from '../../data/fashion-mnist.js';
import { datasetClassNames, loadRunImages, parseClasses } from '../../data/run-images.js';
import { loadRun, type LoadedRun } from '../../train/run-folder.js';
import { AutoencoderRunner, perSampleMse, type RunnerOptions } from '../../runtime/inference.js';
import { colormap } from '../../viz/colormap.js';
import { encodePng, figureScale } from '../../viz/png.js';
import { auroc, averagePrecision } from '../../metrics/ranking.js';

export { auroc, averagePrecision };

/** The q-quantile (0..1) with linear interpolation between order statistics (numpy's default). */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile: q must be in [0, 1], got ${q}`);
  const s = Float64Array.from(values).sort();
  if (!s.length) return NaN;
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export interface BinaryCounts {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Confusion counts of 0/1 predictions against 0/1 labels (1 = anomaly). */
export function binaryCounts(pred: ArrayLike<number>, labels: ArrayLike<number>): BinaryCounts {
  let tp = 0, fp = 0, tn = 0, fn = 0;
  for (let i = 0; i < pred.length; i++) {
    if (pred[i]) labels[i] ? tp++ : fp++;
    else labels[i] ? fn++ : tn++;
  }
  const precision = tp + fp ? tp / (tp + fp) : NaN;
  const recall = tp + fn ? tp / (tp + fn) : NaN;
  return { tp, fp, tn, fn, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : NaN };
}

export interface DetectorOptions extends RunnerOptions {
  /**
   * Expected fraction of anomalies in the data given to fit(): the threshold is the
   * (1 − contamination) quantile of its scores (PyOD's default 0.1). With clean validation
   * data this is the false-positive rate you accept.
   */
  contamination?: number;
}

export interface PixelErrors {
  /** Per-sample score (mean squared error). */
  scores: Float64Array;
  /** Per-pixel squared error, in the input's layout. */
  errors: Float32Array;
  recon: Float32Array;
}

/** Anomaly scores = reconstruction MSE of each sample under a trained autoencoder. */
export class ReconstructionAnomalyDetector {
  readonly contamination: number;
  /** Score above which a sample is an anomaly (set by fit() or setThreshold()). */
  threshold?: number;
  /** Scores of the data given to fit() (PyOD: decision_scores_). */
  decisionScores?: Float64Array;
  /** 0/1 labels of the data given to fit() (PyOD: labels_). */
  labels?: Uint8Array;
  private readonly runner: AutoencoderRunner;

  constructor(run: Pick<LoadedRun, 'model' | 'inputShape'>, opts: DetectorOptions = {}) {
    this.contamination = opts.contamination ?? 0.1;
    if (!(this.contamination > 0 && this.contamination < 0.5)) throw new Error(`contamination must be in (0, 0.5), got ${this.contamination}`);
    this.runner = AutoencoderRunner.fromRun(run, opts);
  }

  get inputSize(): number {
    return this.runner.inputSize;
  }

  /** Score n samples and set the threshold at their (1 − contamination) quantile. */
  async fit(images: Float32Array, n: number): Promise<this> {
    const s = await this.score(images, n);
    this.fitScores(s);
    return this;
  }

  /** fit() from scores already computed. */
  fitScores(scores: ArrayLike<number>): this {
    if (!scores.length) throw new Error('fit: no samples');
    this.decisionScores = Float64Array.from(scores);
    this.threshold = quantile(this.decisionScores, 1 - this.contamination);
    this.labels = Uint8Array.from(this.decisionScores, (v) => (v > this.threshold! ? 1 : 0));
    return this;
  }

  setThreshold(t: number): this {
    if (!Number.isFinite(t)) throw new Error(`threshold must be a finite number, got ${t}`);
    this.threshold = t;
    return this;
  }

  /** Anomaly score of each sample: its reconstruction MSE (higher = more anomalous). */
  async score(images: Float32Array, n: number): Promise<Float64Array> {
    return (await this.pixelErrors(images, n)).scores;
  }

  /** PyOD's name for score(). */
  decisionFunction(images: Float32Array, n: number): Promise<Float64Array> {
    return this.score(images, n);
  }

  /** 1 for samples scoring above the threshold, else 0. */
  async predict(images: Float32Array, n: number): Promise<Uint8Array> {
    return this.predictScores(await this.score(images, n));
  }

  predictScores(scores: ArrayLike<number>): Uint8Array {
    if (this.threshold === undefined) throw new Error('predict: no threshold; call fit() or setThreshold() first');
    return Uint8Array.from(scores, (v) => (v > this.threshold! ? 1 : 0));
  }

  /** Scores plus per-pixel squared errors and reconstructions. */
  async pixelErrors(images: Float32Array, n: number): Promise<PixelErrors> {
    const { recon } = await this.runner.forward(images, n);
    const size = this.runner.inputSize;
    const errors = new Float32Array(n * size);
    for (let i = 0; i < n * size; i++) errors[i] = (images[i]! - recon[i]!) ** 2;
    return { scores: perSampleMse(images, recon, n, size), errors, recon };
  }

  release(): Promise<void> {
    return this.runner.release();
  }
}

export interface AnomalyFigureOptions {
  h: number;
  w: number;
  /** Channels of the images, 1 (gray) or 3 (RGB); default 1. */
  channels?: 1 | 3;
  /** Pixel magnification (default 3). */
  scale?: number;
  /** Upper end of the error colour scale (default the largest error shown). */
  maxError?: number;
}

/**
 * n columns: the image, its reconstruction (gray or colour, as the input) and the per-pixel
 * squared error (averaged over channels; viridis, one scale for the whole figure) stacked
 * vertically. `images`, `recon` and `errors` are n x C x H x W.
 */
export function anomalyFigure(images: Float32Array, recon: Float32Array, errors: Float32Array, n: number, opts: AnomalyFigureOptions): Buffer {
  const { h, w } = opts;
  const c = opts.channels ?? 1;
  const scale = opts.scale ?? 3;
  const pad = 2;
  const plane = h * w;
  const size = c * plane;
  // One error value per pixel: the mean over channels.
  const pixErr = new Float32Array(n * plane);
  for (let i = 0; i < n; i++) for (let p = 0; p < plane; p++) {
    let e = 0;
    for (let ch = 0; ch < c; ch++) e += errors[i * size + ch * plane + p]!;
    pixErr[i * plane + p] = e / c;
  }
  let maxErr = opts.maxError ?? 0;
  if (opts.maxError === undefined) for (const e of pixErr) if (e > maxErr) maxErr = e;
  const W = n * w * scale + (n + 1) * pad;
  const H = 3 * h * scale + 4 * pad;
  const out = new Uint8Array(W * H * 3).fill(255);
  const byte = (v: number) => Math.round(Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * 255);
  const colourAt = (a: Float32Array, i: number, p: number): [number, number, number] => {
    const r = byte(a[i * size + p]!);
    return c === 1 ? [r, r, r] : [r, byte(a[i * size + plane + p]!), byte(a[i * size + 2 * plane + p]!)];
  };
  for (let i = 0; i < n; i++) {
    const x0 = pad + i * (w * scale + pad);
    for (let row = 0; row < 3; row++) {
      const y0 = pad + row * (h * scale + pad);
      for (let y = 0; y < h * scale; y++)
        for (let x = 0; x < w * scale; x++) {
          const p = Math.floor(y / scale) * w + Math.floor(x / scale);
          const px = row === 0 ? colourAt(images, i, p) : row === 1 ? colourAt(recon, i, p) : colormap('viridis', maxErr > 0 ? pixErr[i * plane + p]! / maxErr : 0);
          out.set(px, ((y0 + y) * W + x0 + x) * 3);
        }
    }
  }
  return encodePng(out, W, H, 3);
}

// ---------------------------------------------------------------------------------------------
// The anomaly command as a function.

export interface AnomalyRunOptions {
  split?: Split;
  limit?: number;
  dataDir?: string;
  checkpoint?: 'best' | 'last';
  /**
   * Normal classes (indices, or a list like "7" / "sneaker,ankle-boot"): the others are the
   * anomalies AUROC and AP are computed for. Default: the classes the run trained on, if any.
   */
  normal?: number[] | string;
  /**
   * Where the threshold comes from: 'self' fits on the scored data (contamination = the
   * expected anomaly fraction in it); 'valid' fits on normal validation images from the train
   * split (contamination = the accepted false-positive rate). Default 'valid'.
   */
  fit?: 'self' | 'valid';
  contamination?: number;
  /** First train-split index of the validation images (default: the first the run did not train on). */
  validStart?: number;
  /** Number of train-split images to take the validation set from (default 2000). */
  validCount?: number;
  /** A fixed threshold (overrides fit). */
  threshold?: number;
  /** Write id,label,score,anomaly[,truth] rows here. */
  csv?: string;
  /** Write the most anomalous samples (image, reconstruction, per-pixel error) here. */
  heatmap?: string;
  /** Number of samples in the heat map (default 10). */
  top?: number;
  batchSize?: number;
}

export interface AnomalyRunResult {
  n: number;
  split: Split;
  threshold: number;
  thresholdFrom: 'fixed' | 'self' | 'valid';
  contamination: number;
  /** Validation images the threshold was fitted on ('valid'). */
  valid?: { start: number; count: number; seenInTraining: boolean };
  flagged: number;
  scores: Float64Array;
  predictions: Uint8Array;
  ids: Int32Array;
  classLabels: Uint8Array;
  /** With `normal`: 1 for samples outside the normal classes. */
  truth?: Uint8Array;
  auroc?: number;
  averagePrecision?: number;
  counts?: BinaryCounts;
  /** Ids shown in the heat map, most anomalous first. */
  top?: number[];
  /** The normal classes used (from --normal or the run's classes). */
  normal?: number[];
  /** Things worth knowing about the numbers (e.g. the run saw the anomalous classes in training). */
  warnings: string[];
}

/** The index just after the n-th (1-based) label in `classes`, or labels.length. */
function afterNth(labels: Uint8Array, classes: Set<number>, n: number): number {
  let seen = 0;
  for (let i = 0; i < labels.length; i++) if (classes.has(labels[i]!) && ++seen === n) return i + 1;
  return labels.length;
}

export async function anomalyRun(runDir: string, o: AnomalyRunOptions = {}): Promise<AnomalyRunResult> {
  const run = loadRun(runDir, o.checkpoint ?? 'best');
  const split = o.split ?? 'test';
  const runClasses = run.config.classes as number[] | undefined;
  const warnings: string[] = [];
  const normalList = typeof o.normal === 'string' ? parseClasses(o.normal, datasetClassNames(run.config.dataset as string | undefined), '--normal') : (o.normal ?? runClasses);
  if (normalList && !runClasses)
    warnings.push(`the run was trained on every class, anomalies included, so its reconstruction error says little about them; train on the normal classes first: latentkit train --classes ${normalList.join(',')}`);
  else if (normalList && runClasses && normalList.join(',') !== runClasses.join(','))
    warnings.push(`the run was trained on classes ${runClasses.join(',')}, not on the normal classes ${normalList.join(',')}`);
  // Every class is scored: the ones the run did not train on are what it should flag.
  const data = await loadRunImages(run.config, run.inputShape, { split, limit: o.limit, dataDir: o.dataDir, classes: 'all' });
  const [c, h, w] = data.shape;
  const det = new ReconstructionAnomalyDetector(run, { contamination: o.contamination, batchSize: o.batchSize });
  const normal = normalList ? new Set(normalList) : undefined;
  try {
    const px = await det.pixelErrors(data.images, data.n);
    let thresholdFrom: AnomalyRunResult['thresholdFrom'];
    let valid: AnomalyRunResult['valid'];
    if (o.threshold !== undefined) {
      det.setThreshold(o.threshold);
      thresholdFrom = 'fixed';
    } else if ((o.fit ?? 'valid') === 'self') {
      det.fitScores(px.scores);
      thresholdFrom = 'self';
    } else {
      const trained = typeof run.config.limitTrain === 'number' ? (run.config.limitTrain as number) : undefined;
      const count = o.validCount ?? 2000;
      // With a class selection the run read the train split further than limitTrain images.
      const train = await loadRunImages(run.config, run.inputShape, { split: 'train', dataDir: o.dataDir, classes: 'all', limit: o.validStart !== undefined || !runClasses ? (o.validStart ?? trained ?? 0) + count : undefined });
      const start = o.validStart ?? (trained === undefined ? 0 : runClasses ? afterNth(train.labels, new Set(runClasses), trained) : trained);
      const end = Math.min(train.n, start + count);
      if (train.n <= start) throw new Error(`the validation images start at train index ${start}, but the train split has ${train.n}; pass a smaller validStart (--valid-start)`);
      const size = c * h * w;
      const keep: number[] = [];
      for (let i = start; i < end; i++) if (!normal || normal.has(train.labels[i]!)) keep.push(i);
      if (!keep.length) throw new Error(`no images of the normal classes among train images ${start}..${end - 1}`);
      const imgs = new Float32Array(keep.length * size);
      keep.forEach((i, k) => imgs.set(train.images.subarray(i * size, (i + 1) * size), k * size));
      await det.fit(imgs, keep.length);
      thresholdFrom = 'valid';
      valid = { start, count: keep.length, seenInTraining: trained === undefined || start < trained };
    }
    const predictions = det.predictScores(px.scores);
    const res: AnomalyRunResult = {
      n: data.n,
      split,
      threshold: det.threshold!,
      thresholdFrom,
      contamination: det.contamination,
      valid,
      flagged: predictions.reduce((a, b) => a + b, 0),
      scores: px.scores,
      predictions,
      ids: Int32Array.from({ length: data.n }, (_, i) => i),
      classLabels: data.labels,
      normal: normalList,
      warnings,
    };
    if (normal) {
      const truth = Uint8Array.from(data.labels, (l) => (normal.has(l) ? 0 : 1));
      res.truth = truth;
      res.auroc = auroc(px.scores, truth);
      res.averagePrecision = averagePrecision(px.scores, truth);
      res.counts = binaryCounts(predictions, truth);
    }
    if (o.csv) writeFileAtomic(o.csv, anomalyCsv(res));
    if (o.heatmap) {
      const top = Array.from({ length: data.n }, (_, i) => i).sort((a, b) => px.scores[b]! - px.scores[a]!).slice(0, Math.max(1, o.top ?? 10));
      const size = c * h * w;
      const pick = (a: Float32Array) => {
        const out = new Float32Array(top.length * size);
        top.forEach((id, k) => out.set(a.subarray(id * size, (id + 1) * size), k * size));
        return out;
      };
      writeFileAtomic(o.heatmap, anomalyFigure(pick(data.images), pick(px.recon), pick(px.errors), top.length, { h, w, channels: c as 1 | 3, scale: figureScale(h) }));
      res.top = top;
    }
    return res;
  } finally {
    await det.release();
  }
}

/** One row per scored sample: id,label,score,anomaly[,truth]. */
export function anomalyCsv(r: Pick<AnomalyRunResult, 'scores' | 'predictions' | 'classLabels' | 'truth'>): string {
  const lines = [r.truth ? 'id,label,score,anomaly,truth' : 'id,label,score,anomaly'];
  for (let i = 0; i < r.scores.length; i++) lines.push(`${i},${r.classLabels[i]},${r.scores[i]!.toPrecision(8)},${r.predictions[i]}${r.truth ? `,${r.truth[i]}` : ''}`);
  return lines.join('\n') + '\n';
}
