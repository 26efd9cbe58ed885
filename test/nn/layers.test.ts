// Every layer and loss against central differences through onnxruntime, with respect to its
// inputs AND its parameters (gradCheck's `module` option), plus the losses' forward values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tensor } from '../../src/graph/tensor.js';
import {
  BCELoss,
  BCEWithLogitsLoss,
  CrossEntropyLoss,
  gaussianKl,
  L1Loss,
  MSELoss,
  type Reduction,
} from '../../src/losses/index.js';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv1d,
  Conv2d,
  ConvTranspose2d,
  Dropout,
  Embedding,
  Flatten,
  GELU,
  Identity,
  LayerNorm,
  LeakyReLU,
  Linear,
  LSTM,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  Sigmoid,
  Softplus,
  Tanh,
  Unflatten,
} from '../../src/nn/index.js';
import { ForwardGraph, ParamStore } from '../../src/runtime/compile.js';
import { Rng } from '../../src/util/random.js';
import { gradCheck, type GradInput } from '../helpers/gradcheck.js';

const TOL = 2e-2;

const S = (...shape: (number | string)[]): GradInput => ({ shape });
const A = (...shape: (number | string)[]): GradInput => ({ shape, awayFromZero: true });
const D = (...shape: (number | string)[]): GradInput => ({ shape, distinct: true });
const I = (shape: number[], values: number[]): GradInput => ({ shape, int64: BigInt64Array.from(values.map(BigInt)) });
const F = (shape: number[], data: Float32Array): GradInput => ({ shape, data });

/** Give every parameter non-trivial values (BatchNorm's weight 1 / bias 0 would hide errors). */
function randomizeParams(m: Module, seed = 11): Module {
  const rng = new Rng(seed);
  for (const [, p] of m.namedParameters()) rng.fillUniform(p.data, -1, 1);
  return m;
}

async function check(inputs: GradInput[], build: (xs: Tensor[]) => Tensor, module?: Module, batch?: number): Promise<void> {
  const r = await gradCheck(inputs, build, { module, batch });
  assert.ok(Math.abs(r.analytic) > 1e-4 || Math.abs(r.numeric) > 1e-4, `degenerate check: ${JSON.stringify(r)}`);
  assert.ok(r.relError < TOL, `analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relError.toExponential(2)})`);
}

interface LayerCase {
  name: string;
  make: () => Module;
  inputs: GradInput[];
  /** How to call the module; defaults to m.call(x). */
  call?: (m: Module, xs: Tensor[]) => Tensor;
  /** Check that the module actually has parameters the check differentiates. */
  params?: number;
}

