// One-pass column statistics, added chunk by chunk, for inferring a schema and fitting the
// preprocessor on a table that does not fit in memory:
//   every column  missing count, number-text count, category key counts (capped: a column with
//                 more distinct values than the cap is numeric or an identifier, never a category)
//   numbers       float64 mean and standard deviation merged per chunk (Chan et al.'s parallel
//                 update, in scaled units so 1e300 does not overflow), min and max, and a seeded
//                 reservoir sample for RankGauss quantiles
// A whole table added as one chunk with an unbounded sample gives exactly the in-memory numbers.
import { Rng } from '../../util/random.js';
import { cellKey, cellNumber, inferSchemaFrom, isNumberText, type ColumnSummary, type InferOptions, type TableHead, type TableSchema } from './schema.js';
import { selectRows, type RawTable } from './table.js';

/**
 * Mean and (population) standard deviation in float64, computed on values scaled by the largest
 * magnitude so that squares of huge values (1e300) do not overflow to Infinity.
 */
export function meanStd(vals: ArrayLike<number>): { mean: number; std: number } {
  let scale = 0;
  for (let i = 0; i < vals.length; i++) scale = Math.max(scale, Math.abs(vals[i]!));
  if (scale === 0 || vals.length === 0) return { mean: 0, std: 0 };
  let sum = 0;
  for (let i = 0; i < vals.length; i++) sum += vals[i]! / scale;
  const m = sum / vals.length;
  let sq = 0;
  for (let i = 0; i < vals.length; i++) sq += (vals[i]! / scale - m) ** 2;
  return { mean: m * scale, std: Math.sqrt(sq / vals.length) * scale };
}

/**
 * Distinct keys to count per column for schema inference with `maxCategories`: past this a column
 * is numeric or an identifier, never a category, so counting may stop (at least 1000, so the
 * report of a high-cardinality column still says roughly how many values it has).
 */
export function keyCap(maxCategories = 50): number {
  return Math.max(1000, maxCategories + 1);
}

export interface ColumnStatsOptions {
  /** Reservoir size per numeric column (default 100,000; Infinity keeps every value). */
  sample?: number;
  /** Distinct keys counted per column before counting stops (default 1000). */
  maxKeys?: number;
  /** Seed of the reservoirs. */
  seed?: number;
  /** Gather moments and samples (default true; schema inference needs neither). */
  numeric?: boolean;
}

export interface Moments {
  n: number;
  mean: number;
  std: number;
}

/** Chan et al.'s merge of two (count, mean, population std) summaries, computed in units of the largest magnitude. */
export function mergeMoments(a: Moments, b: Moments): Moments {
  if (b.n === 0) return a;
  if (a.n === 0) return b;
  const s = Math.max(Math.abs(a.mean), Math.abs(b.mean), a.std, b.std);
  if (s === 0) return { n: a.n + b.n, mean: 0, std: 0 };
  const n = a.n + b.n, ma = a.mean / s, mb = b.mean / s, d = mb - ma;
  const m2 = (a.std / s) ** 2 * a.n + (b.std / s) ** 2 * b.n + (d * d * a.n * b.n) / n;
  return { n, mean: (ma + (d * b.n) / n) * s, std: Math.sqrt(m2 / n) * s };
}

export class ColumnAccumulator implements ColumnSummary {
  missing = 0;
  numbers = 0;
  keys: Map<string, number> | undefined = new Map();
  distinct = 0;
  firstText?: RawTable;
  /** The first non-missing cell that is not a finite number, for the preprocessor's error. */
  firstNonNumber?: RawTable;
  moments: Moments = { n: 0, mean: 0, std: 0 };
  min = Infinity;
  max = -Infinity;
  /** Reservoir sample of the numbers (all of them while fewer than the sample size were seen). */
  sample: number[] = [];
  private seen = 0;
  constructor(private readonly rng: Rng, private readonly sampleSize: number, private readonly maxKeys: number) {}

