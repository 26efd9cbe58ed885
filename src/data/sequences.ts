// Sequence data for the LSTM autoencoders: Moving Fashion-MNIST (the recipe of Srivastava et
// al. 2015 with Fashion-MNIST items), Fashion-MNIST images read row by row, and CSV time
// series cut into normalised sliding windows, plus seeded anomaly injection and AUROC.
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { Rng } from '../util/random.js';
import { arrayDataset, type ImageSet, type TensorDataset } from './dataset.js';
import { epochSeed } from './loader.js';

// ---------------- Moving Fashion-MNIST ----------------

export interface MovingOptions {
  /** Side of the square frame in pixels (default 32; the paper uses 64). */
  frameSize?: number;
  /** Side of each item after downscaling the 28x28 images (default round(28 · frameSize / 64)). */
  itemSize?: number;
  /** Items per sequence (default 2). */
  items?: number;
  /** Input frames (default 10). */
  steps?: number;
  /** Future frames after the input (default 10). */
  future?: number;
  /** Speed range in pixels per frame (default [frameSize/32, frameSize/16]·1.5). */
  speed?: [number, number];
  seed?: number;
}

/** One item's path: integer top-left corners, one per frame. */
export interface Trajectory {
  image: number;
  x: number[];
  y: number[];
}

/** Area (box) resampling of a square image side `from` to side `to`, values preserved in range. */
export function resizeSquare(src: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return Float32Array.from(src);
  // w[i][k]: fraction of target cell i covered by source pixel k.
  const w: number[][] = [];
  const r = from / to;
  for (let i = 0; i < to; i++) {
    const lo = i * r, hi = (i + 1) * r;
    const row = new Array<number>(from).fill(0);
    for (let k = Math.floor(lo); k < Math.min(from, Math.ceil(hi)); k++) row[k] = (Math.min(hi, k + 1) - Math.max(lo, k)) / r;
    w.push(row);
  }
  const out = new Float32Array(to * to);
  for (let i = 0; i < to; i++)
    for (let j = 0; j < to; j++) {
      let s = 0;
      for (let a = 0; a < from; a++) {
        const wa = w[i]![a]!;
        if (!wa) continue;
        for (let b = 0; b < from; b++) if (w[j]![b]) s += wa * w[j]![b]! * src[a * from + b]!;
      }
      out[i * to + j] = Math.min(1, Math.max(0, s));
    }
  return out;
}

/**
 * Unlimited seeded Moving Fashion-MNIST: each sequence id gives `items` Fashion-MNIST images
 * bouncing inside the frame (random start and velocity, reflected at the borders), overlaps
 * merged with max. Sequence `id` depends only on (seed, id).
 */
export class MovingFashionMnist {
  readonly frameSize: number;
  readonly itemSize: number;
  readonly items: number;
  readonly steps: number;
  readonly future: number;
  readonly speed: [number, number];
  readonly seed: number;
  private readonly sprites: Float32Array[];

  constructor(images: ImageSet | { images: Float32Array; n: number }, opts: MovingOptions = {}) {
    this.frameSize = opts.frameSize ?? 32;
    this.itemSize = opts.itemSize ?? Math.round((28 * this.frameSize) / 64);
    this.items = opts.items ?? 2;
    this.steps = opts.steps ?? 10;
    this.future = opts.future ?? 10;
    const base = this.frameSize / 32;
    this.speed = opts.speed ?? [1.5 * base, 3 * base];
    this.seed = opts.seed ?? 0;
    if (!(this.itemSize >= 1 && this.itemSize <= this.frameSize)) throw new Error(`MovingFashionMnist: item size ${this.itemSize} must be in [1, frame size ${this.frameSize}]`);
    if (images.n < 1) throw new Error('MovingFashionMnist: need at least one image');
    this.sprites = [];
    for (let i = 0; i < images.n; i++) this.sprites.push(resizeSquare(images.images.subarray(i * 784, (i + 1) * 784), 28, this.itemSize));
  }

