// The probe's head search: packed candidates train as if alone, early stopping restores the
// best epoch, class weights, and every feature set gets the same search.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classWeightsFor, headGrid, innerValidation, searchHeads, type HeadConfig } from '../../src/tasks/tabular/head-search.js';
import { runProbeTask, type ProbeTask } from '../../src/tasks/tabular/probe.js';
import { Rng } from '../../src/util/random.js';

/** n rows of d features; labels from a noisy linear rule (or pure noise). */
function table(n: number, d: number, classes: number, seed: number, noiseOnly = false): { x: Float32Array; y: Int32Array } {
  const rng = new Rng(seed);
  const x = new Float32Array(n * d).map(() => rng.normal());
  const y = Int32Array.from({ length: n }, (_, i) => {
    if (noiseOnly) return Math.floor(rng.uniform() * classes);
    const s = x[i * d]! + 0.5 * x[i * d + 1]! + 0.3 * rng.normal();
    return Math.min(classes - 1, Math.max(0, Math.floor((s + 1.5) / (3 / classes))));
  });
  return { x, y };
}

test('head search: a candidate packed with others trains exactly as it would alone', async () => {
  const { x, y } = table(300, 6, 3, 1);
  const a: HeadConfig = { kind: 'mlp', hidden: 16, lr: 3e-3, weightDecay: 1e-4 };
  const others: HeadConfig[] = [{ kind: 'mlp', hidden: 16, lr: 1e-2, weightDecay: 1e-2 }, { kind: 'logreg', hidden: 0, lr: 1e-2, weightDecay: 1e-3 }];
  const o = { maxEpochs: 8, patience: 100, halving: false };
  const alone = await searchHeads('classification', 3, x, y, x.subarray(0, 60), 6, { ...o, grid: [a] }, 5);
  const packed = await searchHeads('classification', 3, x, y, x.subarray(0, 60), 6, { ...o, grid: [a, ...others] }, 5);
  assert.equal(packed.trials.length, 3);
  assert.equal(packed.trials[0]!.bestEpoch, alone.trials[0]!.bestEpoch);
  assert.ok(Math.abs(packed.trials[0]!.loss - alone.trials[0]!.loss) < 1e-4, `validation loss alone ${alone.trials[0]!.loss}, packed ${packed.trials[0]!.loss}`);
  // The other candidates really differ (a different rate and decay give a different loss).
  assert.ok(Math.abs(packed.trials[1]!.loss - packed.trials[0]!.loss) > 1e-3);
});

test('head search: after successive halving, the survivor continues exactly as without it', async () => {
  const { x, y } = table(300, 6, 3, 6);
  const grid: HeadConfig[] = [
    { kind: 'mlp', hidden: 16, lr: 1e-3, weightDecay: 1e-4 },
    { kind: 'mlp', hidden: 16, lr: 1e-2, weightDecay: 1e-4 },
    { kind: 'mlp', hidden: 32, lr: 3e-3, weightDecay: 1e-3 },
  ];
  const o = { grid, maxEpochs: 8, patience: 100 };
  const full = await searchHeads('classification', 3, x, y, x, 6, { ...o, halving: false }, 2);
  const halved = await searchHeads('classification', 3, x, y, x, 6, o, 2);
  const survivor = grid.indexOf(halved.chosen.mlp!.config);
  // Dropped candidates stopped after a quarter of the epochs (2 of 8).
  assert.ok(halved.trials.filter((t) => t.bestEpoch <= 2).length >= 2, JSON.stringify(halved.trials));
  assert.equal(halved.trials[survivor]!.bestEpoch, full.trials[survivor]!.bestEpoch);
  assert.ok(Math.abs(halved.trials[survivor]!.loss - full.trials[survivor]!.loss) < 1e-4, `survivor loss ${halved.trials[survivor]!.loss} vs ${full.trials[survivor]!.loss} without halving`);
  const a = halved.predictions.mlp!, b = full.predictions.mlp!;
  if (full.chosen.mlp!.config === grid[survivor]) assert.ok(a.every((v, i) => Math.abs(v - b[i]!) < 1e-3));
});