  add(t: RawTable, c: number, rows: ArrayLike<number> | undefined, numeric: boolean): void {
    const cells = t.data[c]!;
    const n = rows ? rows.length : t.nRows;
    const vals: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = rows ? rows[i]! : i;
      const v = cells[r]!;
      if (v === null) {
        this.missing++;
        continue;
      }
      const x = cellNumber(v);
      if (typeof v !== 'boolean' && (x !== undefined || isNumberText(v))) this.numbers++;
      else this.firstText ??= selectRows(t, [r]);
      if (this.keys) this.count(cellKey(v));
      if (!numeric) continue;
      if (x === undefined) this.firstNonNumber ??= selectRows(t, [r]);
      else vals.push(x);
    }
    if (!numeric || !vals.length) return;
    this.moments = mergeMoments(this.moments, { n: vals.length, ...meanStd(vals) });
    for (const x of vals) {
      if (x < this.min) this.min = x;
      if (x > this.max) this.max = x;
      this.keep(x);
    }
  }

  private count(k: string): void {
    const keys = this.keys!;
    const had = keys.get(k);
    if (had !== undefined) keys.set(k, had + 1);
    else if (keys.size < this.maxKeys) {
      keys.set(k, 1);
      this.distinct = keys.size;
    } else {
      // Past the cap the counts say nothing a schema or preprocessor can use: stop counting.
      this.keys = undefined;
      this.distinct = this.maxKeys + 1;
    }
  }

  /** Vitter's algorithm R. */
  private keep(x: number): void {
    this.seen++;
    if (this.sample.length < this.sampleSize) this.sample.push(x);
    else {
      const j = Math.floor(this.rng.uniform() * this.seen);
      if (j < this.sampleSize) this.sample[j] = x;
    }
  }
}

/** Statistics of every column of a table, added one chunk (or one row subset) at a time. */
export class ColumnStats implements TableHead {
  columns: string[] = [];
  nRows = 0;
  cols: ColumnAccumulator[] = [];
  readonly maxKeys: number;
  private readonly o: Required<ColumnStatsOptions>;
  constructor(readonly source: string, o: ColumnStatsOptions = {}) {
    this.o = { sample: o.sample ?? 100_000, maxKeys: o.maxKeys ?? 1000, seed: o.seed ?? 0, numeric: o.numeric ?? true };
    this.maxKeys = this.o.maxKeys;
  }

  /** Add `rows` of a chunk (default all); every chunk must have the first chunk's columns. */
  add(t: RawTable, rows?: ArrayLike<number>): this {
    if (!this.cols.length && !this.nRows) {
      this.columns = t.columns;
      this.cols = t.columns.map((_, c) => new ColumnAccumulator(new Rng(this.o.seed * 7919 + c + 1), this.o.sample, this.o.maxKeys));
    }
    this.cols.forEach((acc, c) => acc.add(t, c, rows, this.o.numeric));
    this.nRows += rows ? rows.length : t.nRows;
    return this;
  }

  /**
   * Per-column summaries of this and other statistics together (e.g. training and validation
   * rows, gathered apart), for schema inference over all rows.
   */
  summaries(other?: ColumnStats): ColumnSummary[] {
    if (!other || !other.cols.length) return this.cols;
    return this.cols.map((a, c) => {
      const b = other.cols[c]!;
      let keys: Map<string, number> | undefined;
      if (a.keys && b.keys) {
        keys = new Map(a.keys);
        for (const [k, n] of b.keys) keys.set(k, (keys.get(k) ?? 0) + n);
        if (keys.size > Math.min(this.maxKeys, other.maxKeys)) keys = undefined;
      }
      const texts = [a.firstText, b.firstText].filter((t) => t !== undefined);
      const firstText = texts.sort((x, y) => x.rowNumbers[0]! - y.rowNumbers[0]!)[0];
      return { missing: a.missing + b.missing, numbers: a.numbers + b.numbers, keys, distinct: keys ? keys.size : Math.max(a.distinct, b.distinct, Math.min(this.maxKeys, other.maxKeys) + 1), ...(firstText ? { firstText } : {}) };
    });
  }

  column(name: string): ColumnAccumulator {
    const c = this.columns.indexOf(name);
    if (c < 0) throw new Error(`${this.source}: no column ${JSON.stringify(name)}; columns are: ${this.columns.map((n) => JSON.stringify(n)).join(', ')}`);
    return this.cols[c]!;
  }

  /** The statistics of a whole table (or some of its rows) in memory: no caps, so nothing is approximate. */
  static of(t: RawTable, rows?: ArrayLike<number>): ColumnStats {
    return new ColumnStats(t.source, { sample: Infinity, maxKeys: Infinity }).add(t, rows);
  }
}

/** A whole table's schema: its column summaries gathered in one pass, nothing capped. */
export function inferSchema(t: RawTable, o: InferOptions = {}): TableSchema {
  return inferSchemaFrom(t, new ColumnStats(t.source, { numeric: false, maxKeys: Infinity }).add(t).summaries(), o);
}
