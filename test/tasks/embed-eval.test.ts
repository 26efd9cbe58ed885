// Batched exact kNN (onnxruntime GEMM + JS top-k) against brute force, label agreement, and the
// embed-eval comparison of codes with raw pixels and same-width PCA.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { exactKnn } from '../../src/tasks/embed/embed.js';
import { activeDims, evaluateFeatureSet, type FeatureSplit } from '../../src/tasks/embed/evaluate.js';
import { exactKnnBatch, labelAgreement } from '../../src/numerics/knn.js';
import { Rng } from '../../src/util/random.js';
import { runCli } from '../helpers/cli.js';
import { testDataDir, tinyRun, tmp } from '../helpers/tiny-run.js';

let run: string;
before(async () => {
  run = await tinyRun();
});

for (const [dim, excludeSelf, block] of [[3, true, 7], [50, false, 256], [784, true, 33]] as const) {
  test(`exactKnnBatch matches brute force (dim ${dim}, excludeSelf ${excludeSelf}, block ${block})`, async () => {
    const rng = new Rng(dim);
    const n = 300;
    const db = rng.fillNormal(new Float32Array(n * dim));
    // A duplicated row: its twin must come first at distance 0.
    db.copyWithin(5 * dim, 9 * dim, 10 * dim);
    const queries = excludeSelf ? db : rng.fillNormal(new Float32Array(40 * dim));
    const q = queries.length / dim;
    const r = await exactKnnBatch(db, n, queries, q, dim, 6, { excludeSelf, blockSize: block });
    assert.equal(r.k, 6);
    for (let i = 0; i < q; i++) {
      const want = exactKnn(db, n, dim, queries.subarray(i * dim, (i + 1) * dim), 6, excludeSelf ? i : undefined);
      const got = Array.from(r.distances.subarray(i * 6, i * 6 + 6));
      // Float32 GEMM vs float64 sums: rows may swap only where distances tie to rounding.
      want.forEach((w, j) => assert.ok(Math.abs(w.distance - got[j]!) < 1e-3 * Math.max(1, w.distance), `query ${i} rank ${j}: ${got[j]} vs ${w.distance}`));
      const wantRows = new Set(want.map((w) => w.row));
      const same = Array.from(r.rows.subarray(i * 6, i * 6 + 6)).filter((x) => wantRows.has(x)).length;
      assert.ok(same >= 5, `query ${i}: only ${same} of 6 neighbours agree`);
    }
    if (excludeSelf) {
      assert.equal(r.rows[5 * 6], 9);
      assert.ok(r.distances[5 * 6]! < 1e-3);
      for (let i = 0; i < q; i++) assert.ok(!r.rows.subarray(i * 6, i * 6 + 6).includes(i), `query ${i} found itself`);
    }
  });
}

test('exactKnnBatch rejects mismatched sizes and too few rows', async () => {
  await assert.rejects(exactKnnBatch(new Float32Array(10), 3, new Float32Array(3), 1, 3, 2), /database has 10 values, expected 3 x 3/);
  await assert.rejects(exactKnnBatch(new Float32Array(3), 1, new Float32Array(3), 1, 3, 2, { excludeSelf: true }), /at least 2 database rows/);
});

test('labelAgreement counts same-label neighbours per query', () => {
  // Query 0's neighbours have labels [1, 1, 2] (2/3 agree), query 1's [2, 2, 2] (3/3).
  const knn = { k: 3, rows: Int32Array.of(0, 1, 2, 2, 3, 4), distances: new Float32Array(6) };
  const dbLabels = [1, 1, 2, 2, 2];
  assert.ok(Math.abs(labelAgreement(knn, [1, 2], dbLabels) - (2 / 3 + 1) / 2) < 1e-12);
});

function split(n: number, width: number, informative: boolean, rng: Rng): FeatureSplit {
  const labels = Int32Array.from({ length: n }, () => rng.int(4));
  const vectors = rng.fillNormal(new Float32Array(n * width), 0, 0.3);
  if (informative) for (let i = 0; i < n; i++) vectors[i * width + (labels[i]! % width)]! += 3;
  return { vectors, labels, n };
}