const cases: LayerCase[] = [
  // linear
  { name: 'Linear 2-D input', make: () => new Linear(4, 3), inputs: [S('N', 4)], params: 2 },
  { name: 'Linear 3-D input', make: () => new Linear(4, 3), inputs: [S('N', 2, 4)], params: 2 },
  { name: 'Linear no bias', make: () => new Linear(4, 3, false), inputs: [S('N', 4)], params: 1 },
  // convolution
  { name: 'Conv1d stride 2 padding 1', make: () => new Conv1d(2, 3, 3, { stride: 2, padding: 1 }), inputs: [S('N', 2, 10)], params: 2 },
  { name: 'Conv1d dilation groups', make: () => new Conv1d(4, 2, 2, { dilation: 2, groups: 2 }), inputs: [S('N', 4, 9)], params: 2 },
  { name: 'Conv2d basic', make: () => new Conv2d(2, 3, 3), inputs: [S('N', 2, 6, 6)], params: 2 },
  { name: 'Conv2d stride 2 padding 1', make: () => new Conv2d(2, 3, 3, { stride: 2, padding: 1 }), inputs: [S('N', 2, 7, 8)], params: 2 },
  { name: 'Conv2d dilation 2', make: () => new Conv2d(1, 2, 3, { dilation: 2 }), inputs: [S('N', 1, 9, 9)], params: 2 },
  { name: 'Conv2d groups 2 no bias', make: () => new Conv2d(4, 6, 3, { groups: 2, bias: false }), inputs: [S('N', 4, 6, 6)], params: 1 },
  { name: 'Conv2d depthwise', make: () => new Conv2d(3, 3, 3, { groups: 3, padding: 1 }), inputs: [S('N', 3, 5, 5)], params: 2 },
  {
    name: 'Conv2d rectangular kernel, per-axis stride/padding/dilation',
    make: () => new Conv2d(2, 4, [3, 2], { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 }),
    inputs: [S('N', 2, 9, 8)],
    params: 2,
  },
  // transposed convolution
  { name: 'ConvTranspose2d basic', make: () => new ConvTranspose2d(2, 3, 3), inputs: [S('N', 2, 4, 4)], params: 2 },
  { name: 'ConvTranspose2d stride 2', make: () => new ConvTranspose2d(3, 2, 5, { stride: 2 }), inputs: [S('N', 3, 3, 3)], params: 2 },
  {
    name: 'ConvTranspose2d stride 2 padding 1 output_padding 1',
    make: () => new ConvTranspose2d(2, 2, 3, { stride: 2, padding: 1, output_padding: 1 }),
    inputs: [S('N', 2, 4, 3)],
    params: 2,
  },
  {
    name: 'ConvTranspose2d per-axis output_padding',
    make: () => new ConvTranspose2d(2, 2, 3, { stride: [2, 3], padding: [1, 0], output_padding: [1, 2] }),
    inputs: [S('N', 2, 3, 3)],
    params: 2,
  },
  { name: 'ConvTranspose2d dilation 2', make: () => new ConvTranspose2d(2, 1, [2, 3], { dilation: [2, 1], stride: [1, 2] }), inputs: [S('N', 2, 3, 3)], params: 2 },
  {
    name: 'ConvTranspose2d dilation + output_padding',
    make: () => new ConvTranspose2d(2, 2, 3, { dilation: 2, stride: 2, output_padding: 1 }),
    inputs: [S('N', 2, 3, 3)],
    params: 2,
  },
  { name: 'ConvTranspose2d groups 2', make: () => new ConvTranspose2d(4, 6, 2, { groups: 2, stride: 2 }), inputs: [S('N', 4, 3, 3)], params: 2 },
  { name: 'ConvTranspose2d no bias', make: () => new ConvTranspose2d(2, 2, 2, { bias: false }), inputs: [S('N', 2, 3, 3)], params: 1 },
  // pooling (distinct inputs: no argmax can switch under the finite difference)
  { name: 'MaxPool2d 2', make: () => new MaxPool2d(2), inputs: [D('N', 2, 6, 6)] },
  { name: 'MaxPool2d 2 on odd size', make: () => new MaxPool2d(2, 2), inputs: [D('N', 2, 7, 5)] },
  { name: 'MaxPool2d overlapping padded', make: () => new MaxPool2d(3, 2, 1), inputs: [D('N', 2, 7, 7)] },
  { name: 'MaxPool2d dilation 2', make: () => new MaxPool2d(2, 1, 0, 2), inputs: [D('N', 1, 6, 6)] },
  { name: 'MaxPool2d ceil_mode', make: () => new MaxPool2d(2, 2, 0, 1, true), inputs: [D('N', 1, 5, 5)] },
  { name: 'AvgPool2d 9 (chapter)', make: () => new AvgPool2d(9), inputs: [S('N', 2, 9, 9)] },
  { name: 'AvgPool2d 2 stride 1', make: () => new AvgPool2d(2, 1), inputs: [S('N', 2, 4, 5)] },
  { name: 'AvgPool2d padded', make: () => new AvgPool2d(3, 2, 1), inputs: [S('N', 2, 7, 6)] },
  { name: 'AvgPool2d ceil_mode', make: () => new AvgPool2d(2, 2, 0, true), inputs: [S('N', 1, 5, 5)] },
  { name: 'AvgPool2d ceil_mode, window fits exactly', make: () => new AvgPool2d(2, 2, 0, true), inputs: [S('N', 1, 4, 6)] },
  { name: 'MaxPool2d ceil_mode padded', make: () => new MaxPool2d(3, 2, 1, 1, true), inputs: [D('N', 1, 6, 6)] },
  { name: 'AvgPool2d ceil_mode padded', make: () => new AvgPool2d(3, 2, 1, true), inputs: [S('N', 1, 6, 6)] },
  { name: 'AdaptiveAvgPool2d(1)', make: () => new AdaptiveAvgPool2d(1), inputs: [S('N', 3, 4, 5)] },
  // shape
  { name: 'Flatten default', make: () => new Flatten(), inputs: [S('N', 2, 3, 2)] },
  { name: 'Flatten(1, 2)', make: () => new Flatten(1, 2), inputs: [S('N', 2, 3, 2)] },
  { name: 'Unflatten', make: () => new Unflatten(1, [2, 3]), inputs: [S('N', 6)] },
  // activations (kinks kept away from the finite difference)
  { name: 'ReLU', make: () => new ReLU(), inputs: [A('N', 5)] },
  { name: 'LeakyReLU default slope', make: () => new LeakyReLU(), inputs: [A('N', 5)] },
  { name: 'LeakyReLU 0.2', make: () => new LeakyReLU(0.2), inputs: [A('N', 5)] },
  { name: 'Sigmoid', make: () => new Sigmoid(), inputs: [S('N', 5)] },
  { name: 'Tanh', make: () => new Tanh(), inputs: [S('N', 5)] },
  { name: 'GELU', make: () => new GELU(), inputs: [S('N', 5)] },
  { name: 'Softplus', make: () => new Softplus(), inputs: [S('N', 5)] },
  { name: 'Identity', make: () => new Identity(), inputs: [S('N', 5)] },
  // regularisation (the mask is a fixed random input, so the layer is linear in x)
  { name: 'Dropout 0.5 (train)', make: () => new Dropout(0.5), inputs: [S('N', 4, 5)] },
  { name: 'Dropout 0.2 (train)', make: () => new Dropout(0.2), inputs: [S('N', 8)] },
  // normalisation, training mode (batch statistics)
  { name: 'BatchNorm1d 2-D train', make: () => randomizeParams(new BatchNorm1d(3)), inputs: [S('N', 3)], params: 2 },
  { name: 'BatchNorm1d 3-D train', make: () => randomizeParams(new BatchNorm1d(3)), inputs: [S('N', 3, 5)], params: 2 },
  { name: 'BatchNorm2d train', make: () => randomizeParams(new BatchNorm2d(3)), inputs: [S('N', 3, 4, 4)], params: 2 },
  { name: 'BatchNorm2d train, no affine', make: () => new BatchNorm2d(2, 1e-5, 0.1, false), inputs: [S('N', 2, 3, 3)], params: 0 },
  // normalisation, eval mode (running statistics)
  { name: 'BatchNorm1d 2-D eval', make: () => withRunningStats(new BatchNorm1d(3)), inputs: [S('N', 3)], call: evalCall, params: 2 },
  { name: 'BatchNorm1d 3-D eval', make: () => withRunningStats(new BatchNorm1d(3)), inputs: [S('N', 3, 5)], call: evalCall, params: 2 },
  { name: 'BatchNorm2d eval', make: () => withRunningStats(new BatchNorm2d(3)), inputs: [S('N', 3, 4, 4)], call: evalCall, params: 2 },
  { name: 'LayerNorm last dim', make: () => randomizeParams(new LayerNorm(4)), inputs: [S('N', 3, 4)], params: 2 },
  { name: 'LayerNorm two dims', make: () => randomizeParams(new LayerNorm([3, 4])), inputs: [S('N', 3, 4)], params: 2 },
  // lookup
  { name: 'Embedding (int64 indices, repeated)', make: () => new Embedding(6, 4), inputs: [I([2, 3], [0, 5, 2, 2, 5, 1])], params: 1 },
  // containers
  {
    name: 'Sequential',
    make: () => new Sequential(new Linear(4, 5), new Tanh(), new Linear(5, 3), new Sigmoid()),
    inputs: [S('N', 4)],
    params: 4,
  },
  {
    name: 'Sequential conv stack (chapter-like)',
    make: () => new Sequential(new Conv2d(1, 2, 3), new Tanh(), new AvgPool2d(2), new ConvTranspose2d(2, 1, 4, { stride: 2 }), new Sigmoid()),
    inputs: [S('N', 1, 6, 6)],
    params: 4,
  },
];

