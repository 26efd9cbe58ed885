// Per-column reconstruction error: which columns an autoencoder reproduces well and which it
// does not (the usual first look at a tabular autoencoder, and the basis of per-column anomaly
// explanations). Cells that were missing in the source are left out.
import { decodeTabularOutput } from './loss.js';
import type { TabularPreprocessor } from './preprocess.js';

export interface ColumnError {
  column: string;
  kind: 'numeric' | 'binary' | 'categorical' | 'missing';
  /** Cells scored (present in the source). */
  count: number;
  /** numeric: RMSE in transformed units and in the column's own units; MAE in its own units. */
  rmse?: number;
  rmseOriginal?: number;
  maeOriginal?: number;
  /** binary / categorical / missing indicator: share reconstructed as the right value. */
  accuracy?: number;
  /** binary / categorical / missing indicator: mean cross-entropy (nats). */
  crossEntropy?: number;
}

/** Running sums for one block of the layout (one source column, or its missing indicator). */
interface BlockTotals { count: number; se: number; ae: number; right: number; ce: number; original: ScaledSquares }

/**
 * Per-column errors accumulated over chunks of rows (a table streamed in chunks gives the same
 * result as the table at once, up to float64 rounding): `add` each chunk's reconstructions
 * `scores` (the network's raw output) against `clean` (the preprocessor's matrix for the same n
 * rows); `missing` (from prep.missingMask) drops cells that were missing in the source; without
 * it every cell counts.
 */
export class ColumnErrorTotals {
  private readonly totals: BlockTotals[];

  constructor(private readonly prep: TabularPreprocessor) {
    this.totals = prep.layout.blocks.map(() => ({ count: 0, se: 0, ae: 0, right: 0, ce: 0, original: new ScaledSquares() }));
  }

  add(clean: Float32Array, scores: Float32Array, n: number, missing?: Uint8Array): void {
    const prep = this.prep, L = prep.layout, W = L.width;
    if (clean.length < n * W || scores.length < n * W) throw new Error(`columnErrors: expected ${n} rows of ${W} values`);
    const probs = decodeTabularOutput(scores, n, L);
    const inCols = prep.inputColumns;
    const isMissing = (i: number, column: string) => {
      if (!missing) return false;
      const j = inCols.indexOf(column);
      return j >= 0 && missing[i * inCols.length + j] === 1;
    };
    L.blocks.forEach((b, k) => {
      const t = this.totals[k]!;
      for (let i = 0; i < n; i++) {
        if (b.kind !== 'missing' && isMissing(i, b.column)) continue;
        const at = i * W + b.offset;
        if (b.kind === 'numeric') {
          t.se += (scores[at]! - clean[at]!) ** 2;
          const d = prep.inverseNumeric(b.column, scores[at]!) - prep.inverseNumeric(b.column, clean[at]!);
          t.original.add(d);
          t.ae += Math.abs(d);
        } else if (b.kind === 'binary' || b.kind === 'missing') {
          const y = clean[at]!, p = Math.min(Math.max(probs[at]!, 1e-7), 1 - 1e-7);
          if (y !== 0 && y !== 1) continue; // an imputed cell of a column without an indicator
          t.right += (p >= 0.5 ? 1 : 0) === y ? 1 : 0;
          t.ce -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
        } else {
          let tj = 0, pj = 0;
          for (let j = 1; j < b.size; j++) {
            if (clean[at + j]! > clean[at + tj]!) tj = j;
            if (probs[at + j]! > probs[at + pj]!) pj = j;
          }
          t.right += tj === pj ? 1 : 0;
          t.ce -= Math.log(Math.max(probs[at + tj]!, 1e-7));
        }
        t.count++;
      }
    });
  }

  result(): ColumnError[] {
    return this.prep.layout.blocks.map((b, k) => {
      const t = this.totals[k]!, per = Math.max(t.count, 1);
      if (b.kind === 'numeric') return { column: b.column, kind: b.kind, count: t.count, rmse: Math.sqrt(t.se / per), rmseOriginal: t.original.rootMean(), maeOriginal: t.ae / per };
      const column = b.kind === 'missing' ? `${b.column}<missing>` : b.column;
      return { column, kind: b.kind, count: t.count, accuracy: t.right / per, crossEntropy: t.ce / per };
    });
  }
}

/** Errors of reconstructions `scores` against `clean` for n rows at once (see ColumnErrorTotals). */
export function columnErrors(prep: TabularPreprocessor, clean: Float32Array, scores: Float32Array, n: number, missing?: Uint8Array): ColumnError[] {
  const totals = new ColumnErrorTotals(prep);
  totals.add(clean, scores, n, missing);
  return totals.result();
}

export function formatColumnErrors(errs: ColumnError[]): string {
  const w = Math.max(6, ...errs.map((e) => e.column.length));
  const f = (x: number | undefined, d = 4) => (x === undefined ? '' : x.toFixed(d));
  const head = `${'column'.padEnd(w)}  ${'kind'.padEnd(11)}  ${'cells'.padStart(6)}  ${'RMSE(z)'.padStart(9)}  ${'RMSE'.padStart(11)}  ${'MAE'.padStart(11)}  ${'accuracy'.padStart(8)}  ${'CE'.padStart(7)}`;
  const rows = errs.map((e) =>
    `${e.column.padEnd(w)}  ${e.kind.padEnd(11)}  ${String(e.count).padStart(6)}  ${f(e.rmse).padStart(9)}  ${(e.rmseOriginal === undefined ? '' : e.rmseOriginal.toPrecision(5)).padStart(11)}  ${(e.maeOriginal === undefined ? '' : e.maeOriginal.toPrecision(5)).padStart(11)}  ${f(e.accuracy, 3).padStart(8)}  ${f(e.crossEntropy, 3).padStart(7)}`,
  );
  return [head, ...rows].join('\n');
}

/**
 * sqrt(mean(d²)) over a stream of d, kept as scale² · Σ(d/scale)² with scale the largest |d| so
 * far (as BLAS nrm2 does), so squares of 1e300 stay finite; NaN or ±Infinity in, the same out.
 */
class ScaledSquares {
  private scale = 0;
  private sum = 0;
  private n = 0;
  /** The first NaN, else the first ±Infinity, seen (undefined: none). */
  private nonFinite: number | undefined;

  add(d: number): void {
    this.n++;
    const a = Math.abs(d);
    if (!Number.isFinite(a)) this.nonFinite = Number.isNaN(a) || Number.isNaN(this.nonFinite) ? NaN : a;  // NaN wins over Infinity
    else if (a > this.scale) {
      this.sum = this.sum * (this.scale / a) ** 2 + 1;
      this.scale = a;
    } else if (a > 0) this.sum += (a / this.scale) ** 2;
  }

  rootMean(): number {
    if (this.nonFinite !== undefined) return this.nonFinite;
    return this.scale === 0 ? 0 : this.scale * Math.sqrt(this.sum / this.n);
  }
}
