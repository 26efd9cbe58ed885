// The mixed-type loss (value and gradient), MLPAutoencoder options, the DenoisingAutoencoder's
// stacked features, and train-tabular end to end through the Trainer.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeRows, loadTabularRun, tabularRunErrors, trainTabular } from '../../src/tasks/tabular/tabular.js';
import { inferSchema, tableFromRows, tabularReconstructionLoss, TabularPreprocessor } from '../../src/data/tabular/index.js';
import { Tensor } from '../../src/graph/tensor.js';
import { DenoisingAutoencoder, MLPAutoencoder, buildModel, getPreset } from '../../src/models/index.js';
import { ForwardGraph, ParamStore } from '../../src/runtime/compile.js';
import { Rng } from '../../src/util/random.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { tempDir } from '../helpers/tmp.js';

function mixedTable(n: number, seed = 1) {
  const rng = new Rng(seed);
  return tableFromRows(Array.from({ length: n }, (_, i) => {
    const z = rng.normal();
    return {
      a: z + 0.1 * rng.normal(),
      b: i % 7 === 0 ? null : 2 * z + 0.1 * rng.normal(),
      yes: z > 0 ? 'y' : 'n',
      color: z < -0.5 ? 'red' : z < 0.5 ? (i % 11 === 0 ? null : 'green') : 'blue',
    };
  }));
}

test('mixed-type loss: value matches a host computation, gradient matches finite differences', async () => {
  const t = mixedTable(40);
  const prep = TabularPreprocessor.fit(t, inferSchema(t));
  const L = prep.layout;
  assert.deepEqual([L.numeric[1], L.binary[1], L.missing[1], L.categorical.length], [2, 1, 2, 1]);
  const N = 4, W = prep.width;
  const target = prep.transform(t, [0, 1, 7, 11]);
  const rng = new Rng(3);
  const out = Float32Array.from({ length: N * W }, () => rng.normal());
  // Reference on the host.
  let total = 0;
  for (let i = 0; i < N; i++) {
    const o = (j: number) => out[i * W + j]!, y = (j: number) => target[i * W + j]!;
    for (let j = L.numeric[0]; j < L.numeric[0] + L.numeric[1]; j++) total += (o(j) - y(j)) ** 2;
    for (const [s, c] of [L.binary, L.missing]) for (let j = s; j < s + c; j++) total += Math.max(o(j), 0) - o(j) * y(j) + Math.log1p(Math.exp(-Math.abs(o(j))));
    for (const g of L.categorical) {
      const m = Math.max(...Array.from({ length: g.size }, (_, k) => o(g.offset + k)));
      const lse = m + Math.log(Array.from({ length: g.size }, (_, k) => Math.exp(o(g.offset + k) - m)).reduce((a, b) => a + b, 0));
      for (let k = 0; k < g.size; k++) total -= y(g.offset + k) * (o(g.offset + k) - lse);
    }
  }
  const terms = L.numeric[1] + L.binary[1] + L.missing[1] + L.categorical.length;
  const expected = total / N / terms;
  const model = new MLPAutoencoder([W, 3]);
  const g = await ForwardGraph.create(model, [{ name: 'o', shape: [W] }, { name: 't', shape: [W] }], (_, [o, y]) => tabularReconstructionLoss(o!, y!, L), new ParamStore(model));
  const r = await g.run([out, target], N);
  await g.release();
  assert.ok(Math.abs(r.loss! - expected) < 1e-5 * Math.max(1, expected), `loss ${r.loss} vs ${expected}`);
  assert.deepEqual(Object.keys(r.metrics).sort(), ['binary_bce', 'categorical_ce', 'missing_bce', 'numeric_mse']);

  const check = await gradCheck([{ shape: ['N', W] }, { shape: ['N', W], data: target }], ([o, y]) => tabularReconstructionLoss(o!, y!, L).loss, { batch: N });
  assert.ok(check.relError < 1e-2, `analytic ${check.analytic} vs numeric ${check.numeric}`);
  // Through a model: gradients reach every parameter.
  const ae = new MLPAutoencoder([W, 6, 3], { output: 'linear', activation: 'tanh' });
  const viaModel = await gradCheck([{ shape: ['N', W], data: target }], ([x]) => tabularReconstructionLoss(ae.call(x!) as Tensor, x!, L).loss, { batch: N, module: ae });
  assert.ok(viaModel.relError < 1e-2, `analytic ${viaModel.analytic} vs numeric ${viaModel.numeric}`);
});