function withRunningStats<T extends BatchNorm1d | BatchNorm2d>(bn: T): T {
  const rng = new Rng(5);
  rng.fillUniform(bn.running_mean.data as Float32Array, -0.5, 0.5);
  rng.fillUniform(bn.running_var.data as Float32Array, 0.5, 2);
  randomizeParams(bn);
  return bn;
}

function evalCall(m: Module, [x]: Tensor[]): Tensor {
  // gradCheck puts the module in training mode before building: switch to eval here.
  m.eval();
  return m.call(x!);
}

for (const c of cases) {
  test(`layer grad ${c.name}`, async () => {
    const m = c.make();
    if (c.params !== undefined) assert.equal(m.parameters().length, c.params, 'parameter count');
    await check(c.inputs, (xs) => (c.call ? c.call(m, xs) : m.call(xs[0]!)), m);
  });
}

test('BatchNorm eval really reads the running statistics (differs from train mode)', async () => {
  // A guard for the eval cases above: if eval() were ignored, eval and train would agree.
  const bn = withRunningStats(new BatchNorm1d(3));
  const store = new ParamStore(bn);
  const x = new Rng(1).fillUniform(new Float32Array(4 * 3), -1, 1);
  const run = async (training: boolean) =>
    (await (await ForwardGraph.create(bn, [{ name: 'x', shape: [3] }], (m, [t]) => ({ loss: t!.sum(), outputs: { y: m.call(t!) } }), store, { training })).run([x], 4)).outputs.y!;
  const yTrain = await run(true);
  const yEval = await run(false);
  const w = bn.weight!.data, b = bn.bias!.data, rm = bn.running_mean.data as Float32Array, rv = bn.running_var.data as Float32Array;
  for (let i = 0; i < 12; i++) {
    const c = i % 3;
    const want = ((x[i]! - rm[c]!) / Math.sqrt(rv[c]! + 1e-5)) * w[c]! + b[c]!;
    assert.ok(Math.abs(yEval[i]! - want) < 1e-5, `eval y[${i}] ${yEval[i]} vs ${want}`);
  }
  assert.ok(yTrain.some((v, i) => Math.abs(v - yEval[i]!) > 1e-3), 'train and eval outputs agree');
});

