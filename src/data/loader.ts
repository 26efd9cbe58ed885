// Mini-batching with reproducible shuffling: epoch e's order depends only on (seed, e), so a
// run resumed at epoch e sees exactly the batches the uninterrupted run would have seen.
import { Rng } from '../util/random.js';
import { sampleSize, type TensorDataset } from './dataset.js';

export interface Batch {
  /**
   * The samples, back to back: exactly n * sampleSize floats. The loader alternates between
   * two buffers, so this array stays valid while the NEXT batch is in use and is overwritten
   * when the batch after that is produced. Copy it if you need to keep it longer.
   */
  x: Float32Array;
  /** Number of samples in this batch (smaller than batchSize only for the final batch). */
  n: number;
  /** Dataset indices of the samples, in batch order (a view into the epoch's permutation). */
  indices: Int32Array;
  /** Labels of the samples when the dataset has labels (same two-buffer lifetime as x). */
  y?: Int32Array;
}

/**
 * What the Trainer reads batches from: a DataLoader over arrays in memory, or a stream (a table
 * re-read in chunks each epoch). `rows` sizes the progress bar; epoch e's batches must depend only
 * on (seed, e) so a resumed run sees what an uninterrupted one would.
 */
export interface BatchSource {
  readonly batchSize: number;
  /** Samples per epoch (an estimate is fine: it only sizes the progress bar). */
  readonly rows: number;
  epoch(epoch: number): Iterable<Batch> | AsyncIterable<Batch>;
}

export interface DataLoaderOptions {
  dataset: TensorDataset;
  batchSize: number;
  /** Shuffle each epoch (default true). Without it every epoch is 0..n-1 in order. */
  shuffle?: boolean;
  seed?: number;
  /** Skip the final batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
}

/** Seed for epoch e: a 32-bit integer hash of (seed, e), so nearby epochs get unrelated streams. */
export function epochSeed(seed: number, epoch: number): number {
  let h = (seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class DataLoader implements BatchSource {
  readonly dataset: TensorDataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;

  constructor(opts: DataLoaderOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
      throw new Error(`DataLoader: batchSize must be a positive integer, got ${opts.batchSize}`);
    }
    this.dataset = opts.dataset;
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
  }

  get rows(): number {
    return this.dataset.length;
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample order of epoch e (a pure function of seed and e). */
  order(epoch: number): Int32Array {
    const n = this.dataset.length;
    if (this.shuffle) return new Rng(epochSeed(this.seed, epoch)).permutation(n);
    return Int32Array.from({ length: n }, (_, i) => i);
  }

  /**
   * Iterate the batches of epoch e. Buffers are allocated once per call (two of them,
   * alternated), never per batch; see Batch.x for how long a yielded buffer stays valid.
   */
  *epoch(epoch: number): Generator<Batch, void, undefined> {
    const ds = this.dataset;
    const order = this.order(epoch);
    const size = sampleSize(ds.sampleShape);
    const bs = this.batchSize;
    const xs = [new Float32Array(bs * size), new Float32Array(bs * size)];
    const labels = ds.labels;
    const ys = labels ? [new Int32Array(bs), new Int32Array(bs)] : undefined;
    let k = 0;
    for (let start = 0; start < order.length; start += bs, k++) {
      const n = Math.min(bs, order.length - start);
      if (n < bs && this.dropLast) return;
      const indices = order.subarray(start, start + n);
      const buf = xs[k & 1]!;
      const x = n === bs ? buf : buf.subarray(0, n * size);
      ds.gather(indices, x);
      let y: Int32Array | undefined;
      if (ys && labels) {
        y = ys[k & 1]!.subarray(0, n);
        for (let j = 0; j < n; j++) y[j] = labels[indices[j]!]!;
      }
      yield y ? { x, n, indices, y } : { x, n, indices };
    }
  }
}

/**
 * Split 0..n-1 into disjoint random parts. `sizes` are fractions when all lie in [0, 1] and
 * sum to 1 (rounded so the parts cover all n), otherwise non-negative integer counts whose
 * sum may be less than n (the rest is left out). Same (n, sizes, seed) → same split.
 */
export function randomSplit(n: number, sizes: number[], seed: number): Int32Array[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`randomSplit: n must be a non-negative integer, got ${n}`);
  const total = sizes.reduce((a, b) => a + b, 0);
  const isFractions = sizes.length > 0 && sizes.every((s) => s >= 0 && s <= 1) && Math.abs(total - 1) < 1e-6;
  let counts: number[];
  if (isFractions) {
    counts = fractionsToCounts(n, sizes);
  } else {
    if (!sizes.every((s) => Number.isInteger(s) && s >= 0)) {
      throw new Error(`randomSplit: sizes must be fractions summing to 1 or non-negative integer counts, got [${sizes}]`);
    }
    if (total > n) throw new Error(`randomSplit: counts [${sizes}] sum to ${total}, more than n=${n}`);
    counts = sizes;
  }
  const perm = new Rng(seed).permutation(n);
  const parts: Int32Array[] = [];
  let at = 0;
  for (const c of counts) {
    parts.push(perm.slice(at, at + c));
    at += c;
  }
  return parts;
}

// Largest-remainder rounding: floors first, then hands the leftover items to the parts
// whose fractional share was cut the most, so counts always sum to exactly n.
function fractionsToCounts(n: number, fractions: number[]): number[] {
  const exact = fractions.map((f) => f * n);
  const counts = exact.map(Math.floor);
  let left = n - counts.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let j = 0; left > 0; j = (j + 1) % byRemainder.length, left--) {
    const i = byRemainder[j]![1];
    counts[i] = counts[i]! + 1;
  }
  return counts;
}
