// Turning a table into the float matrix a network sees, fitted on the training rows only and
// saved with the model as JSON:
//   numeric      standardise ((x - mean) / std) or RankGauss (rank -> uniform -> inverse normal
//                CDF, as in the Porto Seguro winning solution), missing -> 0 (the training mean)
//   binary       0/1, missing -> the training share of 1s
//   categorical  one-hot over the training categories + an "unknown" slot (unseen values,
//                rare values below minCategoryCount, and missing values go there)
//   missing      one 0/1 indicator per column that had missing values in the training rows
// Output columns are grouped by kind (numeric, binary, missing, then each categorical group),
// so the mixed-type loss needs one slice per kind. NaN never leaves transform().
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../util/atomic.js';
import { cellKey, numericCell, type NumericTransform, type TableSchema } from './schema.js';
import { columnIndex, columnLabel, rowLabel, type RawTable } from './table.js';
import { ColumnStats, type ColumnAccumulator } from './column-stats.js';

export { meanStd } from './column-stats.js';

export interface PreprocessOptions {
  /** Default transform of numeric columns (a column's schema entry may override it). Default 'standard'. */
  numeric?: NumericTransform;
  /** Add a 0/1 indicator for every column with missing training values (default true). */
  missingIndicators?: boolean;
  /** Categories seen fewer times than this in training go to the unknown slot (default 1). */
  minCategoryCount?: number;
  /** At most this many interpolation knots per RankGauss column (default 1000). */
  rankGaussKnots?: number;
}

export type BlockKind = 'numeric' | 'binary' | 'missing' | 'categorical';

/** One source column's slice of the output matrix. */
export interface FeatureBlock {
  column: string;
  kind: BlockKind;
  offset: number;
  size: number;
}

/** Where each kind of feature sits in the output matrix; what the mixed loss needs. */
export interface TabularLayout {
  width: number;
  /** Contiguous ranges [offset, count]. */
  numeric: [number, number];
  binary: [number, number];
  missing: [number, number];
  /** One softmax group per categorical column (its last slot is "unknown"). */
  categorical: { column: string; offset: number; size: number }[];
  blocks: FeatureBlock[];
}

interface NumericState {
  column: string;
  transform: NumericTransform;
  mean: number;
  std: number;
  /** RankGauss knots: training values and their Gaussianised ranks (both increasing). */
  knotsX?: number[];
  knotsZ?: number[];
  /** Subtracted after the transform so training values have mean 0. */
  shift: number;
  /** Value used for a missing cell, in transformed units. */
  fill: number;
}
interface BinaryState {
  column: string;
  categories: [string, string];
  fill: number;
}
interface CategoricalState {
  column: string;
  categories: string[];
  counts: number[];
}

export interface PreprocessorJSON {
  format: 'latentkit.tabular-preprocessor';
  version: 1;
  options: Required<PreprocessOptions>;
  fittedRows: number;
  numeric: NumericState[];
  binary: BinaryState[];
  missing: string[];
  categorical: CategoricalState[];
}

// ---------------- inverse normal CDF (Acklam; relative error < 1.2e-9) ----------------
const A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

/** Φ⁻¹(p): the standard normal quantile, for p in (0, 1). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((C[0]! * q + C[1]!) * q + C[2]!) * q + C[3]!) * q + C[4]!) * q + C[5]!) / ((((D[0]! * q + D[1]!) * q + D[2]!) * q + D[3]!) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5, r = q * q;
  return ((((((A[0]! * r + A[1]!) * r + A[2]!) * r + A[3]!) * r + A[4]!) * r + A[5]!) * q) / (((((B[0]! * r + B[1]!) * r + B[2]!) * r + B[3]!) * r + B[4]!) * r + 1);
}

/** Piecewise-linear interpolation through increasing xs, clamped at both ends. */
function interp(x: number, xs: number[], ys: number[]): number {
  const n = xs.length;
  if (x <= xs[0]!) return ys[0]!;
  if (x >= xs[n - 1]!) return ys[n - 1]!;
  let lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! <= x) lo = mid;
    else hi = mid;
  }
  const t = (x - xs[lo]!) / (xs[hi]! - xs[lo]!);
  return ys[lo]! + t * (ys[hi]! - ys[lo]!);
}

