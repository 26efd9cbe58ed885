// LSTM sequence autoencoders: gradients of the reversed, conditional and composite decoders,
// the conditional decoder against a host-computed reference, and shape errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { predictSequences, scoreWindows } from '../../src/tasks/seq/sequences.js';
import { Tensor } from '../../src/graph/tensor.js';
import { LSTMAutoencoder, sequenceStep } from '../../src/models/sequence.js';
import { getPreset } from '../../src/models/presets.js';
import { manualSeed } from '../../src/nn/init.js';
import type { Module } from '../../src/nn/module.js';
import { Adam } from '../../src/optim/optimizer.js';
import { ForwardGraph, ParamStore, TrainingStep } from '../../src/runtime/compile.js';
import { Rng } from '../../src/util/random.js';
import { gradCheck, type GradInput } from '../helpers/gradcheck.js';

const TOL = 2e-2;
const S = (...shape: (number | string)[]): GradInput => ({ shape });

async function check(inputs: GradInput[], build: (xs: Tensor[]) => Tensor, module: Module): Promise<void> {
  const r = await gradCheck(inputs, build, { module, batch: 2 });
  assert.ok(Math.abs(r.analytic) > 1e-4 || Math.abs(r.numeric) > 1e-4, `degenerate check: ${JSON.stringify(r)}`);
  assert.ok(r.relError < TOL, `analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relError.toExponential(2)})`);
}

test('grad: unconditioned reversed decoder, 2 layers (input and every parameter)', async () => {
  manualSeed(1);
  const m = new LSTMAutoencoder(3, 4, 5, 2);
  await check([S('N', 5, 3)], ([x]) => m.call(x!), m);
});

test('grad: conditional decoder with teacher forcing (training) and free-running', async () => {
  manualSeed(2);
  const m = new LSTMAutoencoder(3, 4, 4, { conditional: true });
  await check([S('N', 4, 3)], ([x]) => m.call(x!), m); // training mode: ground-truth previous frames
  await check([S('N', 4, 3)], ([x]) => m.reconstruct(x!), m); // own previous outputs
});

test('grad: composite model (conditional, sigmoid heads) through the whole BCE objective', async () => {
  manualSeed(3);
  const m = new LSTMAutoencoder(3, 4, 3, { conditional: true, future: 2, loss: 'bce', futureWeight: 0.5 });
  const step = sequenceStep();
  // Inputs in (0, 1) as BCE targets.
  const inputs: GradInput[] = [{ shape: ['N', 3, 3], positive: true }, { shape: ['N', 2, 3], positive: true }].map((s) => ({ ...s, data: new Rng(9).fillUniform(new Float32Array(2 * 3 * (s.shape[1] as number)), 0.05, 0.95) }));
  await check(inputs, ([x, f]) => step(m, [x!, f!]).loss.reshape([1]), m);
  const free = (x: Tensor) => {
    const seq = m.toSeq(x);
    const st = m.encodeState(seq);
    return Tensor.concat([m.reconstructReversed(st, seq), m.predictFuture(st, seq)], 1);
  };
  await check([S('N', 3, 3)], ([x]) => free(x!), m);
});

// ---------------- host reference ----------------

const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** One PyTorch LSTM cell step (gates i, f, g, o) on the host. */
function cell(m: LSTMAutoencoder, lstm: 'encoder' | 'decoder' | 'predictor', x: number[], h: number[], c: number[]): [number[], number[]] {
  const l = (m as any)[lstm];
  const H = m.hidden;
  const wih = l.weight_ih_l0.data as Float32Array, whh = l.weight_hh_l0.data as Float32Array;
  const bih = l.bias_ih_l0.data as Float32Array, bhh = l.bias_hh_l0.data as Float32Array;
  const gates = new Array<number>(4 * H).fill(0).map((_, r) => {
    let s = bih[r]! + bhh[r]!;
    for (let k = 0; k < x.length; k++) s += wih[r * x.length + k]! * x[k]!;
    for (let k = 0; k < H; k++) s += whh[r * H + k]! * h[k]!;
    return s;
  });
  const c2 = c.map((cv, j) => sig(gates[H + j]!) * cv + sig(gates[j]!) * Math.tanh(gates[2 * H + j]!));
  const h2 = c2.map((cv, j) => sig(gates[3 * H + j]!) * Math.tanh(cv));
  return [h2, c2];
}

