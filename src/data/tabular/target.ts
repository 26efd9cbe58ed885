// The prediction target of a table (for probes) and k-fold splits.
import { Rng } from '../../util/random.js';
import { cellKey, cellNumber } from './schema.js';
import { columnIndex, columnLabel, rowLabel, type RawTable } from './table.js';

export type Task = 'classification' | 'regression';

export interface TargetInfo {
  column: string;
  task: Task;
  /** Classification: class names, index = label. */
  classes?: string[];
  /** Table rows that have a target value (rows with a missing target are left out). */
  rows: Int32Array;
  /** Per entry of `rows`: class index (classification) or value (regression). */
  y: Int32Array | Float32Array;
  /** Rows dropped because their target was missing. */
  dropped: number;
}

/**
 * Read the target column. 'auto': numbers with at most `maxClasses` distinct integer values, and
 * any text, are classes; other numbers are a regression target.
 */
export function encodeTarget(t: RawTable, column: string, task: Task | 'auto' = 'auto', maxClasses = 20): TargetInfo {
  const c = columnIndex(t, column);
  const cells = t.data[c]!;
  const rows: number[] = [];
  for (let r = 0; r < t.nRows; r++) if (cells[r] !== null) rows.push(r);
  if (!rows.length) throw new Error(`${t.source}: target ${columnLabel(t, c)} has no values`);
  const nums = rows.map((r) => cellNumber(cells[r]!));
  const allNumbers = nums.every((v) => v !== undefined);
  const keys = [...new Set(rows.map((r) => cellKey(cells[r]!)))];
  let kind: Task;
  if (task !== 'auto') kind = task;
  else kind = allNumbers && !(keys.length <= maxClasses && nums.every((v) => Number.isInteger(v))) ? 'regression' : 'classification';
  const dropped = t.nRows - rows.length;
  if (kind === 'regression') {
    const bad = nums.findIndex((v) => v === undefined);
    if (bad >= 0) throw new Error(`${t.source}: ${rowLabel(t, rows[bad]!)}, ${columnLabel(t, c)}: ${JSON.stringify(cells[rows[bad]!])} is not a number, but the regression target must be`);
    return { column, task: kind, rows: Int32Array.from(rows), y: Float32Array.from(nums as number[]), dropped };
  }
  const classes = allNumbers ? keys.sort((a, b) => Number(a) - Number(b)) : keys.sort();
  if (classes.length < 2) throw new Error(`${t.source}: target ${columnLabel(t, c)} has a single class (${classes[0]}); nothing to predict`);
  const pos = new Map(classes.map((k, i) => [k, i]));
  return { column, task: kind, classes, rows: Int32Array.from(rows), y: Int32Array.from(rows, (r) => pos.get(cellKey(cells[r]!))!), dropped };
}

/**
 * k disjoint test folds over 0..n-1 (each index in exactly one). With `labels`, stratified:
 * every fold gets each class in about the same share (scikit-learn's StratifiedKFold).
 */
export function kFold(n: number, k: number, seed: number, labels?: ArrayLike<number>): Int32Array[] {
  if (!Number.isInteger(k) || k < 2) throw new Error(`k-fold: k must be an integer of at least 2, got ${k}`);
  if (n < k) throw new Error(`k-fold: ${n} rows cannot make ${k} folds`);
  const rng = new Rng(seed);
  const folds: number[][] = Array.from({ length: k }, () => []);
  if (labels) {
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const y = labels[i]!;
      if (!byClass.has(y)) byClass.set(y, []);
      byClass.get(y)!.push(i);
    }
    let next = 0;
    for (const [, idx] of [...byClass].sort((a, b) => a[0] - b[0])) {
      const p = rng.permutation(idx.length);
      for (let j = 0; j < idx.length; j++) folds[next++ % k]!.push(idx[p[j]!]!);
    }
  } else {
    const p = rng.permutation(n);
    for (let j = 0; j < n; j++) folds[j % k]!.push(p[j]!);
  }
  return folds.map((f) => Int32Array.from(f.sort((a, b) => a - b)));
}

/** Indices of 0..n-1 that are not in `test`. */
export function complement(n: number, test: ArrayLike<number>): Int32Array {
  const inTest = new Uint8Array(n);
  for (let i = 0; i < test.length; i++) inTest[test[i]!] = 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (!inTest[i]) out.push(i);
  return Int32Array.from(out);
}