test('head search: early stopping keeps the best epoch, not the last', async () => {
  // Labels are noise: validation accuracy peaks by chance and the model then overfits.
  const { x, y } = table(200, 20, 2, 2, true);
  const grid: HeadConfig[] = [{ kind: 'mlp', hidden: 128, lr: 1e-2, weightDecay: 0 }];
  const valid = innerValidation(200, y, 3);
  const xv = new Float32Array(valid.length * 20);
  valid.forEach((r, k) => xv.set(x.subarray(r * 20, (r + 1) * 20), k * 20));
  // Predict the inner validation rows themselves: their loss must be the one recorded at the best epoch.
  const r = await searchHeads('classification', 2, x, y, xv, 20, { grid, maxEpochs: 30, patience: 5 }, 3);
  const t = r.trials[0]!;
  assert.ok(t.bestEpoch < r.epochs, `best epoch ${t.bestEpoch} of ${r.epochs}: the test needs a run that went past its best`);
  assert.deepEqual(Array.from(r.validIndices), Array.from(valid));
  const p = r.predictions.mlp!;
  let ce = 0, right = 0;
  valid.forEach((row, k) => {
    ce -= Math.log(p[k * 2 + y[row]!]!);
    if ((p[k * 2 + 1]! > p[k * 2]! ? 1 : 0) === y[row]) right++;
  });
  assert.ok(Math.abs(ce / valid.length - t.loss) < 1e-4, `loss of the returned model ${ce / valid.length}, recorded best ${t.loss}`);
  assert.equal(right / valid.length, t.score);
});

test('class weights: balanced (n / (C·n_c)) when unbalanced, capped at 10, none when balanced', () => {
  assert.equal(classWeightsFor(Int32Array.from([0, 0, 1, 1, 2, 2]), 3), undefined);
  const w = classWeightsFor(Int32Array.from([...Array(90).fill(0), ...Array(9).fill(1), 2]), 3)!;
  assert.ok(Math.abs(w[0]! - 100 / 270) < 1e-6 && Math.abs(w[1]! - 100 / 27) < 1e-6);
  assert.equal(w[2], 10);
  assert.ok(classWeightsFor(Int32Array.from([0, 0, 1, 1]), 2, 'balanced'));
  assert.equal(classWeightsFor(Int32Array.from([...Array(90).fill(0), 1]), 2, 'none'), undefined);
});

test('probe: every feature set of a fold gets the same search (grid, inner split, batches, budget)', async () => {
  const { x, y } = table(240, 8, 3, 4);
  const layout = { width: 8, numeric: [0, 8] as [number, number], binary: [8, 0] as [number, number], missing: [8, 0] as [number, number], categorical: [], blocks: [] };
  const grid = headGrid(['logreg', 'mlp']).filter((c) => c.hidden !== 256);
  const base: Omit<ProbeTask, 'part'> = {
    fold: 0, seed: 7, task: 'classification', classes: 3, layout, xtr: x.slice(0, 200 * 8), xte: x.slice(200 * 8), ytr: y.slice(0, 200), pcaWidths: [3],
    ae: { hidden: [8], bottleneck: 3, activation: 'relu', epochs: 5, lr: 2e-3, batchSize: 32, patience: 5 },
    dae: { hidden: [8], bottleneck: 8, activation: 'relu', epochs: 5, lr: 2e-3, batchSize: 32, patience: 5, noise: [{ kind: 'swap', p: 0.15 }] },
    head: { grid, maxEpochs: 5 },
  };
  const raw = await runProbeTask({ ...base, part: 'raw' });
  const code = await runProbeTask({ ...base, part: 'bottleneck' });
  const sets = [...raw.sets, ...code.sets];
  assert.deepEqual(sets.map((s) => s.name), ['raw', 'pca-3', 'bottleneck-3']);
  for (const s of sets.slice(1)) assert.deepEqual(s.search, sets[0]!.search, `${s.name} was searched differently from raw`);
  assert.equal(sets[0]!.search.grid.length, grid.length);
  for (const s of sets) for (const c of Object.values(s.chosen)) assert.ok(grid.includes(c!.config));
});