/** PyTorch's pooling output size (ceil_mode drops a last window that would start in the end padding). */
function torchPoolOut(n: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = n + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= n + p) o--;
  return o;
}

test('pooling output shapes (ceil_mode, padding) agree with PyTorch and onnxruntime, or are refused at build time', async () => {
  const configs: [string, Module, number, number, number, number, boolean][] = [];
  for (const [k, s, p, ceil] of [[2, 2, 0, false], [2, 2, 0, true], [2, 2, 1, true], [3, 2, 1, true], [3, 3, 1, true], [3, 2, 0, true]] as const) {
    configs.push([`MaxPool2d(${k},${s},${p},ceil=${ceil})`, new MaxPool2d(k, s, p, 1, ceil), k, s, p, 1, ceil]);
    configs.push([`AvgPool2d(${k},${s},${p},ceil=${ceil})`, new AvgPool2d(k, s, p, ceil), k, s, p, 1, ceil]);
  }
  const problems: string[] = [];
  for (const [what, m, k, s, p, d, ceil] of configs) {
    for (const n of [5, 6, 7]) {
      let declared: (number | string)[] = [];
      const build = () => ForwardGraph.create(m, [{ name: 'x', shape: [1, n, n] }], (mm, [x]) => {
        const y = mm.call(x!);
        declared = y.shape;
        return { loss: x!.sum(), outputs: { y } };
      }, new ParamStore(m));
      const span = n + 2 * p - d * (k - 1) - 1;
      if (ceil && Math.ceil(span / s) * s >= n + p) {
        // PyTorch drops a window starting in the padding; onnxruntime cannot express that: refused at build time.
        await assert.rejects(build, /ceil_mode with padding/);
        continue;
      }
      const fg = await build();
      const r = await fg.run([new Float32Array(n * n).fill(1)], 1);
      await fg.release();
      const want = torchPoolOut(n, k, s, p, d, ceil);
      const got = r.dims.y!;
      if (declared[2] !== want || got[2] !== want) problems.push(`${what} on ${n}x${n}: PyTorch ${want}, build-time shape ${declared[2]}, onnxruntime ${got[2]}`);
    }
  }
  assert.deepEqual(problems, []);
});

