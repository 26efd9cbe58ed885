// The probe: on a small synthetic problem, bottleneck features beat chance.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatProbe, runProbe } from '../../src/tasks/tabular/probe.js';
import { Rng } from '../../src/util/random.js';
import { tempDir } from '../helpers/tmp.js';

test('probe: on a synthetic problem driven by 2 latent factors, 2-number codes beat chance', async () => {
  const rng = new Rng(21);
  const n = 240, d = 10;
  const A = Array.from({ length: d }, () => [rng.normal(), rng.normal()]);
  const lines = [[...Array.from({ length: d }, (_, j) => `x${j}`), 'shade', 'label'].join(',')];
  for (let i = 0; i < n; i++) {
    const z = [rng.normal(), rng.normal()];
    const x = A.map(([a, b]) => (a! * z[0]! + b! * z[1]! + 0.3 * rng.normal()).toFixed(4));
    const shade = z[1]! < -0.4 ? 'dark' : z[1]! < 0.4 ? 'mid' : 'light';
    lines.push([...x, shade, z[0]! + 0.5 * z[1]! > 0 ? 'yes' : 'no'].join(','));
  }
  const path = join(tempDir('lk-probe-'), 'synthetic.csv');
  writeFileSync(path, lines.join('\n') + '\n');
  const r = await runProbe({
    path, target: 'label', folds: 3, seed: 1, features: ['raw', 'bottleneck'], heads: ['logreg'], pca: true,
    ae: { hidden: [16], bottleneck: 2, epochs: 40, lr: 3e-3, batchSize: 32 }, workers: 1, log: () => {},
  });
  assert.equal(r.task, 'classification');
  assert.deepEqual(r.classes, ['no', 'yes']);
  assert.deepEqual(r.results.map((x) => x.features), ['raw', 'pca-2', 'bottleneck-2']);
  const code = r.results.find((x) => x.features === 'bottleneck-2')!;
  assert.equal(code.metrics.accuracy!.folds.length, 3);
  assert.ok(code.metrics.accuracy!.mean > 0.75, `bottleneck accuracy ${code.metrics.accuracy!.mean} (chance is about 0.5)`);
  assert.ok(code.metrics.auc!.mean > 0.8, `bottleneck AUC ${code.metrics.auc!.mean}`);
  assert.ok(r.results.find((x) => x.features === 'raw')!.metrics.accuracy!.mean > 0.85);
  assert.match(formatProbe(r), /bottleneck-2\s+2\s+logreg\s+0\.\d{4} ± 0\.\d{4}/);
});

test('probe: worker threads give the same scores as one thread; --recipe porto-seguro compares raw and the DAE stack with MLP heads', async () => {
  const rng = new Rng(5);
  const lines = ['a,b,c,d,label'];
  for (let i = 0; i < 200; i++) {
    const z = rng.normal();
    lines.push([z + 0.3 * rng.normal(), Math.exp(z) + 0.1 * rng.normal(), rng.normal(), (2 * z + rng.normal()).toFixed(3), z > 0.2 ? 'p' : 'q'].join(','));
  }
  const path = join(tempDir('lk-probe-w-'), 'small.csv');
  writeFileSync(path, lines.join('\n') + '\n');
  const o = { path, target: 'label', folds: 2, recipe: 'porto-seguro' as const, dae: { hidden: [8], bottleneck: 8, epochs: 3 }, head: { maxEpochs: 6 }, log: () => {} };
  const one = await runProbe({ ...o, workers: 1 });
  const two = await runProbe({ ...o, workers: 2 });
  assert.equal(two.workers, 2);
  assert.deepEqual(one.results.map((x) => `${x.features}/${x.head}`), ['raw/mlp', 'dae-24/mlp']);
  assert.deepEqual(two.results.map((x) => x.metrics), one.results.map((x) => x.metrics));
  assert.ok(one.results[0]!.metrics.accuracy!.mean > 0.7, `raw accuracy ${one.results[0]!.metrics.accuracy!.mean}`);
  assert.ok(two.timings['heads:dae']! > 0 && two.timings['fit-dae']! > 0);
});
