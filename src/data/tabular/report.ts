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

/**
 * Errors of reconstructions `scores` (the network's raw output) against `clean` (the
 * preprocessor's matrix for the same n rows). `missing` (from prep.missingMask) drops cells that
 * were missing in the source; without it every cell counts.
 */
export function columnErrors(prep: TabularPreprocessor, clean: Float32Array, scores: Float32Array, n: number, missing?: Uint8Array): ColumnError[] {
  const L = prep.layout, W = L.width;
  if (clean.length < n * W || scores.length < n * W) throw new Error(`columnErrors: expected ${n} rows of ${W} values`);
  const probs = decodeTabularOutput(scores, n, L);
  const inCols = prep.inputColumns;
  const isMissing = (i: number, column: string) => {
    if (!missing) return false;
    const j = inCols.indexOf(column);
    return j >= 0 && missing[i * inCols.length + j] === 1;
  };
  const out: ColumnError[] = [];
  for (const b of L.blocks) {
    if (b.kind === 'numeric') {
      let se = 0, aeO = 0, count = 0;
      const dO: number[] = [];
      for (let i = 0; i < n; i++) {
        if (isMissing(i, b.column)) continue;
        const t = clean[i * W + b.offset]!, p = scores[i * W + b.offset]!;
        se += (p - t) ** 2;
        const d = prep.inverseNumeric(b.column, p) - prep.inverseNumeric(b.column, t);
        dO.push(d);
        aeO += Math.abs(d);
        count++;
      }
      out.push({ column: b.column, kind: 'numeric', count, rmse: Math.sqrt(se / Math.max(count, 1)), rmseOriginal: rootMeanSquare(dO), maeOriginal: aeO / Math.max(count, 1) });
    } else if (b.kind === 'binary' || b.kind === 'missing') {
      let right = 0, ce = 0, count = 0;
      for (let i = 0; i < n; i++) {
        if (b.kind === 'binary' && isMissing(i, b.column)) continue;
        const t = clean[i * W + b.offset]!, p = Math.min(Math.max(probs[i * W + b.offset]!, 1e-7), 1 - 1e-7);
        if (t !== 0 && t !== 1) continue; // an imputed cell of a column without an indicator
        right += (p >= 0.5 ? 1 : 0) === t ? 1 : 0;
        ce -= t * Math.log(p) + (1 - t) * Math.log(1 - p);
        count++;
      }
      out.push({ column: b.kind === 'missing' ? `${b.column}<missing>` : b.column, kind: b.kind, count, accuracy: right / Math.max(count, 1), crossEntropy: ce / Math.max(count, 1) });
    } else {
      let right = 0, ce = 0, count = 0;
      for (let i = 0; i < n; i++) {
        if (isMissing(i, b.column)) continue;
        let tj = 0, pj = 0;
        for (let j = 1; j < b.size; j++) {
          if (clean[i * W + b.offset + j]! > clean[i * W + b.offset + tj]!) tj = j;
          if (probs[i * W + b.offset + j]! > probs[i * W + b.offset + pj]!) pj = j;
        }
        right += tj === pj ? 1 : 0;
        ce -= Math.log(Math.max(probs[i * W + b.offset + tj]!, 1e-7));
        count++;
      }
      out.push({ column: b.column, kind: 'categorical', count, accuracy: right / Math.max(count, 1), crossEntropy: ce / Math.max(count, 1) });
    }
  }
  return out;
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

/** sqrt(mean(d²)) computed on d scaled by its largest magnitude, so squares of 1e300 stay finite. */
function rootMeanSquare(d: number[]): number {
  const scale = d.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  return scale * Math.sqrt(d.reduce((a, v) => a + (v / scale) ** 2, 0) / d.length);
}