/** RankGauss knots from training values: each distinct value at the normal quantile of its mid-rank. */
export function rankGaussKnots(values: number[], maxKnots = 1000): { x: number[]; z: number[] } {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  const xs: number[] = [], zs: number[] = [];
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && v[j + 1] === v[i]) j++;
    xs.push(v[i]!);
    zs.push(normalQuantile(((i + j) / 2 + 0.5) / n));
    i = j + 1;
  }
  if (xs.length <= maxKnots) return { x: xs, z: zs };
  const k = Math.max(2, maxKnots);
  const pick = Array.from({ length: k }, (_, i) => Math.round((i * (xs.length - 1)) / (k - 1)));
  return { x: pick.map((i) => xs[i]!), z: pick.map((i) => zs[i]!) };
}

export class TabularPreprocessor {
  readonly layout: TabularLayout;
  private constructor(readonly state: PreprocessorJSON) {
    this.layout = buildLayout(state);
  }

  get width(): number {
    return this.layout.width;
  }

  /** Source columns the preprocessor reads. */
  get inputColumns(): string[] {
    const s = this.state;
    return [...s.numeric.map((c) => c.column), ...s.binary.map((c) => c.column), ...s.categorical.map((c) => c.column)];
  }

  /**
   * Model outputs (rows x width raw scores) back in the table's own terms, one value per input
   * column: numbers in the column's original units, binary and categorical columns as their most
   * likely category ('<unknown>' when the unknown slot wins).
   */
  decodeRows(scores: Float32Array, n: number): (number | string)[][] {
    const s = this.state, L = this.layout, W = L.width;
    const rows: (number | string)[][] = [];
    for (let i = 0; i < n; i++) {
      const at = (k: number) => scores[i * W + k]!;
      const row: (number | string)[] = s.numeric.map((ns, j) => this.inverseNumeric(ns.column, at(L.numeric[0] + j)));
      s.binary.forEach((bs, j) => row.push(bs.categories[at(L.binary[0] + j) > 0 ? 1 : 0]!));
      s.categorical.forEach((cs, j) => {
        const g = L.categorical[j]!;
        let best = 0;
        for (let k = 1; k < g.size; k++) if (at(g.offset + k) > at(g.offset + best)) best = k;
        row.push(cs.categories[best] ?? '<unknown>');
      });
      rows.push(row);
    }
    return rows;
  }

  /** A name per output column ("age", "color=red", "color=<unknown>", "age<missing>"). */
  featureNames(): string[] {
    const s = this.state;
    return [
      ...s.numeric.map((c) => c.column),
      ...s.binary.map((c) => c.column),
      ...s.missing.map((c) => `${c}<missing>`),
      ...s.categorical.flatMap((c) => [...c.categories.map((k) => `${c.column}=${k}`), `${c.column}=<unknown>`]),
    ];
  }

  /** Fit on `rows` of `t` (default all rows): only those rows' values are looked at. */
  static fit(t: RawTable, schema: TableSchema, rows?: ArrayLike<number>, opts: PreprocessOptions = {}): TabularPreprocessor {
    return TabularPreprocessor.fitStats(ColumnStats.of(t, rows), schema, opts);
  }

