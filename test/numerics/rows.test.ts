// Row-major matrix helpers: gathering rows, standardising columns on the training rows only.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatherRows, standardise } from '../../src/numerics/rows.js';

test('gatherRows copies the chosen rows in order, repeats allowed', () => {
  const x = Float32Array.from([0, 1, 10, 11, 20, 21]);
  assert.deepEqual(Array.from(gatherRows(x, 2, [2, 0, 2])), [20, 21, 0, 1, 20, 21]);
  assert.equal(gatherRows(x, 2, []).length, 0);
});

test('standardise: statistics from the training rows, applied to both; constant columns only centred', () => {
  // column 0: 1, 3 (mean 2, population sd 1); column 1: constant 5.
  const train = Float32Array.from([1, 5, 3, 5]);
  const test = Float32Array.from([4, 7]);
  const [a, b] = standardise(train, test, 2);
  assert.deepEqual(Array.from(a), [-1, 0, 1, 0]);
  assert.deepEqual(Array.from(b), [2, 2]);
});
