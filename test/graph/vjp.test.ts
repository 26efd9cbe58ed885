// Every primitive's VJP rule against central differences through onnxruntime.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { Tensor } from '../../src/graph/tensor.js';
import { Graph } from '../../src/graph/ir.js';
import { gradients } from '../../src/autodiff/grad.js';
import { emitModel } from '../../src/onnx/emit.js';
import { createSession, floatTensor } from '../../src/runtime/ort.js';
import { gradCheck, type GradInput } from '../helpers/gradcheck.js';

const TOL = 2e-2;

interface Case {
  name: string;
  inputs: GradInput[];
  f: (xs: Tensor[]) => Tensor;
}

const S = (...shape: (number | string)[]): GradInput => ({ shape });
const A = (...shape: (number | string)[]): GradInput => ({ shape, awayFromZero: true });
const D = (...shape: (number | string)[]): GradInput => ({ shape, distinct: true });
const P = (...shape: (number | string)[]): GradInput => ({ shape, positive: true });

const cases: Case[] = [
  // arithmetic with broadcasting, including over the symbolic batch
  { name: 'Add broadcast', inputs: [S('N', 3, 4), S(4)], f: ([a, b]) => a!.add(b!) },
  { name: 'Sub broadcast', inputs: [S(2, 1, 4), S(3, 1)], f: ([a, b]) => a!.sub(b!) },
  { name: 'Mul broadcast batch', inputs: [S('N', 3), S(1, 3)], f: ([a, b]) => a!.mul(b!) },
  { name: 'Div', inputs: [S(3, 4), P(3, 4)], f: ([a, b]) => a!.div(b!) },
  { name: 'Pow', inputs: [P(3, 4), S(4)], f: ([a, b]) => a!.pow(b!) },
  { name: 'Neg', inputs: [S(5)], f: ([a]) => a!.neg() },
  { name: 'Sqrt', inputs: [P(5)], f: ([a]) => a!.sqrt() },
  { name: 'Exp', inputs: [S(5)], f: ([a]) => a!.exp() },
  { name: 'Log', inputs: [P(5)], f: ([a]) => a!.log() },
  { name: 'Abs', inputs: [A(6)], f: ([a]) => a!.abs() },
  { name: 'Erf', inputs: [S(6)], f: ([a]) => a!.erf() },
  { name: 'Clip', inputs: [S(12)], f: ([a]) => a!.clip(-0.5, 0.7) },
  { name: 'Max', inputs: [D(4, 3), D(3)], f: ([a, b]) => a!.max(b!.mul(0.97).add(0.013)) },
  { name: 'Min', inputs: [D(4, 3), D(4, 3)], f: ([a, b]) => a!.min(b!.mul(0.97).add(0.013)) },
  // activations
  { name: 'Relu', inputs: [A('N', 5)], f: ([a]) => a!.relu() },
  { name: 'LeakyRelu', inputs: [A(5)], f: ([a]) => a!.leakyRelu(0.2) },
  { name: 'Sigmoid', inputs: [S(5)], f: ([a]) => a!.sigmoid() },
  { name: 'Tanh', inputs: [S(5)], f: ([a]) => a!.tanh() },
  { name: 'Softplus', inputs: [S(5)], f: ([a]) => a!.softplus() },
  { name: 'Gelu', inputs: [S(5)], f: ([a]) => a!.gelu() },
  { name: 'Softmax', inputs: [S(3, 5)], f: ([a]) => a!.softmax(1) },
  { name: 'LogSoftmax', inputs: [S(3, 5)], f: ([a]) => a!.logSoftmax(-1) },
  { name: 'Where', inputs: [S(4, 3), S(3)], f: ([a, b]) => Tensor.where(a!.greater(0), a!, b!) },
  // linear algebra
  { name: 'MatMul 2D', inputs: [S(3, 4), S(4, 5)], f: ([a, b]) => a!.matmul(b!) },
  { name: 'MatMul batched x shared', inputs: [S('N', 3, 4), S(4, 2)], f: ([a, b]) => a!.matmul(b!) },
  { name: 'MatMul batched broadcast', inputs: [S(2, 3, 4), S(1, 4, 2)], f: ([a, b]) => a!.matmul(b!) },
  { name: 'Gemm', inputs: [S('N', 4), S(4, 3), S(3)], f: ([a, b, c]) => a!.gemm(b!, c!) },
  { name: 'Gemm transB', inputs: [S('N', 4), S(3, 4), S(3)], f: ([a, b, c]) => a!.gemm(b!, c!, { transB: 1 }) },
  { name: 'Gemm transA', inputs: [S(4, 2), S(4, 3)], f: ([a, b]) => a!.gemm(b!, undefined, { transA: 1 }) },
  { name: 'Gemm transA transB', inputs: [S(4, 2), S(3, 4)], f: ([a, b]) => a!.gemm(b!, undefined, { transA: 1, transB: 1 }) },
  // shape ops
  { name: 'Reshape symbolic', inputs: [S('N', 2, 6)], f: ([a]) => a!.reshape(['N', 3, 4]) },
  { name: 'Reshape -1', inputs: [S('N', 2, 6)], f: ([a]) => a!.reshape([-1, 6]) },
  { name: 'Flatten', inputs: [S('N', 2, 3, 2)], f: ([a]) => a!.flatten(1) },
  { name: 'Transpose', inputs: [S(2, 3, 4)], f: ([a]) => a!.transpose([2, 0, 1]) },
  { name: 'Squeeze/Unsqueeze', inputs: [S(3, 1, 4)], f: ([a]) => a!.squeeze([1]).unsqueeze([0]).mul(a!.squeeze([1])) },
  { name: 'Concat', inputs: [S('N', 2), S('N', 3)], f: ([a, b]) => Tensor.concat([a!, b!.mul(2)], 1) },
  { name: 'Slice', inputs: [S(5, 6)], f: ([a]) => a!.slice([1, 2], [4, -1], [0, 1]) },
  { name: 'Split', inputs: [S('N', 7)], f: ([a]) => { const [p, q] = a!.split([3, 4], 1); return p!.sum([1], true).mul(q!); } },
  { name: 'Split unused part', inputs: [S(2, 6)], f: ([a]) => a!.split([2, 4], 1)[1]! },
  { name: 'Expand', inputs: [S(1, 4)], f: ([a]) => a!.expand(a!.ints([3, 4])) },
  { name: 'Gather rows', inputs: [S(5, 3), { shape: [4], int64: BigInt64Array.of(0n, 3n, 3n, 1n) }], f: ([a, i]) => a!.gather(i!, 0) },
  // reductions
  { name: 'ReduceSum axes', inputs: [S('N', 3, 4)], f: ([a]) => a!.sum([1]) },
  { name: 'ReduceSum keepdims', inputs: [S(2, 3, 4)], f: ([a]) => a!.sum([0, 2], true) },
  { name: 'ReduceMean over batch', inputs: [S('N', 3)], f: ([a]) => a!.mean([0]) },
  { name: 'ReduceMean all', inputs: [S('N', 3, 2)], f: ([a]) => a!.mean() },
  { name: 'ReduceMax', inputs: [D(3, 5)], f: ([a]) => a!.amax([1], true) },
  // convolutions
  { name: 'Conv basic', inputs: [S('N', 2, 7, 7), S(3, 2, 3, 3), S(3)], f: ([x, w, b]) => x!.conv(w!, b!, {}) },
  { name: 'Conv stride 2 pad 1', inputs: [S(2, 2, 8, 7), S(3, 2, 3, 3)], f: ([x, w]) => x!.conv(w!, undefined, { strides: [2, 2], pads: [1, 1, 1, 1] }) },
  { name: 'Conv dilation 2', inputs: [S(2, 1, 9, 9), S(2, 1, 3, 3)], f: ([x, w]) => x!.conv(w!, undefined, { dilations: [2, 2] }) },
  { name: 'Conv stride+dilation+asym pad', inputs: [S(1, 2, 10, 9), S(2, 2, 3, 2)], f: ([x, w]) => x!.conv(w!, undefined, { strides: [2, 3], dilations: [2, 1], pads: [1, 0, 2, 1] }) },
  { name: 'Conv groups 2', inputs: [S(2, 4, 6, 6), S(6, 2, 3, 3), S(6)], f: ([x, w, b]) => x!.conv(w!, b!, { group: 2 }) },
  { name: 'Conv1d', inputs: [S('N', 2, 10), S(3, 2, 3), S(3)], f: ([x, w, b]) => x!.conv(w!, b!, { strides: [2], pads: [1, 1] }) },
  { name: 'ConvTranspose basic', inputs: [S('N', 2, 4, 4), S(2, 3, 3, 3), S(3)], f: ([x, w, b]) => x!.convTranspose(w!, b!, {}) },
  { name: 'ConvTranspose stride 2', inputs: [S(2, 3, 3, 3), S(3, 2, 5, 5)], f: ([x, w]) => x!.convTranspose(w!, undefined, { strides: [2, 2] }) },
  { name: 'ConvTranspose pad + output_padding', inputs: [S(1, 2, 4, 3), S(2, 2, 3, 3)], f: ([x, w]) => x!.convTranspose(w!, undefined, { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 0] }) },
  { name: 'ConvTranspose dilation', inputs: [S(1, 2, 3, 3), S(2, 1, 2, 3)], f: ([x, w]) => x!.convTranspose(w!, undefined, { dilations: [2, 1], strides: [1, 2] }) },
  // weight-gradient forms (src/graph/ops/conv.ts weightGradForm): one-channel signal -> one-hot
  // Conv patches + MatMul; stride 1 and channels >= 2x the kernel width -> channels-last Slice +
  // GEMM per offset
  { name: 'Conv 1 channel, patch Conv dW, stride+pad+dilation', inputs: [S('N', 1, 9, 8), S(3, 1, 3, 2), S(3)], f: ([x, w, b]) => x!.conv(w!, b!, { strides: [2, 1], pads: [1, 0, 2, 1], dilations: [1, 2] }) },
  { name: 'Conv 5 channels, slices dW, pad+dilation', inputs: [S('N', 5, 8, 9), S(2, 5, 3, 2), S(2)], f: ([x, w, b]) => x!.conv(w!, b!, { pads: [0, 1, 1, 2], dilations: [2, 1] }) },
  { name: 'Conv1d 6 channels, slices dW', inputs: [S('N', 6, 11), S(3, 6, 3)], f: ([x, w]) => x!.conv(w!, undefined, { pads: [1, 0] }) },
  { name: 'Conv groups 2, slices dW per group', inputs: [S(2, 12, 6, 6), S(4, 6, 3, 3)], f: ([x, w]) => x!.conv(w!, undefined, { group: 2 }) },
  { name: 'ConvTranspose 1 output channel, patch Conv dW, pads+output_padding', inputs: [S('N', 3, 4, 5), S(3, 1, 4, 3), S(1)], f: ([x, w, b]) => x!.convTranspose(w!, b!, { strides: [2, 2], pads: [1, 0, 1, 1], output_padding: [1, 0] }) },
  { name: 'ConvTranspose 6 output channels, slices dW, pads+dilation', inputs: [S('N', 2, 4, 3), S(2, 6, 2, 3)], f: ([x, w]) => x!.convTranspose(w!, undefined, { pads: [1, 1, 0, 1], dilations: [1, 2] }) },
  { name: 'chapter encoder.0 (1 -> 16, k4)', inputs: [S('N', 1, 28, 28), S(16, 1, 4, 4), S(16)], f: ([x, w, b]) => x!.conv(w!, b!, {}) },
  { name: 'chapter encoder.3 (16 -> 4, k4)', inputs: [S('N', 16, 12, 12), S(4, 16, 4, 4), S(4)], f: ([x, w, b]) => x!.conv(w!, b!, {}) },
  { name: 'chapter decoder.2 (16 -> 4, k5 s2)', inputs: [S('N', 16, 5, 5), S(16, 4, 5, 5), S(4)], f: ([x, w, b]) => x!.convTranspose(w!, b!, { strides: [2, 2] }) },
  { name: 'chapter decoder.4 (4 -> 1, k4 s2)', inputs: [S('N', 4, 13, 13), S(4, 1, 4, 4), S(1)], f: ([x, w, b]) => x!.convTranspose(w!, b!, { strides: [2, 2] }) },
  { name: 'ConvTranspose groups 2', inputs: [S(2, 4, 3, 3), S(4, 3, 2, 2), S(6)], f: ([x, w, b]) => x!.convTranspose(w!, b!, { group: 2, strides: [2, 2] }) },
  // pooling
  { name: 'MaxPool 2x2', inputs: [D('N', 2, 6, 6)], f: ([x]) => x!.maxPool([2, 2], [2, 2], [0, 0, 0, 0]) },
  { name: 'MaxPool overlapping padded', inputs: [D(1, 2, 7, 7)], f: ([x]) => x!.maxPool([3, 3], [2, 2], [1, 1, 1, 1]) },
  { name: 'AveragePool 9 (chapter)', inputs: [S('N', 2, 9, 9)], f: ([x]) => x!.avgPool([9, 9], [9, 9], [0, 0, 0, 0]) },
  { name: 'AveragePool strided padded', inputs: [S(1, 2, 7, 6)], f: ([x]) => x!.avgPool([3, 2], [2, 2], [1, 0, 1, 1]) },
  { name: 'GlobalAveragePool', inputs: [S('N', 3, 4, 5)], f: ([x]) => x!.globalAvgPool() },
];