// ---------------- LSTM ----------------

for (const batchFirst of [true, false]) {
  for (const withState of [false, true]) {
    test(`layer grad LSTM num_layers 2, batch_first ${batchFirst}, ${withState ? 'with' : 'without'} initial state`, async () => {
      const lstm = new LSTM(3, 4, 2, true, batchFirst);
      assert.equal(lstm.parameters().length, 8);
      const N = 2, T = 4;
      const x = S(...(batchFirst ? [N, T, 3] : [T, N, 3]));
      const inputs = withState ? [x, S(2, N, 4), S(2, N, 4)] : [x];
      await check(inputs, ([xt, h0, c0]) => {
        const [out, [hn, cn]] = lstm.call(xt!, withState ? [h0!, c0!] : undefined) as [Tensor, [Tensor, Tensor]];
        assert.deepEqual(out.shape, batchFirst ? [N, T, 4] : [T, N, 4]);
        assert.deepEqual(hn.shape, [2, N, 4]);
        assert.deepEqual(cn.shape, [2, N, 4]);
        // Every output takes part: the sequence output and both final states.
        return concat1d([out, hn, cn]);
      }, lstm);
    });
  }
}

test('layer grad LSTM without bias, single step', async () => {
  const lstm = new LSTM(2, 3, 1, false, true);
  assert.equal(lstm.parameters().length, 2);
  await check([S(2, 1, 2)], ([x]) => {
    const [out, [hn, cn]] = lstm.call(x!) as [Tensor, [Tensor, Tensor]];
    return concat1d([out, hn, cn]);
  }, lstm);
});

function concat1d(ts: Tensor[]): Tensor {
  return Tensor.concat(ts.map((t) => t.reshape([-1])), 0);
}

// ---------------- losses: gradients ----------------

const REDUCTIONS: Reduction[] = ['mean', 'sum', 'none'];

function uniformData(n: number, lo: number, hi: number, seed: number): Float32Array {
  return new Rng(seed).fillUniform(new Float32Array(n), lo, hi);
}

/** Rows of probabilities (each sums to 1). */
function probRows(rows: number, cols: number, seed: number): Float32Array {
  const d = uniformData(rows * cols, 0.1, 1, seed);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += d[r * cols + c]!;
    for (let c = 0; c < cols; c++) d[r * cols + c]! /= s;
  }
  return d;
}

/** Input and target whose difference stays at least 0.2 away from 0 (L1's kink). */
function apartPair(n: number, seed: number): [Float32Array, Float32Array] {
  const rng = new Rng(seed);
  const t = rng.fillUniform(new Float32Array(n), -1, 1);
  const x = t.map((v) => v + (rng.uniform() < 0.5 ? -1 : 1) * (0.2 + rng.uniform()));
  return [x, t];
}