  /**
   * Fit from column statistics (ColumnStats.of a table, or gathered chunk by chunk from a stream):
   * RankGauss knots come from each column's sample, which holds every value unless it was capped.
   */
  static fitStats(stats: ColumnStats, schema: TableSchema, opts: PreprocessOptions = {}): TabularPreprocessor {
    const options: Required<PreprocessOptions> = {
      numeric: opts.numeric ?? 'standard',
      missingIndicators: opts.missingIndicators ?? true,
      minCategoryCount: opts.minCategoryCount ?? 1,
      rankGaussKnots: opts.rankGaussKnots ?? 1000,
    };
    const rowCount = stats.nRows;
    if (!rowCount) throw new Error(`${stats.source}: cannot fit preprocessing on 0 rows`);
    const st: PreprocessorJSON = { format: 'latentkit.tabular-preprocessor', version: 1, options, fittedRows: rowCount, numeric: [], binary: [], missing: [], categorical: [] };
    const keysOf = (name: string, col: ColumnAccumulator) => {
      if (col.keys) return col.keys;
      throw new Error(`${stats.source}: column ${JSON.stringify(name)} has more than ${stats.maxKeys} distinct values, too many to count while streaming; declare it "numeric" or "ignore" in the schema`);
    };
    for (const col of schema.columns) {
      if (col.type === 'ignore') continue;
      const acc = stats.column(col.name);
      let missing = acc.missing;
      if (col.type === 'numeric') {
        // Text or an out-of-range number: the same error (file, line, column) as reading the cell.
        if (acc.firstNonNumber) numericCell(acc.firstNonNumber, stats.columns.indexOf(col.name), 0);
        if (!acc.moments.n) throw new Error(`${stats.source}: column ${JSON.stringify(col.name)} has no values in the ${rowCount} training rows; set it to "ignore" in the schema`);
        const { mean, std: sd } = acc.moments;
        const transform = col.transform ?? options.numeric;
        const s: NumericState = { column: col.name, transform, mean, std: sd > 1e-12 ? sd : 1, shift: 0, fill: 0 };
        if (transform === 'rankgauss') {
          const vals = acc.sample;
          const k = rankGaussKnots(vals, options.rankGaussKnots);
          s.knotsX = k.x;
          s.knotsZ = k.z;
          s.shift = vals.reduce((a, v) => a + interp(v, k.x, k.z), 0) / vals.length;
        }
        // Missing -> the training mean in transformed units: 0, except untransformed columns.
        s.fill = transform === 'none' ? mean : 0;
        st.numeric.push(s);
      } else if (col.type === 'binary') {
        const cats = col.categories as [string, string] | undefined;
        if (!cats || cats.length !== 2) throw new Error(`binary column ${JSON.stringify(col.name)} needs its two categories in the schema`);
        const keys = keysOf(col.name, acc);
        const ones = keys.get(cats[1]) ?? 0;
        const seen = ones + (keys.get(cats[0]) ?? 0);
        // A third value is treated as missing.
        missing = rowCount - seen;
        st.binary.push({ column: col.name, categories: [cats[0], cats[1]], fill: seen ? ones / seen : 0.5 });
      } else {
        const kept = [...keysOf(col.name, acc)].filter(([, n]) => n >= options.minCategoryCount).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
        st.categorical.push({ column: col.name, categories: kept.map(([k]) => k), counts: kept.map(([, n]) => n) });
      }
      if (missing && options.missingIndicators) st.missing.push(col.name);
    }
    if (!st.numeric.length && !st.binary.length && !st.categorical.length) throw new Error(`${stats.source}: no usable columns (all are ignored)`);
    return new TabularPreprocessor(st);
  }

  /** The matrix for `rows` of `t` (default all): rows × width floats, row-major, never NaN. */
  transform(t: RawTable, rows?: ArrayLike<number>): Float32Array {
    const s = this.state, L = this.layout;
    const idx = rows ? Array.from(rows) : Array.from({ length: t.nRows }, (_, i) => i);
    const out = new Float32Array(idx.length * L.width);
    const missingAt = new Map(s.missing.map((c, i) => [c, L.missing[0] + i]));
    const col = (name: string) => columnIndex(t, name);
    s.numeric.forEach((ns, j) => {
      const c = col(ns.column), cells = t.data[c]!, at = L.numeric[0] + j, mi = missingAt.get(ns.column);
      idx.forEach((r, i) => {
        const cell = cells[r]!;
        let v: number;
        if (cell === null) {
          v = ns.fill;
          if (mi !== undefined) out[i * L.width + mi] = 1;
        } else {
          const x = numericCell(t, c, r);
          v = forward(ns, x);
          // The model computes in 32-bit floats: a value beyond their range is named, not turned into Infinity.
          if (!Number.isFinite(Math.fround(v)))
            throw new Error(`${t.source}: ${rowLabel(t, r)}, ${columnLabel(t, c)}: ${x} is ${v} after the ${ns.transform} transform, beyond the 32-bit floats the model computes in (3.4e38); fix or rescale the value, or use the standard or rankgauss transform`);
        }
        out[i * L.width + at] = v;
      });
    });
    s.binary.forEach((bs, j) => {
      const c = col(bs.column), cells = t.data[c]!, at = L.binary[0] + j, mi = missingAt.get(bs.column);
      idx.forEach((r, i) => {
        const cell = cells[r]!;
        const k = cell === null ? undefined : cellKey(cell);
        const v = k === bs.categories[1] ? 1 : k === bs.categories[0] ? 0 : undefined;
        if (v === undefined) {
          // Missing, or a third value never seen in training: impute, flag as missing.
          out[i * L.width + at] = bs.fill;
          if (mi !== undefined) out[i * L.width + mi] = 1;
        } else out[i * L.width + at] = v;
      });
    });
    s.categorical.forEach((cs, j) => {
      const c = col(cs.column), cells = t.data[c]!, g = L.categorical[j]!, mi = missingAt.get(cs.column);
      const pos = new Map(cs.categories.map((k, i) => [k, i]));
      idx.forEach((r, i) => {
        const cell = cells[r]!;
        if (cell === null && mi !== undefined) out[i * L.width + mi] = 1;
        const p = cell === null ? undefined : pos.get(cellKey(cell));
        out[i * L.width + g.offset + (p ?? g.size - 1)] = 1;
      });
    });
    return out;
  }