test('MLPAutoencoder: the original constructor keeps its layers; options add batch norm, dropout, activations', () => {
  const m = new MLPAutoencoder([784, 512, 256, 32]);
  assert.deepEqual(m.namedParameters().map(([n]) => n), ['encoder.0.weight', 'encoder.0.bias', 'encoder.2.weight', 'encoder.2.bias', 'encoder.4.weight', 'encoder.4.bias', 'decoder.0.weight', 'decoder.0.bias', 'decoder.2.weight', 'decoder.2.bias', 'decoder.4.weight', 'decoder.4.bias']);
  assert.deepEqual(m.encoder.namedChildren().map(([, c]) => c.constructor.name), ['Linear', 'ReLU', 'Linear', 'ReLU', 'Linear']);
  assert.deepEqual(m.decoder.namedChildren().map(([, c]) => c.constructor.name), ['Linear', 'ReLU', 'Linear', 'ReLU', 'Linear', 'Sigmoid']);
  const o = MLPAutoencoder.fromConfig({ input: 10, hidden: [8], bottleneck: 4, activation: 'gelu', dropout: 0.1, batchNorm: true, output: 'linear' });
  assert.deepEqual(o.encoder.namedChildren().map(([, c]) => c.constructor.name), ['Linear', 'BatchNorm1d', 'GELU', 'Dropout', 'Linear']);
  assert.deepEqual(o.decoder.namedChildren().map(([, c]) => c.constructor.name), ['Linear', 'BatchNorm1d', 'GELU', 'Dropout', 'Linear']);
  assert.deepEqual(o.hiddenSizes(), [8, 4, 8]);
  assert.throws(() => MLPAutoencoder.fromConfig({ input: 10, bottleneck: 4, activation: 'swish' as never }), /"activation" must be one of relu/);
  assert.throws(() => MLPAutoencoder.fromConfig({ input: 10, bottleneck: 4, depth: 3 } as never), /unknown key "depth"/);
  assert.throws(() => MLPAutoencoder.fromConfig({ input: 10, hidden: [0], bottleneck: 4 }), /"hidden\[0\]" must be a positive integer/);
  // Presets: mlp on images flattens and restores the image shape; tabular when inputSize is set.
  const img = buildModel({ preset: 'mlp' }) as MLPAutoencoder;
  assert.deepEqual(img.sizes, [784, 512, 256, 32]);
  assert.equal(img.decoder.at(-1).constructor.name, 'Unflatten');
  const tab = buildModel({ preset: 'mlp', inputSize: 12, hidden: [16], bottleneck: 3, batchNorm: true }) as MLPAutoencoder;
  assert.deepEqual(tab.sizes, [12, 16, 3]);
  assert.equal(tab.options.output, 'linear');
  assert.ok(getPreset('dae-tabular').options.includes('noise'));
});

test('DenoisingAutoencoder: features() concatenates the chosen hidden layers; parameters keep encoder/decoder names', async () => {
  const dae = DenoisingAutoencoder.fromConfig({ input: 6, hidden: [5], bottleneck: 4, codeActivation: true, output: 'linear', noise: [{ kind: 'swap', p: 0.2 }] });
  assert.deepEqual(dae.namedParameters().map(([n]) => n).filter((n) => n.endsWith('weight')), ['encoder.0.weight', 'encoder.2.weight', 'decoder.0.weight', 'decoder.2.weight']);
  assert.equal(dae.featureSize(), 5 + 4 + 5);
  const x = Float32Array.from({ length: 2 * 6 }, (_, i) => Math.sin(i));
  const { data, size } = await encodeRows(dae, x, 6, 'features');
  assert.equal(size, 14);
  // The stack equals the hidden layers computed one by one.
  const g = await ForwardGraph.create(dae, [{ name: 'x', shape: [6] }], (m, [t]) => {
    const hs = (m as DenoisingAutoencoder).hiddenLayers(t!);
    return { loss: t!.sum(), outputs: { h0: hs[0]!, h1: hs[1]!, h2: hs[2]! } };
  }, new ParamStore(dae), { withLoss: false });
  const r = await g.run([x], 2);
  await g.release();
  for (let i = 0; i < 2; i++) {
    const row = [...r.outputs.h0!.subarray(i * 5, i * 5 + 5), ...r.outputs.h1!.subarray(i * 4, i * 4 + 4), ...r.outputs.h2!.subarray(i * 5, i * 5 + 5)];
    row.forEach((v, j) => assert.ok(Math.abs(v - data[i * 14 + j]!) < 1e-6));
  }
  const only = new DenoisingAutoencoder(new MLPAutoencoder([6, 5, 4]), { features: [1] });
  assert.equal(only.featureSize(), 4);
  assert.throws(() => new DenoisingAutoencoder(new MLPAutoencoder([6, 5, 4]), { features: [3] }), /feature layer 3 does not exist/);
  assert.throws(() => DenoisingAutoencoder.fromConfig({ input: 6, bottleneck: 4, noise: [{ kind: 'swap', p: 2 }] }), /noise\[0\]: probability p/);
});

