// Classification and regression scores, and ROC AUC with ties.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classificationMetrics, regressionMetrics } from '../../src/metrics/classification.js';
import { auroc as rocAuc } from '../../src/metrics/ranking.js';

test('metrics: ROC AUC with ties, accuracy, log loss, RMSE, R²', () => {
  assert.equal(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  assert.equal(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 0.5);
  assert.equal(rocAuc([1, 2, 3], [1, 1, 1]), NaN);
  const m = classificationMetrics(Float32Array.from([0.9, 0.1, 0.2, 0.8, 0.6, 0.4]), [0, 1, 1], 2);
  assert.ok(Math.abs(m.accuracy! - 2 / 3) < 1e-9);
  assert.ok(Math.abs(m.logloss! - -(Math.log(0.9) + Math.log(0.8) + Math.log(0.4)) / 3) < 1e-6);
  const r = regressionMetrics([1, 2, 3], [1, 2, 5]);
  assert.ok(Math.abs(r.rmse! - Math.sqrt(4 / 3)) < 1e-9);
  assert.ok(Math.abs(r.r2! - (1 - 4 / (78 / 9))) < 1e-9, `R² ${r.r2}`);
});
