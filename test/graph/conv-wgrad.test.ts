// Conv / ConvTranspose weight gradients: the three emitted forms (the swapped Conv, one-hot Conv
// patches + MatMul, channels-last slices + GEMM per offset) give the same dW on every geometry, and the form
// chosen per shape is the measured one (DESIGN.md "Conv weight gradients").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import '../../src/graph/ops/index.js';
import { type Geometry, patchWeightGrad, sliceWeightGrad, weightGrad, weightGradForm } from '../../src/graph/ops/conv.js';
import { emitModel } from '../../src/onnx/emit.js';
import { createSession, floatTensor } from '../../src/runtime/ort.js';
import { Rng } from '../../src/util/random.js';

const geo = (k: number[], s: number[], d: number[], pb: number[], pe: number[]): Geometry => ({ k, s, d, pb, pe, group: 1 });
// sig: the signal whose patches are taken; kern: the other operand (its spatial size is the
// number of positions the kernel visits).
const cases: { name: string; sig: number[]; kern: number[]; g: Geometry }[] = [
  { name: 'Conv 1 channel', sig: [3, 1, 9, 8], kern: [3, 4, 5, 7], g: geo([3, 2], [2, 1], [1, 2], [1, 0], [2, 1]) },
  { name: 'Conv 5 channels', sig: [2, 5, 8, 9], kern: [2, 3, 7, 5], g: geo([2, 3], [1, 2], [2, 1], [0, 1], [1, 2]) },
  { name: 'Conv1d 4 channels', sig: [2, 4, 11], kern: [2, 3, 5], g: geo([3], [2], [1], [1], [0]) },
  { name: 'ConvT 1 output channel', sig: [2, 1, 8, 10], kern: [2, 3, 4, 5], g: geo([4, 3], [2, 2], [1, 1], [1, 0], [1, 1]) },
  { name: 'Conv 3-D 3 channels', sig: [2, 3, 5, 4, 6], kern: [2, 2, 4, 3, 3], g: geo([2, 2, 2], [1, 1, 2], [1, 1, 1], [0, 0, 0], [0, 0, 0]) },
  { name: 'Conv1d 1 channel', sig: [3, 1, 12], kern: [3, 2, 5], g: geo([3], [2], [2], [1], [0]) },
];

for (const c of cases)
  test(`patch weight gradients equal the swapped Conv: ${c.name}`, async () => {
    const rng = new Rng(5);
    const gr = new Graph();
    const s = new Tensor(gr, gr.input('s', 'float32', ['N', ...c.sig.slice(1)]));
    const k = new Tensor(gr, gr.input('k', 'float32', ['N', ...c.kern.slice(1)]));
    gr.outputs = [weightGrad(s, k, c.g, c.g.k).v, sliceWeightGrad(s, k, c.g, c.g.k).v];
    if (c.sig[1] === 1) gr.outputs.push(patchWeightGrad(s, k, c.g, c.g.k).v);
    const sess = await createSession(emitModel(gr));
    const rand = (shape: number[]) => floatTensor(new Float32Array(shape.reduce((a, b) => a * b)).map(() => rng.uniform() - 0.5), shape);
    const out = await sess.run({ s: rand(c.sig), k: rand(c.kern) });
    const [ref, ...others] = gr.outputs.map((v) => out[v.name]!);
    assert.deepEqual(ref!.dims, [c.kern[1], c.sig[1], ...c.g.k]);
    for (const o of others) {
      assert.deepEqual(o.dims, ref!.dims);
      const a = o.data as Float32Array, b = ref!.data as Float32Array;
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5, `${i}: ${a[i]} vs ${b[i]}`);
    }
  });

test('weight-gradient form per layer of the chapter model', () => {
  const gr = new Graph();
  let i = 0;
  const v = (...shape: number[]) => gr.input(`v${i++}`, 'float32', ['N', ...shape]);
  const k = (n: number, s = 1) => geo([n, n], [s, s], [1, 1], [0, 0], [0, 0]);
  // Conv: signal X, kernel operand dY. ConvTranspose: signal dY, kernel operand X.
  assert.equal(weightGradForm(v(1, 28, 28), v(16, 25, 25), k(4)), 'patches'); // encoder.0
  assert.equal(weightGradForm(v(16, 12, 12), v(4, 9, 9), k(4)), 'slices'); // encoder.3
  assert.equal(weightGradForm(v(16, 5, 5), v(4, 1, 1), k(5, 2)), 'swap'); // decoder.0
  assert.equal(weightGradForm(v(4, 13, 13), v(16, 5, 5), k(5, 2)), 'swap'); // decoder.2
  assert.equal(weightGradForm(v(1, 28, 28), v(4, 13, 13), k(4, 2)), 'patches'); // decoder.4
  // the cnn preset's strided 16-channel layers keep the swapped Conv; a stride-1 one takes slices
  assert.equal(weightGradForm(v(16, 14, 14), v(32, 7, 7), geo([3, 3], [2, 2], [1, 1], [1, 1], [1, 1])), 'swap');
  assert.equal(weightGradForm(v(16, 14, 14), v(16, 14, 14), geo([3, 3], [1, 1], [1, 1], [1, 1], [1, 1])), 'slices');
  // a one-channel signal with a 7x7 kernel, few channels for a wide kernel: the swapped Conv
  assert.equal(weightGradForm(v(1, 28, 28), v(8, 22, 22), geo([7, 7], [1, 1], [1, 1], [0, 0], [0, 0])), 'swap');
  assert.equal(weightGradForm(v(1, 28, 28), v(32, 28, 28), geo([5, 5], [1, 1], [1, 1], [2, 2], [2, 2])), 'patches');
  assert.equal(weightGradForm(v(4, 28, 28), v(8, 22, 22), geo([7, 7], [1, 1], [1, 1], [0, 0], [0, 0])), 'swap');
});