const [l1x, l1t] = apartPair(12, 3);
const lossCases: { name: string; make: (r: Reduction) => Module | ((xs: Tensor[]) => Tensor); inputs: GradInput[] }[] = [
  { name: 'MSELoss', make: (r) => new MSELoss(r), inputs: [S(4, 3), S(4, 3)] },
  { name: 'L1Loss', make: (r) => new L1Loss(r), inputs: [F([4, 3], l1x), F([4, 3], l1t)] },
  { name: 'BCELoss (inputs in (0,1))', make: (r) => new BCELoss(r), inputs: [F([4, 3], uniformData(12, 0.05, 0.95, 4)), F([4, 3], uniformData(12, 0, 1, 5))] },
  { name: 'BCEWithLogitsLoss', make: (r) => new BCEWithLogitsLoss(r), inputs: [A(4, 3), F([4, 3], uniformData(12, 0, 1, 6))] },
  { name: 'CrossEntropyLoss int64 targets', make: (r) => new CrossEntropyLoss(r), inputs: [S(4, 5), I([4], [0, 4, 2, 4])] },
  { name: 'CrossEntropyLoss probability targets', make: (r) => new CrossEntropyLoss(r), inputs: [S(4, 5), F([4, 5], probRows(4, 5, 7))] },
  { name: 'gaussianKl', make: (r) => ([mu, logvar]: Tensor[]) => gaussianKl(mu!, logvar!, r), inputs: [S(4, 3), S(4, 3)] },
];

for (const c of lossCases) {
  for (const red of REDUCTIONS) {
    test(`loss grad ${c.name} reduction ${red}`, async () => {
      const made = c.make(red);
      if (made instanceof Module) await check(c.inputs, (xs) => made.call(xs[0]!, xs[1]!), made);
      else await check(c.inputs, made);
    });
  }
}

// ---------------- losses: forward values against host formulas ----------------

class NoParams extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Evaluate fn on the host-supplied inputs (batch 4) through a ForwardGraph; returns mean, sum, none. */
async function lossValues(
  specs: { name: string; shape: number[]; dtype?: 'float32' | 'int64' }[],
  data: (Float32Array | BigInt64Array)[],
  fn: (xs: Tensor[], r: Reduction) => Tensor,
): Promise<{ mean: number; sum: number; none: Float32Array }> {
  const m = new NoParams();
  const fg = await ForwardGraph.create(m, specs, (_m, xs) => ({ loss: fn(xs, 'mean'), outputs: { sum: fn(xs, 'sum'), none: fn(xs, 'none') } }), new ParamStore(m));
  const r = await fg.run(data, 4);
  await fg.release();
  return { mean: r.loss!, sum: r.outputs.sum![0]!, none: r.outputs.none! };
}

function assertReductions(got: { mean: number; sum: number; none: Float32Array }, perElement: number[], what: string): void {
  assert.equal(got.none.length, perElement.length, `${what}: 'none' keeps one value per element`);
  perElement.forEach((v, i) => assert.ok(Math.abs(got.none[i]! - v) < 1e-5 * Math.max(1, Math.abs(v)), `${what} none[${i}]: ${got.none[i]} vs ${v}`));
  const sum = perElement.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(got.sum - sum) < 1e-4 * Math.max(1, Math.abs(sum)), `${what} sum: ${got.sum} vs ${sum}`);
  const mean = sum / perElement.length;
  assert.ok(Math.abs(got.mean - mean) < 1e-5 * Math.max(1, Math.abs(mean)), `${what} mean: ${got.mean} vs ${mean}`);
}

const X = uniformData(12, -2, 2, 21);
const T01 = uniformData(12, 0, 1, 22);
const P01 = uniformData(12, 0.02, 0.98, 23);
const XY = [{ name: 'x', shape: [3] }, { name: 't', shape: [3] }];

test('loss values: MSE, L1 with each reduction', async () => {
  const mse = await lossValues(XY, [X, T01], ([x, t], r) => new MSELoss(r).call(x!, t!));
  assertReductions(mse, Array.from(X, (v, i) => (v - T01[i]!) ** 2), 'mse');
  const l1 = await lossValues(XY, [X, T01], ([x, t], r) => new L1Loss(r).call(x!, t!));
  assertReductions(l1, Array.from(X, (v, i) => Math.abs(v - T01[i]!)), 'l1');
});