function headOf(m: LSTMAutoencoder, name: 'head' | 'predictorHead', h: number[]): number[] {
  const lin = (m as any)[name];
  const w = lin.weight.data as Float32Array, b = lin.bias.data as Float32Array;
  return Array.from({ length: m.features }, (_, r) => {
    let s = b[r]!;
    for (let k = 0; k < h.length; k++) s += w[r * h.length + k]! * h[k]!;
    return m.output === 'sigmoid' ? sig(s) : s;
  });
}

/** Host composite model on one sequence: free-running or teacher-forced decoders. */
function hostComposite(m: LSTMAutoencoder, x: number[][], future: number[][], teacher: boolean) {
  let h = new Array<number>(m.hidden).fill(0), c = h.slice();
  for (const xt of x) [h, c] = cell(m, 'encoder', xt, h, c);
  const rev = [...x].reverse();
  const recon: number[][] = [];
  let hd = h, cd = c, inp = new Array<number>(m.features).fill(0);
  for (let t = 0; t < m.steps; t++) {
    [hd, cd] = cell(m, 'decoder', inp, hd, cd);
    const y = headOf(m, 'head', hd);
    recon.push(y);
    inp = teacher ? rev[t]! : y;
  }
  const fut: number[][] = [];
  let hp = h, cp = c;
  inp = x[x.length - 1]!;
  for (let t = 0; t < m.future; t++) {
    [hp, cp] = cell(m, 'predictor', inp, hp, cp);
    const y = headOf(m, 'predictorHead', hp);
    fut.push(y);
    inp = teacher ? future[t]! : y;
  }
  return { recon: recon.reverse(), future: fut };
}

test('conditional composite decoders match a host LSTM reference (teacher-forced and free-running)', async () => {
  manualSeed(4);
  const T = 4, K = 3, F = 3, N = 2;
  const m = new LSTMAutoencoder(F, 5, T, { conditional: true, future: K, loss: 'bce' });
  const rng = new Rng(21);
  const x = rng.fillUniform(new Float32Array(N * T * F));
  const fu = rng.fillUniform(new Float32Array(N * K * F));
  const rows = (a: Float32Array, n: number, len: number) => Array.from({ length: len }, (_, t) => Array.from(a.subarray((n * len + t) * F, (n * len + t + 1) * F)));
  const free = await predictSequences(m, x, N);
  // Teacher forcing: the training graph's outputs, evaluated without an update (training mode).
  const tf = await ForwardGraph.create(m, [{ name: 'x', shape: [T, F] }, { name: 'future', shape: [K, F] }], sequenceStep(), new ParamStore(m), { training: true });
  const r = await tf.run([x, fu], N);
  await tf.release();
  for (let n = 0; n < N; n++) {
    for (const [teacher, recon, future] of [[false, free.recon, free.future!], [true, r.outputs.recon!, r.outputs.future!]] as const) {
      const ref = hostComposite(m, rows(x, n, T), rows(fu, n, K), teacher);
      ref.recon.flat().forEach((v, i) => assert.ok(Math.abs(v - recon[n * T * F + i]!) < 1e-5, `recon teacher=${teacher} n=${n} i=${i}: ${v} vs ${recon[n * T * F + i]}`));
      ref.future.flat().forEach((v, i) => assert.ok(Math.abs(v - future[n * K * F + i]!) < 1e-5, `future teacher=${teacher} n=${n} i=${i}: ${v} vs ${future[n * K * F + i]}`));
    }
  }
  // Free-running and teacher-forced outputs differ after the first frame (the decoder really is conditioned).
  assert.ok(Math.abs(free.future![F]! - r.outputs.future![F]!) > 1e-7);
});