for (const c of cases) {
  test(`VJP ${c.name}`, async () => {
    const r = await gradCheck(c.inputs, c.f);
    assert.ok(Math.abs(r.analytic) > 1e-4 || Math.abs(r.numeric) > 1e-4, `degenerate check: ${JSON.stringify(r)}`);
    assert.ok(r.relError < TOL, `analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relError.toExponential(2)})`);
  });
}

test('a wrong VJP is caught by the check (the check can fail)', async () => {
  // Sigmoid's output passed off as Tanh's: numerically different, so the check must reject it.
  const r = await gradCheck([S(6)], ([a]) => a!.sigmoid().mul(3));
  const wrong = await gradCheck([S(6)], ([a]) => a!.tanh().mul(3));
  assert.ok(r.relError < TOL && wrong.relError < TOL);
  assert.ok(Math.abs(r.analytic - wrong.analytic) / Math.abs(r.analytic) > 0.05);
});

interface TieCase { kernel: number[]; stride: number[]; padding: number; dilation: number; ceil_mode: boolean; x_shape: number[]; x: number[]; dy: number[]; dx: number[] }
const tieCases = (): TieCase[] => JSON.parse(readFileSync(new URL('../fixtures/parity/maxpool_ties.json', import.meta.url), 'utf8')).cases;
const describeCase = (c: TieCase) => `kernel ${c.kernel} stride ${c.stride} padding ${c.padding} dilation ${c.dilation} ceil ${c.ceil_mode} on ${c.x_shape}`;