  /** Which source cells were missing, rows × inputColumns (1 = missing), for error reports. */
  missingMask(t: RawTable, rows?: ArrayLike<number>): Uint8Array {
    const cols = this.inputColumns.map((n) => columnIndex(t, n));
    const idx = rows ? Array.from(rows) : Array.from({ length: t.nRows }, (_, i) => i);
    const out = new Uint8Array(idx.length * cols.length);
    idx.forEach((r, i) => cols.forEach((c, j) => (out[i * cols.length + j] = t.data[c]![r] === null ? 1 : 0)));
    return out;
  }

  /** A numeric column's transformed value back in the column's original units. */
  inverseNumeric(column: string, v: number): number {
    const ns = this.state.numeric.find((c) => c.column === column);
    if (!ns) throw new Error(`no numeric column ${JSON.stringify(column)}`);
    if (ns.transform === 'none') return v;
    if (ns.transform === 'standard') return v * ns.std + ns.mean;
    return interp(v + ns.shift, ns.knotsZ!, ns.knotsX!);
  }

  numericState(column: string): NumericState | undefined {
    return this.state.numeric.find((c) => c.column === column);
  }

  toJSON(): PreprocessorJSON {
    return this.state;
  }

  static fromJSON(j: PreprocessorJSON, source = 'preprocessor'): TabularPreprocessor {
    if (!j || j.format !== 'latentkit.tabular-preprocessor') throw new Error(`${source}: not a latentkit tabular preprocessor (format "${(j as { format?: string } | undefined)?.format}")`);
    if (j.version !== 1) throw new Error(`${source}: preprocessor version ${j.version} is not supported (expected 1)`);
    return new TabularPreprocessor(j);
  }

  save(path: string): void {
    writeFileAtomic(path, JSON.stringify(this.state) + '\n');
  }

  static load(path: string): TabularPreprocessor {
    let j: PreprocessorJSON;
    try {
      j = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`${path}: cannot read preprocessor: ${(e as Error).message}`);
    }
    return TabularPreprocessor.fromJSON(j, path);
  }
}

function forward(ns: NumericState, x: number): number {
  if (ns.transform === 'none') return x;
  if (ns.transform === 'standard') return (x - ns.mean) / ns.std;
  return interp(x, ns.knotsX!, ns.knotsZ!) - ns.shift;
}

function buildLayout(s: PreprocessorJSON): TabularLayout {
  const blocks: FeatureBlock[] = [];
  let at = 0;
  const range = (cols: string[], kind: BlockKind): [number, number] => {
    const start = at;
    for (const column of cols) blocks.push({ column, kind, offset: at++, size: 1 });
    return [start, cols.length];
  };
  const numeric = range(s.numeric.map((c) => c.column), 'numeric');
  const binary = range(s.binary.map((c) => c.column), 'binary');
  const missing = range(s.missing, 'missing');
  const categorical = s.categorical.map((c) => {
    const g = { column: c.column, offset: at, size: c.categories.length + 1 };
    blocks.push({ ...g, kind: 'categorical' });
    at += g.size;
    return g;
  });
  return { width: at, numeric, binary, missing, categorical, blocks };
}
