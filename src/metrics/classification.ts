// Scores of a classifier's probabilities and a regressor's predictions.
import { auroc } from './ranking.js';

/** Accuracy, ROC AUC (binary, or macro one-vs-rest) and log loss from class probabilities. */
export function classificationMetrics(probs: Float32Array, y: ArrayLike<number>, classes: number): Record<string, number> {
  const n = y.length;
  let right = 0, ll = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probs[i * classes + c]! > probs[i * classes + best]!) best = c;
    if (best === y[i]) right++;
    ll -= Math.log(Math.max(probs[i * classes + y[i]!]!, 1e-15));
  }
  let auc: number;
  if (classes === 2) auc = auroc(Array.from({ length: n }, (_, i) => probs[i * 2 + 1]!), Array.from(y, (v) => v === 1));
  else {
    const aucs: number[] = [];
    for (let c = 0; c < classes; c++) {
      const a = auroc(Array.from({ length: n }, (_, i) => probs[i * classes + c]!), Array.from(y, (v) => v === c));
      if (!Number.isNaN(a)) aucs.push(a);
    }
    auc = aucs.reduce((a, b) => a + b, 0) / Math.max(aucs.length, 1);
  }
  return { accuracy: right / n, auc, logloss: ll / n };
}

export function regressionMetrics(pred: ArrayLike<number>, y: ArrayLike<number>): Record<string, number> {
  const n = y.length;
  let se = 0, mean = 0;
  for (let i = 0; i < n; i++) mean += y[i]! / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    se += (pred[i]! - y[i]!) ** 2;
    ss += (y[i]! - mean) ** 2;
  }
  return { rmse: Math.sqrt(se / n), r2: ss > 0 ? 1 - se / ss : NaN };
}