/** The gradient of sum(maxPool(pre(x)) * dY) with respect to x on a fixture case, run by onnxruntime; the graph too, for inspection. */
async function poolGradient(c: TieCase, pre: (x: Tensor) => Tensor): Promise<{ got: Float32Array; graph: Graph }> {
  const g = new Graph();
  const x = new Tensor(g, g.input('x', 'float32', ['N', ...c.x_shape.slice(1)]));
  const y = pre(x).maxPool(c.kernel, c.stride, new Array(4).fill(c.padding), [c.dilation, c.dilation], c.ceil_mode ? 1 : 0);
  const dy = new Tensor(g, g.input('dy', 'float32', y.shape));
  const [dx] = gradients(g, y.mul(dy).sum().v, [x.v]);
  g.outputs = [dx!];
  const s = await createSession(emitModel(g));
  const yDims = [c.x_shape[0]!, ...(y.shape.slice(1) as number[])];
  const out = await s.run({ x: floatTensor(Float32Array.from(c.x), c.x_shape), dy: floatTensor(Float32Array.from(c.dy), yDims) });
  return { got: out[dx!.name]!.data as Float32Array, graph: g };
}

// Exact ties (all-zero windows, repeated values; tiling, overlapping, padded, dilated and ceil
// windows) cannot be checked by finite differences: compare with PyTorch's gradient directly
// (scripts/make_parity_fixtures.py), where each window's dY goes to its first maximum.
test('MaxPool gradient with tied maxima is PyTorch\'s (first maximum of each window gets dY)', async () => {
  for (const c of tieCases()) {
    const what = describeCase(c);
    const got = Array.from((await poolGradient(c, (x) => x)).got);
    assert.equal(got.length, c.dx.length, what);
    const wrong = got.findIndex((v, i) => Math.abs(v - c.dx[i]!) > 1e-6);
    assert.equal(wrong, -1, `${what}: dX[${wrong}] = ${got[wrong]}, PyTorch ${c.dx[wrong]}`);
    // Each window's dY lands on exactly one position, so dX keeps dY's total.
    const total = (a: number[]) => a.reduce((p, q) => p + q, 0);
    assert.ok(Math.abs(total(got) - total(c.dy)) < 1e-4, `${what}: dX sums to ${total(got)}, dY to ${total(c.dy)}`);
  }
});