  /** Frames per sequence (input + future). */
  get length(): number {
    return this.steps + this.future;
  }
  get frameValues(): number {
    return this.frameSize * this.frameSize;
  }

  /** The items' paths for sequence `id`. */
  trajectories(id: number): Trajectory[] {
    const rng = new Rng(epochSeed(this.seed, id));
    const lim = this.frameSize - this.itemSize;
    const out: Trajectory[] = [];
    for (let k = 0; k < this.items; k++) {
      const image = rng.int(this.sprites.length);
      let x = rng.uniform() * lim, y = rng.uniform() * lim;
      const theta = rng.uniform() * 2 * Math.PI;
      const v = this.speed[0] + rng.uniform() * (this.speed[1] - this.speed[0]);
      let vx = v * Math.cos(theta), vy = v * Math.sin(theta);
      const t: Trajectory = { image, x: [], y: [] };
      for (let f = 0; f < this.length; f++) {
        t.x.push(Math.round(x));
        t.y.push(Math.round(y));
        [x, vx] = bounce(x + vx, vx, lim);
        [y, vy] = bounce(y + vy, vy, lim);
      }
      out.push(t);
    }
    return out;
  }

  /** Write sequence `id` ([length, frameSize, frameSize], values in [0, 1]) into out at offset. */
  render(id: number, out: Float32Array, offset = 0): void {
    const S = this.frameSize, s = this.itemSize, F = S * S;
    out.fill(0, offset, offset + this.length * F);
    for (const t of this.trajectories(id)) {
      const sp = this.sprites[t.image]!;
      for (let f = 0; f < this.length; f++) {
        const o = offset + f * F + t.y[f]! * S + t.x[f]!;
        for (let a = 0; a < s; a++)
          for (let b = 0; b < s; b++) {
            const p = o + a * S + b;
            const v = sp[a * s + b]!;
            if (v > out[p]!) out[p] = v;
          }
      }
    }
  }

  /** Sequences `ids` split into input [n, steps, F] and future [n, future, F] arrays. */
  batch(ids: ArrayLike<number>, x?: Float32Array, future?: Float32Array): { x: Float32Array; future: Float32Array } {
    const F = this.frameValues, n = ids.length;
    const xs = x ?? new Float32Array(n * this.steps * F);
    const fs = future ?? new Float32Array(n * this.future * F);
    const tmp = new Float32Array(this.length * F);
    for (let k = 0; k < n; k++) {
      this.render(ids[k]!, tmp);
      xs.set(tmp.subarray(0, this.steps * F), k * this.steps * F);
      fs.set(tmp.subarray(this.steps * F), k * this.future * F);
    }
    return { x: xs, future: fs };
  }
}

function bounce(p: number, v: number, lim: number): [number, number] {
  if (lim <= 0) return [0, 0];
  // Reflect until inside (a step larger than the frame reflects more than once).
  for (let i = 0; i < 8 && (p < 0 || p > lim); i++) {
    if (p < 0) { p = -p; v = -v; }
    else if (p > lim) { p = 2 * lim - p; v = -v; }
  }
  return [Math.min(lim, Math.max(0, p)), v];
}

/** A dataset of sequence ids 0..n-1 (the loader's indices; frames are generated in `feeds`). */
export function idDataset(n: number): TensorDataset {
  return {
    length: n,
    sampleShape: [1],
    gather(indices, out) {
      for (let k = 0; k < indices.length; k++) out[k] = indices[k]!;
    },
  };
}

// ---------------- Fashion-MNIST rows ----------------

/** Fashion-MNIST images as sequences of their rows: samples [28 steps, 28 features]. */
export function rowSequences(set: ImageSet): TensorDataset {
  const [c, h, w] = set.shape;
  if (c !== 1) throw new Error(`rowSequences: expected single-channel images, got [${set.shape}]`);
  return arrayDataset(set.images, [h, w], set.labels);
}

// ---------------- CSV time series ----------------

