// Anomaly detection: AUROC and average precision on hand-worked examples, the PyOD-like
// detector (fit / score / predict), and the anomaly command with its CSV and heat map.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { PNG } from 'pngjs';
import { anomalyRun, auroc, averagePrecision, binaryCounts, quantile, ReconstructionAnomalyDetector } from '../../src/tasks/anomaly/anomaly.js';
import { loadRun } from '../../src/train/run-folder.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { testDataDir, tinyRun, tmp } from '../helpers/tiny-run.js';

const BIN = new URL('../../bin/latentkit.js', import.meta.url).pathname;

let run: string;
before(async () => {
  run = await tinyRun();
});

test('AUROC by hand: pairs ranked right, ties count one half', () => {
  // sklearn's doc example: y = [0, 0, 1, 1], scores = [0.1, 0.4, 0.35, 0.8] -> 0.75.
  // Pairs (pos, neg): (0.35 > 0.1) yes, (0.35 > 0.4) no, (0.8 > 0.1) yes, (0.8 > 0.4) yes: 3/4.
  assert.equal(auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  assert.equal(auroc([1, 2, 3, 4], [0, 0, 1, 1]), 1);
  assert.equal(auroc([1, 2, 3, 4], [1, 1, 0, 0]), 0);
  // Ties: pos {0.5, 0.9}, neg {0.5, 0.1}: (0.5 vs 0.5) 1/2, (0.5 vs 0.1) 1, (0.9 vs both) 2 -> 3.5/4.
  assert.equal(auroc([0.5, 0.9, 0.5, 0.1], [1, 1, 0, 0]), 0.875);
  assert.equal(auroc([3, 3, 3], [1, 0, 1]), 0.5);
  assert.ok(Number.isNaN(auroc([1, 2], [1, 1])));
  assert.throws(() => auroc([1, 2], [1]), /2 scores but 1 labels/);
});

test('average precision by hand (sklearn definition)', () => {
  // Ranked: 0.8 (pos) P=1 R=.5; 0.4 (neg); 0.35 (pos) P=2/3 R=1 -> .5*1 + .5*2/3 = 0.8333.
  assert.ok(Math.abs(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) - 5 / 6) < 1e-12);
  assert.equal(averagePrecision([1, 2, 3, 4], [0, 0, 1, 1]), 1);
  // A tie between a positive and a negative at the top is one threshold: P = 1/2 at R = 1.
  assert.equal(averagePrecision([5, 5, 1], [1, 0, 0]), 0.5);
  assert.ok(Number.isNaN(averagePrecision([1, 2], [0, 0])));
});

test('quantile interpolates like numpy; binaryCounts', () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([4, 1, 3, 2], 1), 4);
  assert.ok(Math.abs(quantile([0, 10], 0.95) - 9.5) < 1e-12);
  const c = binaryCounts([1, 1, 0, 0, 1], [1, 0, 0, 1, 1]);
  assert.deepEqual([c.tp, c.fp, c.tn, c.fn], [2, 1, 1, 1]);
  assert.ok(Math.abs(c.precision - 2 / 3) < 1e-12 && Math.abs(c.recall - 2 / 3) < 1e-12);
});

test('detector: fit sets the threshold at the contamination quantile; predict flags; odd images score higher', async () => {
  const data = await loadFashionMnist('test', { dataDir: testDataDir(), searchSystem: false, download: false, limit: 300 });
  const det = new ReconstructionAnomalyDetector(loadRun(run), { contamination: 0.1 });
  await assert.rejects(det.predict(data.images, 1), /no threshold/);
  await det.fit(data.images, data.n);
  assert.equal(det.decisionScores!.length, 300);
  const flagged = det.labels!.reduce((a, b) => a + b, 0);
  assert.ok(flagged >= 25 && flagged <= 31, `flagged ${flagged} of 300 at contamination 0.1`);
  const s = await det.decisionFunction(data.images, 5);
  assert.deepEqual(Array.from(s), Array.from(det.decisionScores!.subarray(0, 5)));
  // Noise and inverted images are far from anything the model learned.
  const odd = new Float32Array(2 * 784);
  for (let i = 0; i < 784; i++) {
    odd[i] = (i * 7919) % 13 < 6 ? 1 : 0;
    odd[784 + i] = 1 - data.images[i]!;
  }
  const oddScores = await det.score(odd, 2);
  assert.ok(oddScores[0]! > det.threshold! && oddScores[1]! > det.threshold!, `odd ${Array.from(oddScores)} vs threshold ${det.threshold}`);
  assert.deepEqual(Array.from(await det.predict(odd, 2)), [1, 1]);
  // Scores are the per-sample MSE of the per-pixel errors.
  const px = await det.pixelErrors(data.images, 2);
  const mean = px.errors.subarray(0, 784).reduce((a, b) => a + b, 0) / 784;
  assert.ok(Math.abs(mean - px.scores[0]!) < 1e-6);
  await det.release();
});

test('anomaly command: AUROC against held-out classes, CSV, heat map, threshold from a validation set', async () => {
  const dir = tmp();
  const r = await anomalyRun(run, { dataDir: testDataDir(), limit: 400, normal: [1], csv: join(dir, 's.csv'), heatmap: join(dir, 'h.png'), top: 6, contamination: 0.05, validCount: 1000 });
  assert.equal(r.n, 400);
  assert.equal(r.thresholdFrom, 'valid');
  assert.equal(r.valid!.start, 500); // the first train image the run did not see
  assert.equal(r.valid!.seenInTraining, false);
  assert.ok(r.auroc! >= 0 && r.auroc! <= 1);
  assert.equal(r.auroc, auroc(r.scores, r.truth!));
  const csv = readFileSync(join(dir, 's.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'id,label,score,anomaly,truth');
  assert.equal(csv.length, 401);
  const png = PNG.sync.read(readFileSync(join(dir, 'h.png')));
  assert.equal(png.width, 6 * 28 * 3 + 7 * 2);
  assert.equal(png.height, 3 * 28 * 3 + 4 * 2);
  assert.ok(r.top!.every((id, i) => i === 0 || r.scores[id]! <= r.scores[r.top![i - 1]!]!));

  const self = await anomalyRun(run, { dataDir: testDataDir(), limit: 400, fit: 'self', contamination: 0.05 });
  assert.ok(self.flagged >= 18 && self.flagged <= 21, `flagged ${self.flagged}`);
  assert.equal(self.auroc, undefined);

  const c = spawnSync(process.execPath, [BIN, 'anomaly', run, '--data-dir', testDataDir(), '--limit', '300', '--normal', '1,7', '--fit', 'self', '--threshold', '0.01'], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /threshold 0\.0100000 \(given\)/);
  assert.match(c.stdout, /normal classes 1,7: AUROC [\d.]+\s+average precision [\d.]+/);
});