// ReLU then MaxPool: MaxPool's rule masks dY at the pooled resolution and ReLU's rule passes the
// cotangent through (src/graph/ops/conv.ts). Exact against PyTorch on the tie fixtures whose
// inputs are >= 0 (so they are their own ReLU): dZ = dX(PyTorch's MaxPool) where the input > 0.
test('ReLU then MaxPool: the ReLU mask applied at the pooled resolution is exact, ties included', async () => {
  let checked = 0;
  for (const c of tieCases()) {
    if (Math.min(...c.x) < 0) continue;
    const what = describeCase(c);
    const { got, graph: g } = await poolGradient(c, (z) => z.relu());
    // ReLU's rule added no full-resolution mask of its own.
    assert.ok(!g.nodes.some((n) => n.scope.includes('/grad') && n.op === 'Where' && n.inputs.some((v) => v.producer?.op === 'Greater' && v.producer.inputs[0]!.producer?.op === 'Relu')), `${what}: ReLU masked again`);
    const wrong = c.dx.findIndex((v, i) => Math.abs((c.x[i]! > 0 ? v : 0) - got[i]!) > 1e-6);
    assert.equal(wrong, -1, `${what}: dZ[${wrong}] = ${got[wrong]}, expected ${c.x[wrong]! > 0 ? c.dx[wrong] : 0}`);
    checked++;
  }
  assert.ok(checked >= 5, `${checked} fixture cases checked`);
});

