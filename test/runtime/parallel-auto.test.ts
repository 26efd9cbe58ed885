// 'auto' workers: every core, but never a share of the batch under MIN_ROWS_PER_WORKER rows
// (tiny shares cost more in per-step overhead than they save), and one thread for models with
// running statistics (BatchNorm's batch statistics would differ per share).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autoWorkers, MIN_ROWS_PER_WORKER } from '../../src/runtime/parallel.js';

test('autoWorkers: all cores, at most one per MIN_ROWS_PER_WORKER rows, one with running statistics', () => {
  assert.equal(MIN_ROWS_PER_WORKER, 16);
  assert.equal(autoWorkers(2, 32, false), 2, "the chapter's batch 32 on 2 cores");
  assert.equal(autoWorkers(64, 32, false), 2, 'batch 32 on 64 cores: still 2 shares of 16');
  assert.equal(autoWorkers(64, 256, false), 16);
  assert.equal(autoWorkers(2, 16, false), 1);
  assert.equal(autoWorkers(2, 8, false), 1, 'never 0');
  assert.equal(autoWorkers(8, undefined, false), 8, 'batch unknown: every core');
  assert.equal(autoWorkers(8, 256, true), 1, 'running statistics: one thread');
});