export interface CsvSeries {
  file: string;
  columns: string[];
  /** rows x features, row-major. */
  values: Float32Array;
  rows: number;
  /** 1-based line of each row in the file. */
  lines: number[];
}

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Read numeric columns of a CSV file with a header row. `columns`: the ones to use (default:
 * every column whose first data value is numeric). A missing column or a missing or
 * non-numeric value is an error naming the file, line and column.
 */
export function readCsvSeries(file: string, columns?: string[]): CsvSeries {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as Error).message})`);
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { info: true, relax_column_count: true, skip_empty_lines: true, trim: true, bom: true }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) {
    throw new Error(`${file}: not valid CSV: ${(e as Error).message}`);
  }
  if (records.length < 2) throw new Error(`${file}: need a header line and at least one data line`);
  const header = records[0]!.record;
  const headerLine = records[0]!.info.lines;
  const data = records.slice(1);
  let chosen: string[];
  if (columns?.length) {
    for (const c of columns)
      if (!header.includes(c)) throw new Error(`${file}:${headerLine}: column "${c}" is missing; the header has: ${header.join(', ')}`);
    chosen = columns;
  } else {
    chosen = header.filter((_, j) => NUMERIC.test(data[0]!.record[j] ?? ''));
    if (!chosen.length) throw new Error(`${file}:${data[0]!.info.lines}: no numeric column found; columns: ${header.join(', ')}`);
  }
  const idx = chosen.map((c) => header.indexOf(c));
  const F = chosen.length;
  const values = new Float32Array(data.length * F);
  const lines: number[] = [];
  data.forEach(({ record, info }, r) => {
    idx.forEach((j, f) => {
      const raw = record[j];
      if (raw === undefined || raw === '' || /^(na|nan|null)$/i.test(raw))
        throw new Error(`${file}:${info.lines}: column "${chosen[f]}" (column ${j + 1}) has a missing value`);
      if (!NUMERIC.test(raw)) throw new Error(`${file}:${info.lines}: column "${chosen[f]}" (column ${j + 1}) is not numeric: "${raw}"`);
      values[r * F + f] = Number(raw);
    });
    lines.push(info.lines);
  });
  return { file, columns: chosen, values, rows: data.length, lines };
}

export interface Normalizer {
  mean: number[];
  std: number[];
}

/** Per-feature mean and standard deviation of rows [from, to) (fit on the training split only). */
export function fitNormalizer(values: Float32Array, features: number, from = 0, to = values.length / features): Normalizer {
  if (to <= from) throw new Error('fitNormalizer: empty range');
  const mean = new Array<number>(features).fill(0), std = new Array<number>(features).fill(0);
  const n = to - from;
  for (let r = from; r < to; r++) for (let f = 0; f < features; f++) mean[f]! += values[r * features + f]! / n;
  for (let r = from; r < to; r++) for (let f = 0; f < features; f++) std[f]! += (values[r * features + f]! - mean[f]!) ** 2 / n;
  return { mean, std: std.map((v) => (v > 1e-12 ? Math.sqrt(v) : 1)) };
}

export function normalize(values: Float32Array, norm: Normalizer): Float32Array {
  const F = norm.mean.length;
  return values.map((v, i) => (v - norm.mean[i % F]!) / norm.std[i % F]!);
}

export interface Windows {
  /** [count, window, features] back to back. */
  data: Float32Array;
  count: number;
  /** First row of each window. */
  starts: number[];
  window: number;
  features: number;
}

/** Sliding windows over rows [from, to) of a rows x features array. */
export function slidingWindows(values: Float32Array, features: number, window: number, stride = 1, from = 0, to = values.length / features): Windows {
  if (!Number.isInteger(window) || window < 1) throw new Error(`slidingWindows: window must be a positive integer, got ${window}`);
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`slidingWindows: stride must be a positive integer, got ${stride}`);
  const starts: number[] = [];
  for (let s = from; s + window <= to; s += stride) starts.push(s);
  if (!starts.length) throw new Error(`slidingWindows: ${to - from} rows are fewer than one window of ${window}`);
  const size = window * features;
  const data = new Float32Array(starts.length * size);
  starts.forEach((s, k) => data.set(values.subarray(s * features, s * features + size), k * size));
  return { data, count: starts.length, starts, window, features };
}

export interface SeriesSplit {
  norm: Normalizer;
  train: Windows;
  valid: Windows;
  /** First row of the validation part. */
  splitRow: number;
}

/**
 * Chronological split (the first trainFraction of rows train, the rest validate), normaliser
 * fitted on the training rows only, and sliding windows cut inside each part.
 */
export function splitSeries(series: { values: Float32Array; rows: number; columns: string[] }, o: { window: number; stride?: number; trainFraction?: number }): SeriesSplit {
  const F = series.columns.length;
  const splitRow = Math.round(series.rows * (o.trainFraction ?? 0.7));
  if (splitRow < o.window || series.rows - splitRow < o.window)
    throw new Error(`${series.rows} rows split at ${splitRow} leave a part shorter than one window of ${o.window}`);
  const norm = fitNormalizer(series.values, F, 0, splitRow);
  const z = normalize(series.values, norm);
  return {
    norm,
    splitRow,
    train: slidingWindows(z, F, o.window, o.stride ?? 1, 0, splitRow),
    valid: slidingWindows(z, F, o.window, o.stride ?? 1, splitRow, series.rows),
  };
}

export interface InjectOptions {
  /** Number of anomalous segments (default 8). */
  count?: number;
  /** Rows per segment (default 5). */
  length?: number;
  /** Offset size in units of the feature's std (default 3). */
  magnitude?: number;
  /** Rows eligible: [from, to). */
  from?: number;
  to?: number;
  seed?: number;
}

/**
 * Seeded anomaly injection, in place. For each of `count` segments (non-overlapping, at
 * seeded random positions in [from, to)): pick a feature and a kind in turn — 'shift' (add
 * ±magnitude·std to every row of the segment), 'spike' (add ±2·magnitude·std to its middle
 * row only) or 'flat' (hold the feature at its segment-start value plus magnitude·std). The
 * std is the per-feature std of `norm`. Returns per-row labels (1 = injected).
 */
export function injectAnomalies(values: Float32Array, features: number, norm: Normalizer, o: InjectOptions = {}): { labels: Uint8Array; segments: { start: number; feature: number; kind: string }[] } {
  const rows = values.length / features;
  const count = o.count ?? 8, len = o.length ?? 5, mag = o.magnitude ?? 3;
  const from = o.from ?? 0, to = o.to ?? rows;
  const rng = new Rng(o.seed ?? 0);
  const labels = new Uint8Array(rows);
  const segments: { start: number; feature: number; kind: string }[] = [];
  const kinds = ['shift', 'spike', 'flat'];
  for (let k = 0, tries = 0; k < count && tries < 1000; tries++) {
    const start = from + rng.int(to - from - len);
    let clash = false;
    for (let r = Math.max(0, start - len); r < Math.min(rows, start + 2 * len); r++) if (labels[r]) clash = true;
    if (clash) continue;
    const f = rng.int(features);
    const sign = rng.uniform() < 0.5 ? -1 : 1;
    const kind = kinds[k % kinds.length]!;
    const sd = norm.std[f]!;
    const first = values[start * features + f]!;
    for (let r = start; r < start + len; r++) {
      const i = r * features + f;
      if (kind === 'shift') values[i] = values[i]! + sign * mag * sd;
      else if (kind === 'spike') { if (r === start + (len >> 1)) values[i] = values[i]! + sign * 2 * mag * sd; }
      else values[i] = first + mag * sd;
      labels[r] = 1;
    }
    segments.push({ start, feature: f, kind });
    k++;
  }
  return { labels, segments };
}

/** A window is anomalous (1) when any of its rows is. */
export function windowLabels(rowLabels: ArrayLike<number>, starts: number[], window: number): Uint8Array {
  return Uint8Array.from(starts, (s) => {
    for (let r = s; r < s + window; r++) if (rowLabels[r]) return 1;
    return 0;
  });
}