test('ReLU then MaxPool: numerical gradient (tiling and overlapping windows)', async () => {
  // Distinct values, none near 0 (ReLU's kink), on a grid spaced well beyond the check's eps.
  const grid = (n: number, seed: number) => {
    const v = Array.from({ length: n }, (_, i) => (i + 0.5) / n - 0.5).map((x) => x + Math.sign(x) * 0.1);
    let s = seed;
    for (let i = n - 1; i > 0; i--) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      const j = s % (i + 1);
      [v[i], v[j]] = [v[j]!, v[i]!];
    }
    return Float32Array.from(v);
  };
  for (const [k, st, pad] of [[2, 2, 0], [3, 2, 1]] as const) {
    const r = await gradCheck([{ shape: [2, 2, 7, 7], data: grid(196, k) }], ([z]) => z!.relu().maxPool([k, k], [st, st], [pad, pad, pad, pad]));
    assert.ok(Math.abs(r.analytic) > 1e-4, `degenerate check: ${JSON.stringify(r)}`);
    assert.ok(r.relError < TOL, `kernel ${k}: analytic ${r.analytic} vs numeric ${r.numeric}`);
  }
  // The ReLU's output also feeds another op: the summed cotangent is masked by ReLU's own rule.
  const r = await gradCheck([{ shape: [2, 2, 6, 6], data: grid(144, 5) }], ([z]) => {
    const a = z!.relu();
    return a.maxPool([2, 2], [2, 2], [0, 0, 0, 0]).sum([2, 3]).add(a.mul(0.5).sum([2, 3])); // d(0.5a)/da is 0.5 everywhere, ReLU must mask it
  });
  assert.ok(Math.abs(r.analytic) > 1e-4 && r.relError < TOL, `shared ReLU output: analytic ${r.analytic} vs numeric ${r.numeric}`);
});
