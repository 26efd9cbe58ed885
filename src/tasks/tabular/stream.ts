// Training on a table that does not fit in memory: one pass gathers the schema, the
// preprocessor's statistics (training rows only) and a bounded set of validation rows; every
// epoch then re-reads the file in chunks, through a shuffle buffer, into the Trainer.
// Rows are assigned to validation by a hash of their index, so no list of row indices is held.
import { epochSeed, type Batch, type BatchSource } from '../../data/loader.js';
import {
  ColumnStats, inferSchemaFrom, keyCap, streamTable, TabularPreprocessor,
  type InferOptions, type RawTable, type StreamOptions, type TableSchema,
} from '../../data/tabular/index.js';
import { concatRows, selectRows } from '../../data/tabular/table.js';
import { makeProgress } from '../../train/progress.js';
import { Rng } from '../../util/random.js';

/** Is row `i` (0-based, in file order) a validation row? A pure function of (seed, i). */
export function isValidationRow(i: number, seed: number, fraction: number): boolean {
  return fraction > 0 && epochSeed(seed + 101, i) / 4294967296 < fraction;
}

/** The rows of a chunk (starting at file row `first`) that a split keeps. */
function splitRows(n: number, first: number, keep: (i: number) => boolean): Int32Array {
  const out = new Int32Array(n);
  let k = 0;
  for (let r = 0; r < n; r++) if (keep(first + r)) out[k++] = r;
  return out.subarray(0, k);
}

export interface StreamSplit {
  seed: number;
  /** Share of rows hashed into validation (0 = none). */
  validFraction: number;
}

export interface StatsPassOptions extends StreamOptions, StreamSplit, Pick<InferOptions, 'overrides' | 'exclude' | 'maxCategories'> {
  /** Validation (or, without validation, training) rows kept in memory for evaluation (default 20,000). */
  maxEvalRows?: number;
  /** Reservoir sample per numeric column for RankGauss (default 100,000). */
  sample?: number;
  progress?: boolean;
  log?: (line: string) => void;
}

export interface StatsPass {
  schema: TableSchema;
  /** Statistics of the training rows (for TabularPreprocessor.fitStats). */
  train: ColumnStats;
  rows: number;
  trainRows: number;
  validRows: number;
  /** Up to maxEvalRows validation rows (training rows when there is no validation split). */
  evalRows: RawTable | undefined;
}

/** One pass over the file: schema (all rows), training-row statistics and evaluation rows. */
export async function statsPass(path: string, o: StatsPassOptions): Promise<StatsPass> {
  // Training and validation rows apart (the preprocessor sees training rows only), together for the schema.
  const maxKeys = keyCap(o.maxCategories);
  const train = new ColumnStats(path, { sample: o.sample, maxKeys, seed: o.seed });
  const valid = new ColumnStats(path, { numeric: false, maxKeys });
  const maxEval = o.maxEvalRows ?? 20_000;
  const evalParts: RawTable[] = [];
  let evalCount = 0, first = 0;
  const isValid = (i: number) => isValidationRow(i, o.seed, o.validFraction);
  const bar = makeProgress(o.progress ?? false);
  bar.start(`statistics of ${path} (per mille)`, 1000, 'rows/s');
  const t0 = performance.now();
  for await (const chunk of streamTable(path, { ...o, onProgress: (done, total) => bar.update(Math.round((1000 * done) / Math.max(total, 1)), { rate: (first / (performance.now() - t0)) * 1000 }) })) {
    const trainIdx = splitRows(chunk.nRows, first, (i) => !isValid(i));
    const validIdx = o.validFraction > 0 ? splitRows(chunk.nRows, first, isValid) : new Int32Array(0);
    train.add(chunk, trainIdx);
    valid.add(chunk, validIdx);
    if (evalCount < maxEval) {
      const idx = o.validFraction > 0 ? validIdx : trainIdx;
      const take = idx.subarray(0, maxEval - evalCount);
      if (take.length) evalParts.push(selectRows(chunk, take));
      evalCount += take.length;
    }
    first += chunk.nRows;
  }
  bar.stop();
  o.log?.(`read ${first} rows of ${path} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const schema = inferSchemaFrom({ source: path, columns: train.columns, nRows: first }, train.summaries(valid), o);
  return { schema, train, rows: first, trainRows: train.nRows, validRows: first - train.nRows, evalRows: evalParts.length ? concatRows(evalParts) : undefined };
}

export interface TableBatchesOptions extends StreamOptions, StreamSplit {
  prep: TabularPreprocessor;
  batchSize: number;
  /** Rows held for shuffling (default 65,536): order is random within a window this wide. */
  shuffleBuffer?: number;
  /** Training rows per epoch, from the statistics pass (sizes the progress bar). */
  rows: number;
}

/** Training batches re-read from the file every epoch, shuffled through a buffer. */
export class TableBatches implements BatchSource {
  readonly batchSize: number;
  readonly rows: number;
  constructor(readonly path: string, private readonly o: TableBatchesOptions) {
    this.batchSize = o.batchSize;
    this.rows = o.rows;
  }

  async *epoch(epoch: number): AsyncGenerator<Batch> {
    const { prep, batchSize: bs, seed, validFraction } = this.o;
    const W = prep.width;
    const cap = Math.max(this.o.shuffleBuffer ?? 65_536, bs);
    const rng = new Rng(epochSeed(seed, epoch));
    const pool = new Float32Array(cap * W), poolRow = new Int32Array(cap);
    let fill = 0;
    // Two alternating batch buffers, as DataLoader: a batch stays valid while the next is used.
    const xs = [new Float32Array(bs * W), new Float32Array(bs * W)], ids = [new Int32Array(bs), new Int32Array(bs)];
    let k = 0, n = 0, emitted = 0;
    const put = (src: Float32Array, at: number, row: number) => {
      xs[k & 1]!.set(src.subarray(at * W, (at + 1) * W), n * W);
      ids[k & 1]![n++] = row;
    };
    const take = (): Batch => {
      const b = { x: xs[k & 1]!.subarray(0, n * W), n, indices: ids[k & 1]!.subarray(0, n) };
      k++;
      emitted += n;
      n = 0;
      return b;
    };
    let first = 0;
    for await (const chunk of streamTable(this.path, this.o)) {
      const idx = splitRows(chunk.nRows, first, (i) => !isValidationRow(i, seed, validFraction));
      const x = prep.transform(chunk, idx);
      for (let i = 0; i < idx.length; i++) {
        const row = first + idx[i]!;
        if (fill < cap) {
          pool.set(x.subarray(i * W, (i + 1) * W), fill * W);
          poolRow[fill++] = row;
          continue;
        }
        // The pool is full: a random pooled row leaves for the batch, the new row takes its place.
        const j = rng.int(cap);
        put(pool, j, poolRow[j]!);
        pool.set(x.subarray(i * W, (i + 1) * W), j * W);
        poolRow[j] = row;
        if (n === bs) yield take();
      }
      first += chunk.nRows;
    }
    // Drain the pool in random order.
    const order = rng.permutation(fill);
    for (let i = 0; i < fill; i++) {
      put(pool, order[i]!, poolRow[order[i]!]!);
      if (n === bs) yield take();
    }
    // A 1-row final batch is dropped (BatchNorm cannot train on one row), as DataLoader's dropLast.
    if (n > 1 || (n === 1 && emitted === 0)) yield take();
  }
}