test('activeDims counts the dimensions that vary', () => {
  // Column 1 is constant, column 2 all zeros (a dead ReLU channel).
  const v = Float32Array.of(1, 5, 0, 2, 5, 0, 3, 5, 0);
  assert.equal(activeDims(v, 3, 3), 1);
  assert.equal(activeDims(new Float32Array(6), 2, 3), 0);
});

test('evaluateFeatureSet: label-carrying features score near 1, noise near chance', async () => {
  const rng = new Rng(3);
  const good = await evaluateFeatureSet({ name: 'good', width: 4, train: split(800, 4, true, rng), test: split(400, 4, true, rng) }, { probe: { epochs: 10 } });
  const noise = await evaluateFeatureSet({ name: 'noise', width: 4, train: split(800, 4, false, rng), test: split(400, 4, false, rng) }, { probe: { epochs: 10 } });
  assert.ok(good.knnAgreement > 0.95, `good kNN ${good.knnAgreement}`);
  assert.ok(good.probeAccuracy > 0.95, `good probe ${good.probeAccuracy}`);
  assert.ok(noise.knnAgreement < 0.35, `noise kNN ${noise.knnAgreement}`);
  assert.ok(noise.probeAccuracy < 0.4, `noise probe ${noise.probeAccuracy}`);
});

test('latentkit embed-eval: the run, raw pixels and PCA of the code width, as a table and JSON', async () => {
  const outFile = join(tmp(), 'eval.json');
  const r = await runCli(['embed-eval', run, '--data-dir', testDataDir(), '--limit-train', '600', '--limit-test', '300', '--probe-epochs', '5', '-o', outFile, '--json']);
  assert.equal(r.code, 0, r.err);
  const res = JSON.parse(r.out) as { k: number; trainRows: number; testRows: number; rows: { features: string; width: number; activeDims: number; knnAgreement: number; probeAccuracy: number }[] };
  assert.deepEqual(JSON.parse(readFileSync(outFile, 'utf8')), res);
  assert.equal(res.k, 10);
  assert.equal(res.trainRows, 600);
  assert.equal(res.testRows, 300);
  assert.deepEqual(res.rows.map((x) => [x.features, x.width]), [[run, 4], ['raw pixels', 784], ['PCA-4 of pixels', 4]]);
  for (const x of res.rows) {
    assert.ok(Number.isInteger(x.activeDims) && x.activeDims <= x.width, JSON.stringify(x));
    assert.ok(x.knnAgreement >= 0 && x.knnAgreement <= 1 && x.probeAccuracy >= 0 && x.probeAccuracy <= 1, JSON.stringify(x));
  }
  // Pixels carry the label (real data, or synthetic blobs whose size and brightness follow it).
  const raw = res.rows[1]!;
  assert.ok(raw.knnAgreement > 0.3 && raw.probeAccuracy > 0.3, JSON.stringify(raw));
  const md = await runCli(['embed-eval', run, '--data-dir', testDataDir(), '--limit-train', '300', '--limit-test', '100', '--probe-epochs', '2', '--no-raw', '--pca-widths', '2,3,2']);
  assert.equal(md.code, 0, md.err);
  assert.match(md.out, /\| features \| width \| active dims \| kNN@10 label agreement \| linear-probe accuracy \|/);
  assert.equal(md.out.split('\n').filter((l) => l.startsWith('| ')).length, 4);
  assert.match(md.out, /\| PCA-2 of pixels \| 2 \| 2 \|/);
  assert.match(md.out, /\| PCA-3 of pixels \| 3 \| 3 \|/);
});

test('latentkit embed-eval names the folder that is not a run', async () => {
  const dir = tmp();
  const r = await runCli(['embed-eval', dir, '--data-dir', testDataDir()]);
  assert.equal(r.code, 1);
  assert.match(r.err, new RegExp(`${dir}: not a latentkit run`));
});