test('loss values: BCE (with PyTorch\'s log clamp at -100) and BCEWithLogits', async () => {
  const p = Float32Array.from(P01);
  p[0] = 0; // log(0) clamps to -100: the term is -(t·(-100) + (1-t)·log 1)
  p[1] = 1;
  const bce = await lossValues(XY, [p, T01], ([x, t], r) => new BCELoss(r).call(x!, t!));
  const clampLog = (v: number) => Math.max(Math.log(v), -100);
  assertReductions(bce, Array.from(p, (v, i) => -(T01[i]! * clampLog(v) + (1 - T01[i]!) * clampLog(1 - v))), 'bce');
  const logits = Float32Array.from(X);
  logits[0] = 30; // stable for large |x|
  logits[1] = -30;
  const bcel = await lossValues(XY, [logits, T01], ([x, t], r) => new BCEWithLogitsLoss(r).call(x!, t!));
  const ref = Array.from(logits, (v, i) => {
    const t = T01[i]!;
    // log σ(v) and log(1-σ(v)) computed stably
    const logSig = -Math.log1p(Math.exp(-Math.abs(v))) + Math.min(v, 0);
    const log1mSig = logSig - v;
    return -(t * logSig + (1 - t) * log1mSig);
  });
  assertReductions(bcel, ref, 'bce_with_logits');
});

test('loss values: CrossEntropy with class indices and with probabilities', async () => {
  const logits = uniformData(4 * 5, -2, 2, 31);
  const cls = [3, 0, 4, 1];
  const logSoftmax = (row: number) => {
    const r = Array.from(logits.subarray(row * 5, row * 5 + 5));
    const m = Math.max(...r);
    const lse = m + Math.log(r.reduce((a, v) => a + Math.exp(v - m), 0));
    return r.map((v) => v - lse);
  };
  const specs = [{ name: 'x', shape: [5] }, { name: 't', shape: [], dtype: 'int64' as const }];
  const ce = await lossValues(specs, [logits, BigInt64Array.from(cls.map(BigInt))], ([x, t], r) => new CrossEntropyLoss(r).call(x!, t!));
  assertReductions(ce, cls.map((c, n) => -logSoftmax(n)[c]!), 'cross_entropy indices');
  const probs = probRows(4, 5, 32);
  const cep = await lossValues([{ name: 'x', shape: [5] }, { name: 't', shape: [5] }], [logits, probs], ([x, t], r) => new CrossEntropyLoss(r).call(x!, t!));
  assertReductions(cep, [0, 1, 2, 3].map((n) => -logSoftmax(n).reduce((a, l, c) => a + l * probs[n * 5 + c]!, 0)), 'cross_entropy probabilities');
});

test('loss values: gaussianKl sums over the latent axis, one value per sample', async () => {
  const mu = uniformData(12, -1, 1, 41);
  const lv = uniformData(12, -1, 1, 42);
  const kl = await lossValues([{ name: 'mu', shape: [3] }, { name: 'lv', shape: [3] }], [mu, lv], ([m, l], r) => gaussianKl(m!, l!, r));
  const per = [0, 1, 2, 3].map((n) => {
    let s = 0;
    for (let j = 0; j < 3; j++) {
      const k = n * 3 + j;
      s += 1 + lv[k]! - mu[k]! ** 2 - Math.exp(lv[k]!);
    }
    return -0.5 * s;
  });
  assertReductions(kl, per, 'gaussian_kl');
});

test('losses reject mismatched input and target shapes at build time', () => {
  const m = new NoParams();
  return assert.rejects(
    ForwardGraph.create(m, XY.map((s, i) => ({ ...s, shape: [3 + i] })), (_m, [x, t]) => ({ loss: new MSELoss().call(x!, t!) }), new ParamStore(m)),
    /mse_loss: input \[N, 3\] and target \[N, 4\] differ/,
  );
});