test('training reduces the loss; encode/decode round trip returns the original order and sample shape', async () => {
  manualSeed(5);
  const m = new LSTMAutoencoder(28, 16, 28, { loss: 'bce', sampleShape: [1, 28, 28] });
  const step = await TrainingStep.create(m, [{ name: 'x', shape: [1, 28, 28] }], sequenceStep(), { optimizer: new Adam({ lr: 1e-2 }) });
  const x = new Float32Array(4 * 784).map((_, i) => ((i % 28) / 28) * (Math.floor(i / 784) % 2)); // two patterns
  const first = (await step.run([x], 4)).loss;
  let last = first;
  for (let i = 0; i < 15; i++) last = (await step.run([x], 4)).loss;
  await step.release();
  assert.ok(last < first * 0.9, `loss ${first} -> ${last}`);
  step.store.sync();
  const g = await ForwardGraph.create(m, [{ name: 'x', shape: [1, 28, 28] }], (mm, [xx]) => {
    const ae = mm as LSTMAutoencoder;
    return { loss: xx!, outputs: { a: ae.decode(ae.encode(xx!)), b: ae.reconstruct(xx!) } };
  }, new ParamStore(m), { withLoss: false });
  const r = await g.run([x], 4);
  await g.release();
  assert.deepEqual(r.dims.a, [4, 1, 28, 28]);
  r.outputs.a!.forEach((v, i) => assert.ok(Math.abs(v - r.outputs.b![i]!) < 1e-5));
});

test('wrong sequence length or feature count for a model gives a clear error', async () => {
  const m = new LSTMAutoencoder(3, 4, 5);
  await assert.rejects(
    TrainingStep.create(m, [{ name: 'x', shape: [6, 3] }], sequenceStep(), { optimizer: new Adam({ lr: 1e-3 }) }),
    /built for sequences of 5 steps x 3 features; got 6 steps x 3 features/,
  );
  await assert.rejects(scoreWindows(m, { data: new Float32Array(5 * 4), count: 1, starts: [0], window: 5, features: 4 }), /trained on windows of 5 steps x 3 features; got 5 steps x 4 features/);
  await assert.rejects(predictSequences(m, new Float32Array(7), 1), /expected 1 sequences of 5 steps x 3 features/);
  const comp = new LSTMAutoencoder(3, 4, 5, { future: 2 });
  await assert.rejects(TrainingStep.create(comp, [{ name: 'x', shape: [5, 3] }, { name: 'future', shape: [3, 3] }], sequenceStep(), { optimizer: new Adam({ lr: 1e-3 }) }), /future frames: expected 2 steps x 3 features/);
});

test('presets: lstm-rows takes Fashion-MNIST images, the composite preset has a 10-frame predictor', () => {
  const rows = getPreset('lstm-rows');
  assert.deepEqual(rows.inputShape, [1, 28, 28]);
  const m = rows.build({ preset: 'lstm-rows', hidden: 8 }) as LSTMAutoencoder;
  assert.deepEqual([m.steps, m.features, m.hidden], [28, 28, 8]);
  const mv = getPreset('lstm-composite-moving').build({ preset: 'lstm-composite-moving', hidden: 8, frameSize: 16 }) as LSTMAutoencoder;
  assert.deepEqual([mv.steps, mv.features, mv.future, mv.conditional], [10, 256, 10, true]);
  const ts = getPreset('lstm-timeseries');
  assert.deepEqual(ts.inputs!({ preset: 'lstm-timeseries', window: 30, features: 4 }), [{ name: 'x', shape: [30, 4] }]);
  // The bench's constructor and target keep working.
  const old = new LSTMAutoencoder(28, 16, 28);
  assert.deepEqual(old.codeShape(), [32]);
  assert.equal(typeof LSTMAutoencoder.reversed, 'function');
});