test('train-tabular: a DAE trained through the Trainer leaves a usable run folder', async () => {
  const dir = tempDir('lk-tt-');
  const { writeFileSync } = await import('node:fs');
  const t = mixedTable(300, 5);
  const csv = ['a,b,yes,color,label', ...Array.from({ length: t.nRows }, (_, i) => [...t.data.map((c) => c[i] ?? ''), i % 2].join(','))].join('\n');
  const path = join(dir, 'data.csv');
  writeFileSync(path, csv + '\n');
  const out = join(dir, 'run');
  const r = await trainTabular({ path, target: 'label', preset: 'dae-tabular', model: { hidden: [16], bottleneck: 16 }, epochs: 4, batchSize: 32, lr: 3e-3, out, progress: false, log: () => {} });
  for (const f of ['config.json', 'schema.json', 'preprocessor.json', 'column-errors.json', '_metrics.json', 'checkpoints/best.safetensors', 'checkpoints/last.safetensors']) assert.ok(existsSync(join(out, f)), f);
  assert.equal(r.history.length, 4);
  assert.ok(r.history[3]!.valid.loss! < r.history[0]!.valid.loss!, 'valid loss falls');
  assert.deepEqual(r.columnErrors.map((e) => e.column), ['a', 'b', 'yes', 'b<missing>', 'color<missing>', 'color']);
  assert.ok(!r.schema.columns.some((c) => c.name === 'label' && c.type !== 'ignore'), 'the target is not a feature');
  const run = loadTabularRun(out);
  assert.ok(run.model instanceof DenoisingAutoencoder);
  const { rows, columns: errs } = await tabularRunErrors(run, t);
  assert.equal(rows, t.nRows);
  const a = errs.find((e) => e.column === 'a')!;
  assert.ok(a.rmse! < 1, `column a is reconstructed better than its mean (RMSE ${a.rmse} in std units)`);
  // The same errors from the file streamed in chunks of 7 rows (sums over chunks; float64 rounding apart).
  const { streamTable } = await import('../../src/data/tabular/index.js');
  const streamed = await tabularRunErrors(run, streamTable(path, { chunkRows: 7 }));
  assert.equal(streamed.rows, t.nRows);
  assert.deepEqual(streamed.columns.map((e) => [e.column, e.count]), errs.map((e) => [e.column, e.count]));
  streamed.columns.forEach((e, k) => {
    for (const key of ['rmse', 'rmseOriginal', 'maeOriginal', 'accuracy', 'crossEntropy'] as const) {
      const want = errs[k]![key];
      if (want === undefined) assert.equal(e[key], undefined);
      else assert.ok(Math.abs(e[key]! - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${e.column} ${key}: ${e[key]} streamed, ${want} whole`);
    }
  });
  const codes = await encodeRows(run.model, run.prep.transform(t), run.prep.width, 'code');
  assert.equal(codes.size, 16);
  assert.ok(codes.data.every((v) => Number.isFinite(v)));
});

test('preset porto-seguro: 3 ReLU layers of 1500, all as features, swap noise 0.15, RankGauss inputs by default', async () => {
  const m = buildModel({ preset: 'porto-seguro', inputSize: 7 }) as DenoisingAutoencoder;
  assert.deepEqual(m.base.hiddenSizes(), [1500, 1500, 1500]);
  assert.equal(m.featureSize(), 4500);
  assert.deepEqual(m.noise, [{ kind: 'swap', p: 0.15, from: 'batch' }]);
  assert.throws(() => buildModel({ preset: 'porto-seguro' }), /for tables/);
  // On a table (small widths so the test is quick): the preprocessor uses RankGauss unless told otherwise.
  const dir = tempDir('lk-porto-');
  const { writeFileSync, readFileSync } = await import('node:fs');
  const t = mixedTable(120, 8);
  const path = join(dir, 'data.csv');
  writeFileSync(path, ['a,b,yes,color', ...Array.from({ length: t.nRows }, (_, i) => t.data.map((c) => c[i] ?? '').join(','))].join('\n') + '\n');
  const transforms = async (numeric?: 'standard') => {
    const out = join(dir, `run-${numeric ?? 'default'}`);
    await trainTabular({ path, preset: 'porto-seguro', model: { hidden: [8], bottleneck: 8 }, preprocess: numeric ? { numeric } : undefined, epochs: 1, out, log: () => {} });
    return JSON.parse(readFileSync(join(out, 'preprocessor.json'), 'utf8')).numeric.map((s: { transform: string }) => s.transform);
  };
  assert.deepEqual(await transforms(), ['rankgauss', 'rankgauss']);
  assert.deepEqual(await transforms('standard'), ['standard', 'standard']);
});
